"""The benchmark stops the keeper beside its servers (while a peer is measured, while the kept
rows are filled at once) only at a moment the keeper holds no transaction.

Stopped inside one, the keeper held the lock of the kept row it had written and not yet
committed for as long as it was stopped, and the filling at once waited for that row for good:
a clean clone's ``make bench`` hung for 12 minutes at the profile's scenario (2026-12-06).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from bench.run import stop_outside_transaction
from tests.dbtemplate import database_url
from towns.management.commands.keep_profiles import LOCK

pytestmark = pytest.mark.django_db

#: A stand-in for the keeper that is inside a transaction nearly all the time: it holds the
#: keeper's lock, and over and over opens a transaction, takes a lock in it, works 0.2 s and
#: commits.
BUSY_KEEPER = """
import sys, time
import psycopg2

conn = psycopg2.connect(sys.argv[1])
conn.autocommit = True
cursor = conn.cursor()
cursor.execute("SELECT pg_advisory_lock(%s)", [int(sys.argv[2])])
print("ready", flush=True)
while True:
    cursor.execute("BEGIN")
    cursor.execute("SELECT pg_advisory_xact_lock(4242)")
    time.sleep(0.2)
    cursor.execute("COMMIT")
    time.sleep(0.005)
"""


def process_state(pid: int) -> str:
    """The state letter of ``pid`` in /proc (``T``: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def free(key: int) -> bool:
    """Whether no other session holds the advisory lock ``key`` (taken and let go at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (taken,) = cursor.fetchone()
        if taken:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return taken


def test_the_keeper_is_stopped_only_outside_a_transaction():
    url = database_url(connection.get_connection_params(), connection.settings_dict["NAME"])
    process = subprocess.Popen(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", BUSY_KEEPER, url, str(LOCK)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert process.stdout.readline().strip() == b"ready"
        for _ in range(3):
            assert stop_outside_transaction(process, seconds=20)
            assert process_state(process.pid) == "T"
            # Stopped, it holds no lock of a transaction: what it locks in one is free.
            assert free(4242)
            os.killpg(process.pid, signal.SIGCONT)
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
