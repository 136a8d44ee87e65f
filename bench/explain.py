"""What each read scenario of ``make bench`` costs one request at a time, cache off, and how
PostgreSQL runs its queries: ``make bench-explain`` (scale data) or
``make bench-explain BENCH_EXPLAIN_SIZE=demo``.

Issue 19 asks for the planner to be checked with ``EXPLAIN`` for each scenario, and for the cost
per request at demo size and at scale side by side. For one request of each scenario (the same
shapes as ``bench/run.py``: a deep page of the town list, a filtered Cyrillic search with a
partner token, a town's series, its profile, its dashboard, the map), in this process, with the
read cache off (``READ_CACHE_TIMEOUT=0``, production settings):

1. the median and the best of ``BENCH_EXPLAIN_ROUNDS`` (15) timed requests, the share of that
   spent in SQL, and the number of queries;
2. every query of the request (but the per-request bookkeeping: the history context and the
   rate counter) under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``: its time, the plan's top
   node, the rows it read, the shared buffers, and each sequential scan of a table of more than
   ``BENCH_EXPLAIN_SEQ_ROWS`` (10,000) rows, which is what a missing index looks like.

Nothing here is a pass/fail test: it prints figures (stdout, and
``bench/results/explain-<size>.md``). The database is ``bench/run.py``'s (``atlas_bench``, the
demo data and the scale data, made when missing) or at ``demo`` size a database of its own
with the demo data only.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

SIZE = os.environ.get("BENCH_EXPLAIN_SIZE", "scale")
if SIZE not in {"scale", "demo"}:
    sys.exit("BENCH_EXPLAIN_SIZE is scale or demo")
if SIZE == "demo":
    os.environ.setdefault("BENCH_DB_NAME", "atlas_bench_demo")
# Every answer built from the database: what a request costs when the cache cannot help.
os.environ["READ_CACHE_TIMEOUT"] = "0"

from bench import run  # noqa: E402 (the path above first)

ROUNDS = run.env_int("BENCH_EXPLAIN_ROUNDS", 15)
SEQ_ROWS = run.env_int("BENCH_EXPLAIN_SEQ_ROWS", 10_000)
RESULTS = ROOT / "bench" / "results" / f"explain-{SIZE}.md"
#: Statements every request sends that are not its reads (pghistory's context, the API's rate
#: counter): measured in the request's time, not explained.
BOOKKEEPING = ("set_config('pghistory", "governance_ratecounter", "atlas_data_state")


def requests(tokens: dict[str, str]) -> list[tuple[str, str, dict]]:
    """(scenario, path, headers): one request of each read scenario of bench/run.py."""
    from towns.models import IndicatorValue, Region, Town

    region = Region.objects.order_by("code").values_list("slug", flat=True).first()
    scale = Town.objects.filter(slug__startswith="scale-").order_by("slug")
    town = (scale.first() or Town.objects.order_by("slug").first()).slug
    count = Town.objects.count()
    codes = list(
        IndicatorValue.objects.filter(town__slug=town, quarter=0)
        .order_by("indicator__code")
        .values_list("indicator__code", flat=True)
        .distinct()[:10]
    )
    deep = max(1, (count // 50) * 2 // 3)  # two thirds into the list, as the deep pages are
    partner = {"HTTP_AUTHORIZATION": f"Token {tokens['read:partner']}"}
    series = "&".join(f"indicator={c}" for c in codes)
    return [
        ("1 town list, deep page", f"/api/v1/towns/?page={deep}&page_size=50", {}),
        (
            "2 filters + Cyrillic search",
            "/api/v1/towns/?"
            + urlencode({"search": "ск", "region": region, "population_min": 2000}),
            partner,
        ),
        ("3 series, 10 indicators", f"/api/v1/towns/{town}/indicators/?{series}", {}),
        ("4 profile", f"/api/v1/towns/{town}/profile/", {}),
        ("5 dashboard (HTML)", f"/towns/{town}/", {}),
        (f"6 GeoJSON, {count} towns", "/api/v1/towns.geojson", {}),
    ]


def plan_summary(plan: dict) -> dict:
    """Time, top node, rows read and buffers of one JSON plan, with its large sequential scans."""
    seq: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Node Type") == "Seq Scan":
            rows = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            if rows * node.get("Actual Loops", 1) > SEQ_ROWS:
                seq.append(f"{node.get('Relation Name')} ({rows:,} rows)")
        for child in node.get("Plans", []):
            walk(child)

    top = plan["Plan"]
    walk(top)
    return {
        "ms": plan.get("Execution Time", 0.0),
        "planning": plan.get("Planning Time", 0.0),
        "node": top.get("Node Type", "?"),
        "rows": top.get("Actual Rows", 0),
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "seq": seq,
    }


def measure(client, path: str, headers: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    base = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "127.0.0.1", **headers}
    first = client.get(path, **base)
    if first.status_code != 200:
        raise SystemExit(f"{path}: {first.status_code} {first.content[:300]!r}")
    times, sql_share = [], []
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            client.get(path, **base)
            elapsed = time.perf_counter() - start
        times.append(elapsed * 1000)
        sql_share.append(sum(float(q["time"]) for q in ctx.captured_queries) / elapsed)
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if not any(mark in q["sql"] for mark in BOOKKEEPING)
        and q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    plans = []
    with connection.cursor() as cursor:
        for sql in reads:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            (raw,) = cursor.fetchone()
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            plans.append({"sql": " ".join(sql.split())[:110], **plan_summary(plan)})
    return {
        "p50": statistics.median(times),
        "best": min(times),
        "sql": statistics.median(sql_share),
        "queries": len(ctx.captured_queries),
        "bytes": len(first.content),
        "plans": plans,
    }


def main() -> int:
    run.WORK.mkdir(parents=True, exist_ok=True)
    run.setup_django()
    from django.conf import settings
    from django.test import Client

    facts = run.ensure_data() if SIZE == "scale" else run.ensure_demo_data()
    run.call("collectstatic", "--no-input")
    if settings.READ_CACHE_TIMEOUT != 0:
        raise SystemExit("the read cache must be off (READ_CACHE_TIMEOUT=0)")
    tokens = run.partner_tokens()
    client = Client()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# One request per scenario, cache off, at {SIZE} size (bench/explain.py)",
        "",
        f"Measured {stamp}, in-process (Django's test client, production settings, "
        f"`READ_CACHE_TIMEOUT=0`), one request at a time; {ROUNDS} rounds. Data: "
        + ", ".join(f"{v:,} {k}" for k, v in facts.items() if isinstance(v, int))
        + ". Each query under `EXPLAIN (ANALYZE, BUFFERS)`; a sequential scan of more than "
        f"{SEQ_ROWS:,} rows is listed.",
        "",
        "| scenario | p50 ms | best ms | SQL share | queries | bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    details = []
    for name, path, headers in requests(tokens):
        run.log(f"{name}: {path}")
        result = measure(client, path, headers)
        lines.append(
            f"| {name} | {result['p50']:.1f} | {result['best']:.1f} | "
            f"{result['sql']:.0%} | {result['queries']} | {result['bytes']:,} |"
        )
        details += ["", f"### {name}", "", f"`GET {path}`", ""]
        details += [
            "| query | ms | planning ms | top node | rows | buffers | large seq scans |",
            "| --- | ---: | ---: | --- | ---: | ---: | --- |",
        ]
        for plan in result["plans"]:
            sql = plan["sql"].replace("|", "\\|")
            details.append(
                f"| `{sql}` | {plan['ms']:.2f} | {plan['planning']:.2f} | {plan['node']} | "
                f"{plan['rows']:,} | {plan['buffers']:,} | {', '.join(plan['seq']) or 'none'} |"
            )
    text = "\n".join([*lines, "", "## Queries", *details]) + "\n"
    RESULTS.write_text(text)
    print(text)
    run.log(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
