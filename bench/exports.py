"""How long a partner waits for the whole-dataset exports after a data change:
``make bench-exports`` (scale data) or ``make bench-exports BENCH_EXPORTS_SIZE=demo``.

The data package is built once per data change for every worker (issue 18: "the first download
after a change answers in under 2 s at demo size"); this prints what that costs, measured the
way a partner meets it:

1. the database of ``bench/run.py`` (``atlas_bench``, with the demo data and the scale data,
   reused when there), or at ``demo`` size a database of its own with the demo data only;
2. the atlas under gunicorn, production settings, ``WEB_CONCURRENCY`` workers (2), its own
   empty read cache;
3. for ``BENCH_EXPORTS_ROUNDS`` rounds (3): one committed write made with SQL (a town's
   population, which the package's towns.csv shows), then the first download of the data
   package from two clients at once (one per worker: the second waits for the first's build
   instead of building again), then a repeated download, then a conditional one
   (``If-None-Match``, 304); the same for the anonymous Popolo export;
4. the build alone, in this process (``build_datapackage_zip``), with the size of each table.

Nothing here is a pass/fail test: it prints figures (stdout, and bench/results/exports-<size>.md).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

SIZE = os.environ.get("BENCH_EXPORTS_SIZE", "scale")
if SIZE not in {"scale", "demo"}:
    sys.exit("BENCH_EXPORTS_SIZE is scale or demo")
if SIZE == "demo":
    os.environ.setdefault("BENCH_DB_NAME", "atlas_bench_demo")

from bench import run  # noqa: E402 (the path above first)

ROUNDS = run.env_int("BENCH_EXPORTS_ROUNDS", 3)
RESULTS = ROOT / "bench" / "results" / f"exports-{SIZE}.md"
# A reverse proxy terminates TLS in production (server_env: USE_X_FORWARDED_PROTO).
PROXY = {"X-Forwarded-Proto": "https"}


def fetch(url: str, headers: dict | None = None) -> tuple[int, float, int, str]:
    """Status, seconds, bytes and ETag of one GET (a 304 is an answer, not an error)."""
    request = urllib.request.Request(url, headers={**PROXY, **(headers or {})})  # noqa: S310
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 (loopback)
            body = response.read()
            return (
                response.status,
                time.perf_counter() - start,
                len(body),
                response.headers["ETag"] or "",
            )
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, time.perf_counter() - start, 0, error.headers.get("ETag") or ""


def at_once(url: str, clients: int) -> list[tuple[int, float, int, str]]:
    results: list = [None] * clients

    def one(i: int) -> None:
        results[i] = fetch(url)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def write_with_sql(round_no: int) -> None:
    """A committed change the package shows, made behind Django's back (no ``updated_at``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE towns_town SET population = COALESCE(population, 0) + %s "
            "WHERE slug = (SELECT min(slug) FROM towns_town WHERE NOT slug LIKE 'scale-%%')",
            [round_no],
        )
    connection.close()


def table_sizes() -> list[tuple[str, int, float]]:
    from csos.exports import TABLES, table_csv

    sizes = []
    for table in TABLES:
        start = time.perf_counter()
        content = table_csv(table)
        sizes.append((table.name, content.count(b"\r\n") - 1, time.perf_counter() - start))
    return sizes


def main() -> int:
    run.WORK.mkdir(parents=True, exist_ok=True)
    run.setup_django()
    facts = run.ensure_data() if SIZE == "scale" else run.ensure_demo_data()
    run.log(f"data: {facts}")
    run.call("collectstatic", "--no-input", verbosity=0)
    from governance.cache import clear as clear_read_cache

    clear_read_cache()
    from django.db import connection

    connection.close()
    port = run.free_port(run.CFG.port, set())
    env = run.server_env()
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(run.CFG.workers))
    base = f"http://127.0.0.1:{port}"
    lines = [
        f"# Exports after a data change ({SIZE} size)",
        "",
        f"{facts['towns']:,} towns, {facts['indicator values']:,} indicator values, "
        f"{facts['CSOs']:,} CSOs; gunicorn, {run.CFG.workers} workers, production settings; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Each round: one committed SQL "
        "write, then two clients at once, then one more, then a conditional GET.",
        "",
        "| export | round | first (2 clients at once), s | then, s | 304, s | size |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    server = run.start(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "governance.wsgi",
            "-c",
            "governance/gunicorn.conf.py",
        ],
        env,
        "exports-atlas.log",
    )
    worst: dict[str, float] = {}
    try:
        run.wait_ready(f"{base}/healthz", PROXY, server, "exports-atlas")
        for name, path in (
            ("data package", "/api/v1/export/datapackage.zip"),
            ("Popolo (anonymous)", "/api/v1/export/popolo.json"),
        ):
            url = base + path
            fetch(url)  # the state before the first round, built and cached
            for round_no in range(1, ROUNDS + 1):
                write_with_sql(round_no)
                first = at_once(url, 2)
                if any(status != 200 for status, *_ in first):
                    sys.exit(f"{name}: first download answered {[r[0] for r in first]}")
                then = fetch(url)
                etag = then[3]
                conditional = fetch(url, {"If-None-Match": etag}) if etag else (0, 0.0, 0, "")
                slowest = max(seconds for _, seconds, *_ in first)
                worst[name] = max(worst.get(name, 0.0), slowest)
                lines.append(
                    f"| {name} | {round_no} | {' / '.join(f'{r[1]:.2f}' for r in first)} | "
                    f"{then[1]:.3f} | "
                    + (f"{conditional[1]:.3f} ({conditional[0]})" if etag else "no ETag")
                    + f" | {then[2] / 1e6:.1f} MB |"
                )
                run.log(lines[-1])
    finally:
        run.stop(server)
    lines += ["", "Build in one process (`build_datapackage_zip`, no cache), per table:", ""]
    lines += ["| table | rows | seconds |", "| --- | ---: | ---: |"]
    total = 0.0
    for table, rows, seconds in table_sizes():
        total += seconds
        lines.append(f"| {table} | {rows:,} | {seconds:.2f} |")
    lines.append(f"| all CSV files | | {total:.2f} |")
    lines += [""] + [f"slowest first download, {k}: {v:.2f} s" for k, v in worst.items()]
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
