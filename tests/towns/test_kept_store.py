"""Storing a kept row never waits long behind another transaction's row of the same key
(towns/kept.py, ``STORE_LOCK_WAIT``).

A reader or keeper that stores a kept profile, dashboard part or document waits for another
transaction storing the same row to commit: normally milliseconds. A process stopped or hung
inside that transaction held the row for as long as it was: a benchmark that stopped its
keeper there waited 12 minutes (2026-12-06), and a web worker would have waited as long. Past
the bound the row is not stored (logged); the reader's answer stands.
"""

from __future__ import annotations

import logging
import time

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from governance.access import Viewer
from towns import kept
from towns.models import KeptProfile, Town

pytestmark = pytest.mark.django_db

#: A state that can be shared (no transaction of its own wrote: it ends in "/0").
STATE = "test.place/1/0|code"


@pytest.fixture
def other():
    """A connection of its own, its transaction left open (as a stopped keeper's was). The
    test's own statements give up after 10 s, so that a store without its bound fails the
    test instead of waiting for good."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '10s'")
    conn = psycopg2.connect(**connection.get_connection_params())
    yield conn
    conn.rollback()
    conn.close()


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def logged():
    """The warnings of towns.kept while the test runs."""
    handler = Kept()
    logger = logging.getLogger("towns.kept")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def test_a_kept_row_locked_by_another_transaction_is_given_up(other, logged):
    town = Town.objects.order_by("pk").first()
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO towns_keptprofile (town_id, kind, level, language, as_of, state, body,"
            " made_at) VALUES (%s, 'profile', %s, 'en', current_date, 'theirs', '{}', now())"
            " ON CONFLICT (town_id, kind, level, language) DO UPDATE SET state = 'theirs'",
            [town.pk, int(Viewer.PUBLIC)],
        )
    before = lock_timeout()
    row = KeptProfile(
        town=town,
        kind="profile",
        level=Viewer.PUBLIC,
        language="en",
        as_of=timezone.localdate(),
        state=STATE,
        body="{}",
    )
    started = time.monotonic()
    kept._store([row])
    waited = time.monotonic() - started
    assert 0.4 < waited < 5, waited
    assert any("kept profile not stored" in m for m in logged), logged
    # The caller's transaction goes on, with its own lock timeout as it was.
    assert lock_timeout() == before
    assert not KeptProfile.objects.filter(town=town, state=STATE).exists()
    # Once the other transaction has ended, the row is stored.
    other.rollback()
    kept._store([row])
    assert KeptProfile.objects.filter(town=town, state=STATE).exists()
    assert lock_timeout() == before


def test_a_kept_document_locked_by_another_transaction_is_given_up(other, logged):
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO towns_keptdocument (name, level, language, state, count, body, etag,"
            " gzipped, made_at) VALUES ('map', %s, 'en', 'theirs', 0, '', 'x', '', now())"
            " ON CONFLICT (name, level, language) DO UPDATE SET state = 'theirs'",
            [int(Viewer.PUBLIC)],
        )
    found = kept.DocumentLookup("map", STATE, None, None, None, Viewer.PUBLIC, "en")
    started = time.monotonic()
    written = kept.keep_document(found, count=0, body="{}", etag="e", gzipped=b"")
    assert not written
    assert 0.4 < time.monotonic() - started < 5
    assert any("kept document map not stored" in m for m in logged), logged
    other.rollback()
    assert kept.keep_document(found, count=0, body="{}", etag="e", gzipped=b"")
