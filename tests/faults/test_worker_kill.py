"""Fault: a gunicorn worker is killed (SIGKILL) in the middle of a request.

gunicorn runs with the production configuration (2 sync workers). A client opens a request
and sends only half of its body, so one worker is held inside that request; the test finds
that worker by its TCP connection and kills it with SIGKILL while 4 client threads keep
sending reads and writes. Asserted: the arbiter starts a replacement (2 workers again, one
new pid), the interrupted request is the only one lost, every other request succeeds, and
the writes accepted are all stored.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import threading
import time

import psutil
import pytest

from tests.faults.harness import Gunicorn, Load, record, summarise

# The test database (the template of the private server's copies) must exist even when these
# tests run alone: no other test of the session would ask for it.
pytestmark = pytest.mark.django_db

LOAD_BEFORE_KILL = 40
LOAD_AFTER_KILL = 120


def worker_holding(server: Gunicorn, client_port: int) -> int | None:
    """The worker whose accepted connection comes from ``client_port``."""
    for pid in server.worker_pids():
        try:
            conns = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.raddr and c.raddr.port == client_port for c in conns):
            return pid
    return None


def test_killed_worker_is_replaced_and_other_requests_succeed(private_atlas):
    pg = private_atlas.pg
    dbname = private_atlas.fresh_database("workerkill")
    slugs = [r[0] for r in pg.run(dbname, "SELECT slug FROM towns_town ORDER BY slug LIMIT 20")]
    auth = {"Authorization": f"Token {private_atlas.token}", "Content-Type": "application/json"}
    keys = itertools.product(slugs, range(2030, 2101))
    key_lock = threading.Lock()

    def plan(index, n):
        step = (index + n) % 4
        if step == 0:
            return ("api-read", "GET", "/api/v1/towns/?page_size=20", None, {}, {})
        if step == 1:
            return ("page", "GET", f"/towns/{slugs[n % len(slugs)]}/", None, {}, {})
        if step == 2:
            return ("health", "GET", "/healthz", None, {}, {})
        with key_lock:
            town, year = next(keys)
        data = {"town": town, "indicator": "population", "year": year, "value": "4321.5"}
        body = json.dumps(data).encode()
        return ("api-write", "POST", "/api/v1/indicator-values/", body, auth, data)

    server = Gunicorn(pg, dbname, workers=2)
    try:
        workers_before = server.worker_pids()
        load = Load(server.base, plan, threads=4).start()
        deadline = time.monotonic() + 60
        while load.count() < LOAD_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.05)

        # A request whose body never finishes: one worker is stuck inside it.
        held = socket.create_connection(("127.0.0.1", server.port))
        body = json.dumps([{"town": slugs[0], "indicator": "population", "year": 2099}])
        held.sendall(
            (
                "POST /api/v1/indicator-values/bulk/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n"
                f"Authorization: Token {private_atlas.token}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n" + body[: len(body) // 2]
            ).encode()
        )
        victim = None
        deadline = time.monotonic() + 20
        while victim is None and time.monotonic() < deadline:
            victim = worker_holding(server, held.getsockname()[1])
            time.sleep(0.02)
        assert victim is not None, "no worker took the held request"
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        # The interrupted request ends without an answer (connection closed or reset).
        held.settimeout(20)
        try:
            interrupted_answer = held.recv(100)
        except OSError:
            interrupted_answer = b""
        held.close()

        replaced_after = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = server.worker_pids()
            if len(pids) == 2 and victim not in pids:
                replaced_after = time.monotonic() - killed_at
                break
            time.sleep(0.05)
        start_count = load.count()
        deadline = time.monotonic() + 90
        while load.count() < start_count + LOAD_AFTER_KILL and time.monotonic() < deadline:
            time.sleep(0.05)
        outcomes = load.stop()
        workers_after = server.worker_pids()
    finally:
        server.stop()

    counts = summarise(outcomes)
    accepted = [o for o in outcomes if o.kind == "api-write" and o.status == 201]
    figures = {
        "requests_sent": len(outcomes) + 1,
        "load_requests": dict(counts),
        "interrupted_requests": 1,
        "interrupted_request_got_answer": bool(interrupted_answer),
        "requests_after_kill": sum(1 for o in outcomes if o.started > killed_at),
        "succeeded_after_kill": sum(
            1 for o in outcomes if o.started > killed_at and o.status and o.status < 400
        ),
        "seconds_to_replacement": None if replaced_after is None else round(replaced_after, 2),
        "workers_before": len(workers_before),
        "workers_after": len(workers_after),
        "writes_accepted": len(accepted),
    }
    record("worker_killed_mid_request", figures)

    assert interrupted_answer == b""  # killed before it could answer
    assert replaced_after is not None, "the arbiter did not replace the killed worker"
    assert len(workers_after) == 2 and victim not in workers_after
    assert len(set(workers_after) - set(workers_before)) == 1
    # Every request of the load succeeded: the kill cost only the request it interrupted.
    assert counts["ok"] == len(outcomes), [
        (o.kind, o.status, o.error) for o in outcomes if not o.status or o.status >= 400
    ]
    assert figures["succeeded_after_kill"] >= LOAD_AFTER_KILL
    stored = {
        (slug, year)
        for slug, year in pg.run(
            dbname,
            "SELECT t.slug, v.year FROM towns_indicatorvalue v JOIN towns_town t "
            "ON t.id = v.town_id WHERE v.year >= 2030",
        )
    }
    assert {(o.data["town"], o.data["year"]) for o in accepted} == stored
