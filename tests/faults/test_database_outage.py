"""Fault: the database goes away under load, then comes back.

gunicorn (production settings, 2 workers) serves a mixed load from 4 client threads: pages,
API lists, the health check and single API writes of indicator values with a research token.
Mid-run the PRIVATE PostgreSQL server is stopped (fast shutdown: every connection is cut);
a few seconds later it is started again on the same data directory. Nobody touches gunicorn.

Observed and asserted:

* before the stop every request succeeds;
* while the database is down every request that fails is a 503 with ``Retry-After`` and a
  body without traceback; no connection is refused or reset (gunicorn stays up);
* ``/healthz`` answers 503 ``{"database": "unavailable"}`` while it is down;
* after the restart the service resumes by itself (same worker processes), every request
  after the first success succeeds;
* every write the API accepted (201), before or after the outage, is in the database exactly
  once with its value, and the database holds no other new value.
"""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

from tests.faults.harness import (
    Gunicorn,
    Load,
    clean_error_body,
    record,
    request,
    summarise,
)

# The test database (the template of the private server's copies) must exist even when these
# tests run alone: no other test of the session would ask for it.
pytestmark = pytest.mark.django_db

OUTAGE_SECONDS = 4.0
WARM_REQUESTS = 60


def make_plan(token: str, slugs: list[str]):
    """A mixed load: pages, API reads, health checks and single writes (unique periods)."""
    keys = itertools.product(slugs, range(2030, 2101), range(5))
    key_lock = threading.Lock()
    auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def plan(index: int, n: int):
        step = (index + n) % 6
        if step == 0:
            return ("page", "GET", "/", None, {}, {})
        if step == 1:
            return ("page", "GET", f"/towns/{slugs[n % len(slugs)]}/", None, {}, {})
        if step == 2:
            return ("api-read", "GET", "/api/v1/towns/?page_size=20", None, {}, {})
        if step == 3:
            path = f"/api/v1/indicator-values/?town={slugs[n % len(slugs)]}&page_size=50"
            return ("api-read", "GET", path, None, auth, {})
        if step == 4:
            return ("health", "GET", "/healthz", None, {}, {})
        with key_lock:
            town, year, quarter = next(keys)
        value = f"{index}{n}.25"
        data = {
            "town": town,
            "indicator": "population",
            "year": year,
            "quarter": quarter,
            "value": value,
        }
        return (
            "api-write",
            "POST",
            "/api/v1/indicator-values/",
            json.dumps(data).encode(),
            auth,
            data,
        )

    return plan


def test_database_outage_under_load_gives_503_then_recovers(private_atlas):
    pg = private_atlas.pg
    dbname = private_atlas.fresh_database("outage")
    slugs = [r[0] for r in pg.run(dbname, "SELECT slug FROM towns_town ORDER BY slug LIMIT 40")]
    values_before = pg.run(dbname, "SELECT count(*) FROM towns_indicatorvalue")[0][0]
    server = Gunicorn(pg, dbname, workers=2)
    try:
        workers_before = server.worker_pids()
        load = Load(server.base, make_plan(private_atlas.token, slugs), threads=4).start()
        deadline = time.monotonic() + 60
        while load.count() < WARM_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)

        stopped_at = time.monotonic()
        pg.stop()
        time.sleep(OUTAGE_SECONDS / 2)
        health_status, health_headers, health_body = request(server.base + "/healthz")
        time.sleep(OUTAGE_SECONDS / 2)
        pg.start()
        started_at = time.monotonic()

        # Run on until 60 requests have succeeded after the restart (or 30 s).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = [o for o in load.outcomes if o.started > started_at]
            if sum(1 for o in after if o.status and o.status < 400) >= 60:
                break
            time.sleep(0.1)
        outcomes = load.stop()
        workers_after = server.worker_pids()
    finally:
        server.stop()
        if not pg.is_up():
            pg.start()

    before = [o for o in outcomes if o.ended < stopped_at]
    during = [o for o in outcomes if o.started >= stopped_at and o.ended < started_at]
    after = [o for o in outcomes if o.started > started_at]
    failed = [o for o in outcomes if o.status is None or o.status >= 400]
    first_ok_after = next((o.ended for o in after if o.status is not None and o.status < 400), None)
    accepted = [o for o in outcomes if o.kind == "api-write" and o.status == 201]
    figures = {
        "requests_sent": len(outcomes),
        "before_stop": dict(summarise(before)),
        "while_down": dict(summarise(during)),
        "after_restart": dict(summarise(after)),
        "failed_503": sum(1 for o in failed if o.status == 503),
        "failed_other": sum(1 for o in failed if o.status != 503),
        "recovered_ok_after_restart": sum(1 for o in after if o.status and o.status < 400),
        "seconds_to_first_success_after_restart": (
            None if first_ok_after is None else round(first_ok_after - started_at, 2)
        ),
        "outage_seconds": round(started_at - stopped_at, 2),
        "healthz_while_down": health_status,
        "writes_accepted": len(accepted),
        "indicator_values_before": values_before,
    }

    # Before the stop: everything succeeds.
    assert before and all(o.status is not None and o.status < 400 for o in before), [
        (o.kind, o.status, o.error) for o in before if not o.status or o.status >= 400
    ]
    # While it is down: failures are clean 503s with Retry-After, never a reset or a 500.
    assert figures["failed_503"] > 0, "the outage was not seen by any request"
    for o in failed:
        assert o.status == 503, (o.kind, o.status, o.error, o.body[:300])
        assert o.retry_after and int(o.retry_after) > 0, o.kind
        assert clean_error_body(o.body), o.body[:500]
    assert health_status == 503 and health_headers.get("Retry-After")
    assert json.loads(health_body) == {"status": "error", "database": "unavailable"}
    # Back by itself: the same workers, and everything after the first success succeeds.
    assert workers_after == workers_before
    assert first_ok_after is not None
    settled = [o for o in after if o.started > first_ok_after]
    assert len(settled) >= 30
    assert all(o.status is not None and o.status < 400 for o in settled), [
        (o.kind, o.status) for o in settled if not o.status or o.status >= 400
    ]

    # No data lost: every accepted write is there exactly once with its value; nothing else.
    rows = pg.run(
        dbname,
        "SELECT t.slug, v.year, v.quarter, v.value::text FROM towns_indicatorvalue v "
        "JOIN towns_town t ON t.id = v.town_id JOIN towns_indicator i ON i.id = v.indicator_id "
        "WHERE i.code = 'population' AND v.year >= 2030",
    )
    stored = {(slug, year, quarter): value for slug, year, quarter, value in rows}
    assert len(rows) == len(stored)
    for o in accepted:
        d = o.data
        key = (d["town"], d["year"], d["quarter"])
        assert key in stored, key
        assert float(stored[key]) == float(d["value"])
    accepted_before_stop = sum(1 for o in accepted if o.ended < stopped_at)
    assert accepted_before_stop > 0
    figures["writes_accepted_before_stop"] = accepted_before_stop
    # Writes that got a 503 may or may not have been committed before the cut: the client was
    # told to retry, nothing was confirmed. Nothing beyond the attempted writes appeared.
    attempted = {
        (o.data["town"], o.data["year"], o.data["quarter"])
        for o in outcomes
        if o.kind == "api-write"
    }
    assert set(stored) <= attempted
    total = pg.run(dbname, "SELECT count(*) FROM towns_indicatorvalue")[0][0]
    figures["indicator_values_after"] = total
    figures["unconfirmed_writes_committed"] = len(stored) - len(accepted)
    assert total == values_before + len(stored)
    record("database_outage", figures)
