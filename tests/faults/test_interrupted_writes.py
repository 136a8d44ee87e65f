"""Fault: a write is interrupted midway by killing the process that writes (SIGKILL).

Two writers, each killed while its transaction has already written rows (detected from the
outside: the backend of our application holds an open transaction id and a row-write lock on
``towns_indicatorvalue``, read from ``pg_stat_activity`` and ``pg_locks``):

* the import of indicator values (towns/imports.py ``IndicatorValueResource``, the service
  behind the admin's import), run by ``manage.py shell`` with a file of a few thousand rows;
* the bulk API write ``POST /api/v1/indicator-values/bulk/`` (2,500 rows) served by gunicorn,
  whose worker is killed.

Each time, every table (history tables included) has the same row count and content checksum
after the kill as before the write started: PostgreSQL rolls back the transaction of a
client that vanished, and neither writer commits before its last row.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from tests.faults.harness import (
    APP_NAME,
    BASE_DIR,
    PYTHON,
    Gunicorn,
    app_env,
    fingerprint,
    record,
    request,
    wait_no_backend,
)

# The test database (the template of the private server's copies) must exist even when these
# tests run alone: no other test of the session would ask for it.
pytestmark = pytest.mark.django_db

WRITING = (
    "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
    "JOIN pg_class c ON c.oid = l.relation WHERE a.datname = %s AND a.application_name = %s "
    "AND a.backend_xid IS NOT NULL AND c.relname = 'towns_indicatorvalue' "
    "AND l.mode = 'RowExclusiveLock'"
)


def wait_until_writing(pg, dbname: str, still_running, timeout: float = 120) -> float:
    """Poll until our backend has written indicator values in an open transaction."""
    # pg_class is per database: the lock's table is looked up in the writer's database.
    conn = pg.connect(dbname)
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            while time.monotonic() - started < timeout:
                cur.execute(WRITING, [dbname, APP_NAME])
                if cur.fetchall():
                    return time.monotonic() - started
                assert still_running(), "the writer ended before it was caught writing"
                time.sleep(0.002)
    finally:
        conn.close()
    raise AssertionError("the writer never started writing")


def new_keys(pg, dbname: str, towns: int):
    slugs = [
        r[0] for r in pg.run(dbname, "SELECT slug FROM towns_town ORDER BY slug LIMIT %s", [towns])
    ]
    # Demo values stop at 2023: every (town, population, 2030-2100, quarter) period is new.
    return itertools.product(slugs, range(2030, 2101), range(5))


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before if before[t] != after.get(t))


IMPORT_SCRIPT = """
import os
from django.contrib.auth import get_user_model
from import_export.formats.base_formats import CSV
from towns.imports import IndicatorValueResource
data = open(os.environ["FAULT_IMPORT_FILE"], encoding="utf-8").read()
dataset = CSV().create_dataset(data)
user = get_user_model().objects.get(username="faults-researcher")
result = IndicatorValueResource().import_data(dataset, dry_run=False, user=user)
print("IMPORTED", result.totals)
"""


def test_import_killed_midway_leaves_the_database_as_it_was(private_atlas, tmp_path):
    pg = private_atlas.pg
    dbname = private_atlas.fresh_database("killimport")
    rows = 4000
    lines = ["town,indicator,year,quarter,value,confidence,note"]
    for town, year, quarter in itertools.islice(new_keys(pg, dbname, 15), rows):
        lines.append(f"{town},population,{year},{quarter},{year}.5,medium,fault drill")
    csv_file = tmp_path / "values.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    before = fingerprint(pg, dbname)
    proc = subprocess.Popen(  # noqa: S603
        [PYTHON, "manage.py", "shell"],
        cwd=BASE_DIR,
        env=app_env(pg, dbname, FAULT_IMPORT_FILE=str(csv_file)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write(IMPORT_SCRIPT)
    proc.stdin.close()
    try:
        caught_after = wait_until_writing(pg, dbname, lambda: proc.poll() is None)
        # Let it write a good share of the rows before the kill.
        time.sleep(1.0)
        assert proc.poll() is None, "the import finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = proc.stdout.read()
    assert "IMPORTED" not in out
    wait_no_backend(pg, dbname)
    after = fingerprint(pg, dbname)

    figures = {
        "rows_in_file": rows,
        "seconds_until_writing": round(caught_after, 2),
        "killed_after_writing_for_seconds": 1.0,
        "tables": len(before),
        "indicator_values_before": before["towns_indicatorvalue"][0],
        "indicator_values_after": after["towns_indicatorvalue"][0],
        "history_events_before": before["towns_indicatorvalueevent"][0],
        "history_events_after": after["towns_indicatorvalueevent"][0],
        "tables_changed": changed_tables(before, after),
    }
    record("import_killed_midway", figures)
    assert after == before, changed_tables(before, after)


def test_bulk_api_write_killed_midway_leaves_the_database_as_it_was(private_atlas):
    pg = private_atlas.pg
    dbname = private_atlas.fresh_database("killbulk")
    payload = [
        {"town": town, "indicator": "population", "year": year, "quarter": quarter, "value": "1.5"}
        for town, year, quarter in itertools.islice(new_keys(pg, dbname, 15), 2500)
    ]
    body = json.dumps(payload).encode()
    headers = {
        "Authorization": f"Token {private_atlas.token}",
        "Content-Type": "application/json",
    }
    server = Gunicorn(pg, dbname, workers=1, GUNICORN_TIMEOUT="120")
    try:
        before = fingerprint(pg, dbname)
        worker = server.worker_pids()[0]
        answer: dict = {}

        def upload():
            try:
                answer["status"] = request(
                    server.base + "/api/v1/indicator-values/bulk/",
                    method="POST",
                    body=body,
                    headers=headers,
                    timeout=120,
                )[0]
            except OSError as err:
                answer["error"] = repr(err)

        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        caught_after = wait_until_writing(pg, dbname, thread.is_alive)
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=60)
        wait_no_backend(pg, dbname)
        after = fingerprint(pg, dbname)

        # The same upload, sent again to the replacement worker, is accepted whole: the kill
        # interrupted a valid write, and left nothing that would now collide with it.
        server.wait_ready()
        status, _, retry_body = request(
            server.base + "/api/v1/indicator-values/bulk/",
            method="POST",
            body=body,
            headers=headers,
            timeout=120,
        )
        retried = pg.run(dbname, "SELECT count(*) FROM towns_indicatorvalue")[0][0]
    finally:
        server.stop()

    figures = {
        "rows_in_upload": len(payload),
        "seconds_until_writing": round(caught_after, 2),
        "interrupted_request": answer,
        "tables": len(before),
        "indicator_values_before": before["towns_indicatorvalue"][0],
        "indicator_values_after_kill": after["towns_indicatorvalue"][0],
        "history_events_before": before["towns_indicatorvalueevent"][0],
        "history_events_after_kill": after["towns_indicatorvalueevent"][0],
        "tables_changed": changed_tables(before, after),
        "retry_status": status,
        "indicator_values_after_retry": retried,
    }
    record("bulk_api_write_killed_midway", figures)
    assert "status" not in answer, answer  # the killed worker never answered
    assert after == before, changed_tables(before, after)
    assert status == 201, retry_body[:500]
    assert json.loads(retry_body) == {"created": len(payload)}
    assert retried == before["towns_indicatorvalue"][0] + len(payload)
