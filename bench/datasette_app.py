"""The Datasette peer as an ASGI app, so that gunicorn can run it with as many worker
processes as the atlas gets (uvicorn workers; each with Datasette's SQL thread pool).

    var/bench-venv/bin/gunicorn bench.datasette_app:app -k uvicorn.workers.UvicornWorker -w 2

``BENCH_MIRROR`` names the SQLite file (default var/bench/mirror.db); the canned queries are
in bench/datasette-metadata.json. The mirror is opened immutable: it is read-only.
"""

import json
import os
from pathlib import Path

from datasette.app import Datasette

HERE = Path(__file__).resolve().parent
MIRROR = os.environ.get("BENCH_MIRROR", str(HERE.parent / "var" / "bench" / "mirror.db"))

datasette = Datasette(
    immutables=[MIRROR],
    metadata=json.loads((HERE / "datasette-metadata.json").read_text()),
    settings={
        # The map scenario returns every town in one response, as the atlas does.
        "max_returned_rows": 100_000,
        "sql_time_limit_ms": 30_000,
        "num_sql_threads": int(os.environ.get("BENCH_DATASETTE_THREADS", "3")),
    },
)
app = datasette.app()
