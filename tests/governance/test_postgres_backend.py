"""The health check of persistent connections (governance/postgres/): no query when healthy,
and a connection the server cut is never used again."""

import time

import pytest
from django.db import connections

# Not transactional: the test database keeps its demo data (a flush would empty it for the
# tests after). The connections tested are their own, outside the test transaction.
pytestmark = pytest.mark.django_db


@pytest.fixture
def own_connection():
    """A connection of its own (the test's connection stays out of harm's way)."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cut(wrapper) -> int:
    """The server ends the connection's session, as a restart would; its old pid."""
    pid = _backend_pid(wrapper)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
    return pid


def test_the_project_uses_the_backend():
    assert connections["default"].settings_dict["ENGINE"] == "governance.postgres"
    assert type(connections["default"]).__module__ == "governance.postgres.base"


@pytest.fixture
def select_one_checks(monkeypatch):
    """Counts the times Django's own check (``SELECT 1`` on the raw connection) runs."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    calls = []
    original = DatabaseWrapper.is_usable

    def counted(self):
        calls.append(self.alias)
        return original(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    return calls


def test_a_healthy_idle_connection_is_usable_without_a_query(own_connection, select_one_checks):
    assert own_connection.is_usable()
    assert select_one_checks == []
    # And the connection works.
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_connection_the_server_cut_is_not_usable(own_connection, select_one_checks):
    _cut(own_connection)
    deadline = time.monotonic() + 5
    while own_connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not own_connection.is_usable()
    # Decided by Django's SELECT 1, sent only because the socket had something to read.
    assert select_one_checks


def test_the_health_check_replaces_a_cut_connection_before_the_first_query(own_connection):
    pid = _cut(own_connection)
    time.sleep(0.2)
    # As at the start of a request: the next query runs on a new connection, no error.
    own_connection.health_check_done = False
    assert _backend_pid(own_connection) != pid
