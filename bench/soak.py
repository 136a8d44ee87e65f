"""Soak test: mixed reads and writes from concurrent clients, then a consistency check.

    make soak                       # 10 minutes (SOAK_SECONDS=600), 4 clients
    SOAK_SECONDS=60 make soak       # a short run

What it does:

1. starts a PRIVATE PostgreSQL server in a temporary directory (never the shared one of
   var/pgdata) and copies the development database ``atlas`` into it (pg_dump/pg_restore with
   the embedded server's binaries; ``make demo`` has loaded it);
2. issues an API token with ``write:research`` to a researcher account of that copy;
3. serves the copy with gunicorn (governance/gunicorn.conf.py, DEBUG off) on a port of
   8300-8349 (SOAK_PORT, default 8340);
4. runs SOAK_CLIENTS (4) client threads on loopback for SOAK_SECONDS: reads (API lists,
   pages, the health check) and writes through the API (bulk creates of indicator values,
   single creates, PATCHes of values the client created), logging every accepted write;
5. checks afterwards, with SQL on the copy: every accepted create is present exactly once with
   its content (the last accepted PATCH's value when it was patched), there is no row the
   clients did not write, the history (pghistory) has an insert event per accepted create and
   an update event per accepted PATCH, and no response was a 5xx or a broken connection.

Prints a summary (JSON) and exits 1 on any inconsistency. The server and its data are
removed at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
# The source of the copy is the development database (DEBUG settings, as `make demo`).
os.environ.setdefault("DEBUG", "true")

INDICATOR = "population"
YEARS = range(2030, 2101)  # no demo value lies in these years: every period is new


@dataclass
class Write:
    kind: str  # "bulk", "create", "patch"
    key: tuple[str, int, int]  # town slug, year, quarter
    value: str
    id: int | None = None


@dataclass
class ClientLog:
    requests: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    latency_ms: list[float] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    conflicts: int = 0


class Client(threading.Thread):
    def __init__(self, index: int, base: str, token: str, towns: list[str], deadline: float):
        super().__init__(daemon=True)
        self.index, self.base, self.deadline = index, base, deadline
        self.auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.towns = towns
        # Each client writes its own periods, so that no two clients create the same value.
        self.keys = ((t, y, q) for t in towns for y in YEARS for q in range(5))
        self.rng = random.Random(index)
        self.log = ClientLog()
        self.mine: dict[int, dict] = {}  # id -> last representation (for PATCH with version)

    def call(self, kind, method, path, body=None, headers=None):
        from tests.faults.harness import request

        started = time.monotonic()
        self.log.requests[kind] += 1
        try:
            status, _, data = request(
                self.base + path,
                method=method,
                body=None if body is None else json.dumps(body).encode(),
                headers=headers or {},
                timeout=60,
            )
        except OSError as err:
            self.log.statuses["connection_error"] += 1
            self.log.server_errors.append(f"{method} {path}: {err!r}")
            return None, b""
        self.log.latency_ms.append((time.monotonic() - started) * 1000)
        self.log.statuses[status] += 1
        if status >= 500:
            self.log.server_errors.append(f"{method} {path}: {status} {data[:200]!r}")
        return status, data

    def value(self) -> str:
        return f"{self.rng.randint(1, 10**6)}.{self.rng.randint(0, 9999):04d}"

    def run(self):
        slug = self.rng.choice
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            if roll < 0.15:
                self.call("read", "GET", "/api/v1/towns/?page_size=20")
            elif roll < 0.30:
                town = slug(self.towns)
                path = f"/api/v1/indicator-values/?town={town}&page_size=50"
                self.call("read", "GET", path, headers=self.auth)
            elif roll < 0.40:
                self.call("read", "GET", f"/towns/{slug(self.towns)}/")
            elif roll < 0.48:
                self.call("read", "GET", "/api/v1/csos/?page_size=20")
            elif roll < 0.52:
                self.call("read", "GET", "/healthz")
            elif roll < 0.62:
                self.bulk()
            elif roll < 0.82:
                self.create()
            else:
                self.patch()

    def bulk(self):
        rows = []
        for _ in range(self.rng.randint(1, 20)):
            key = next(self.keys, None)
            if key is None:
                return
            rows.append(key)
        values = [self.value() for _ in rows]
        body = [
            {"town": t, "indicator": INDICATOR, "year": y, "quarter": q, "value": v}
            for (t, y, q), v in zip(rows, values, strict=True)
        ]
        status, _ = self.call("bulk", "POST", "/api/v1/indicator-values/bulk/", body, self.auth)
        if status == 201:
            self.log.writes.extend(Write("bulk", k, v) for k, v in zip(rows, values, strict=True))

    def create(self):
        key = next(self.keys, None)
        if key is None:
            return
        value = self.value()
        town, year, quarter = key
        body = {"town": town, "indicator": INDICATOR, "year": year, "quarter": quarter}
        body["value"] = value
        status, data = self.call("create", "POST", "/api/v1/indicator-values/", body, self.auth)
        if status == 201:
            created = json.loads(data)
            self.log.writes.append(Write("create", key, value, created["id"]))
            self.mine[created["id"]] = created

    def patch(self):
        if not self.mine:
            return self.create()
        pk = self.rng.choice(list(self.mine))
        value = self.value()
        body = {"value": value}
        if "version" in self.mine[pk]:
            body["version"] = self.mine[pk]["version"]
        status, data = self.call(
            "patch", "PATCH", f"/api/v1/indicator-values/{pk}/", body, self.auth
        )
        if status == 200:
            updated = json.loads(data)
            self.mine[pk] = updated
            write = next(w for w in self.log.writes if w.id == pk and w.kind == "create")
            self.log.writes.append(Write("patch", write.key, value, pk))
        elif status in (409, 412):
            self.log.conflicts += 1


def soak_rows(pg, dbname: str) -> list[tuple]:
    return pg.run(
        dbname,
        "SELECT v.id, t.slug, v.year, v.quarter, v.value FROM towns_indicatorvalue v "
        "JOIN towns_town t ON t.id = v.town_id JOIN towns_indicator i ON i.id = v.indicator_id "
        "WHERE i.code = %s AND v.year >= %s",
        [INDICATOR, YEARS.start],
    )


def consistency(pg, dbname: str, writes: list[Write], baseline: set[int]) -> list[str]:
    """Every problem found between the accepted writes and the database (rows whose id is in
    ``baseline`` were there before the run)."""
    from decimal import Decimal

    problems = []
    by_key = collections.defaultdict(list)
    for pk, slug, year, quarter, value in soak_rows(pg, dbname):
        if pk in baseline:
            continue
        by_key[(slug, year, quarter)].append((pk, value))
    expected: dict[tuple, str] = {}
    ids: dict[tuple, int] = {}
    patches = collections.Counter()
    for w in writes:  # in acceptance order per client; keys never cross clients
        expected[w.key] = w.value
        if w.id is not None:
            ids[w.key] = w.id
        if w.kind == "patch":
            patches[w.id] += 1
    for key, value in expected.items():
        found = by_key.get(key, [])
        if len(found) != 1:
            problems.append(f"{key}: {len(found)} rows instead of 1")
            continue
        pk, stored = found[0]
        if key in ids and pk != ids[key]:
            problems.append(f"{key}: id {pk}, the API answered {ids[key]}")
        if Decimal(stored) != Decimal(value):
            problems.append(f"{key}: value {stored}, last accepted {value}")
    extra = set(by_key) - set(expected)
    if extra:
        problems.append(f"{len(extra)} rows nobody was told were saved, e.g. {sorted(extra)[:3]}")
    # History: an insert event per created row, an update event per accepted PATCH.
    events = pg.run(
        dbname,
        "SELECT e.pgh_obj_id, e.pgh_label, count(*) FROM towns_indicatorvalueevent e "
        "JOIN towns_indicator i ON i.id = e.indicator_id "
        "WHERE i.code = %s AND e.year >= %s GROUP BY 1, 2",
        [INDICATOR, YEARS.start],
    )
    inserts = {pk: n for pk, label, n in events if label == "insert"}
    updates = {pk: n for pk, label, n in events if label == "update"}
    for key in expected:
        found = by_key.get(key, [])
        if len(found) == 1 and inserts.get(found[0][0]) != 1:
            problems.append(f"{key}: {inserts.get(found[0][0], 0)} insert events instead of 1")
    for pk, n in patches.items():
        if updates.get(pk, 0) != n:
            problems.append(f"id {pk}: {updates.get(pk, 0)} update events for {n} PATCHes")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 4)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SOAK_PORT", 8340)))
    args = parser.parse_args()
    if not 8300 <= args.port <= 8349:
        parser.error("the soak test serves on a port of 8300-8349")

    import subprocess
    import tempfile

    import django

    django.setup()
    from django.conf import settings

    from tests.faults import harness

    harness.free_port = lambda: args.port  # the port given, checked above
    static_root = tempfile.mkdtemp(prefix="atlas-soak-static-")
    pg = harness.PrivatePostgres()
    server = None
    try:
        print(f"soak: private PostgreSQL in {pg.pgdata}", flush=True)
        pg.start()
        pg.load_copy_of(dict(settings.DATABASES["default"]), "atlas_soak")
        token = harness.issue_research_token(pg, "atlas_soak")
        env = harness.app_env(pg, "atlas_soak", STATIC_ROOT=static_root)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        server = harness.Gunicorn(pg, "atlas_soak", workers=2, STATIC_ROOT=static_root)
        towns = [r[0] for r in pg.run("atlas_soak", "SELECT slug FROM towns_town ORDER BY slug")]
        print(
            f"soak: gunicorn on {server.base}, {args.clients} clients for {args.seconds:.0f} s",
            flush=True,
        )
        baseline = {row[0] for row in soak_rows(pg, "atlas_soak")}
        deadline = time.monotonic() + args.seconds
        clients = [
            Client(i, server.base, token, towns[i :: args.clients], deadline)
            for i in range(args.clients)
        ]
        started = time.monotonic()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = time.monotonic() - started
        writes = [w for c in clients for w in c.log.writes]
        problems = consistency(pg, "atlas_soak", writes, baseline)
        server_errors = [e for c in clients for e in c.log.server_errors]
        requests = sum((c.log.requests for c in clients), collections.Counter())
        statuses = sum((c.log.statuses for c in clients), collections.Counter())
        latencies = sorted(ms for c in clients for ms in c.log.latency_ms)

        def pct(p):
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

        summary = {
            "seconds": round(elapsed, 1),
            "clients": args.clients,
            "requests": sum(requests.values()),
            "requests_per_second": round(sum(requests.values()) / elapsed, 1),
            "by_kind": dict(requests),
            "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
            "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)}
            if latencies
            else {},
            "accepted_writes": {
                "bulk_rows": sum(1 for w in writes if w.kind == "bulk"),
                "creates": sum(1 for w in writes if w.kind == "create"),
                "patches": sum(1 for w in writes if w.kind == "patch"),
            },
            "version_conflicts": sum(c.log.conflicts for c in clients),
            "server_errors": len(server_errors),
            "inconsistencies": len(problems),
        }
        print(json.dumps(summary, indent=2))
        for line in (server_errors + problems)[:20]:
            print("  " + line)
        ok = not problems and not server_errors and summary["requests"] > 0
        print("soak: CONSISTENT" if ok else "soak: FAILED", flush=True)
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        pg.destroy()
        import shutil

        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
