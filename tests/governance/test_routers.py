"""The read-replica router: reads to DATABASE_REPLICA_URL, writes and reads-after-writes to the
primary. Checked in the routing logic and end to end in a fresh process configured from the
environment, with the replica pointed at the same (test) database, as a replica mirrors it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, connections
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from governance.routers import PrimaryForWritesMiddleware, ReplicaRouter, use_primary
from towns.models import Town

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def with_replica(settings, monkeypatch):
    """A replica alias in settings, and the primary outside any transaction."""
    databases = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}
    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    with override_settings(DATABASES=databases):
        yield


def test_without_a_replica_everything_uses_the_primary():
    router = ReplicaRouter()
    assert router.db_for_read(Town) == "default"
    assert router.db_for_write(Town) == "default"


def test_reads_go_to_the_replica_and_writes_to_the_primary(with_replica):
    router = ReplicaRouter()
    assert router.db_for_read(Town) == "replica"
    assert router.db_for_write(Town) == "default"
    assert router.allow_migrate("default", "towns") is True
    assert router.allow_migrate("replica", "towns") is False


def test_reads_inside_a_write_stay_on_the_primary(with_replica, monkeypatch):
    router = ReplicaRouter()
    with use_primary():
        assert router.db_for_read(Town) == "default"
    assert router.db_for_read(Town) == "replica"
    monkeypatch.setattr(connections["default"], "in_atomic_block", True)
    assert router.db_for_read(Town) == "default"


@pytest.mark.parametrize(
    ("method", "path", "primary"),
    [
        ("get", "/api/v1/towns/", False),
        ("head", "/towns/turau/", False),
        ("post", "/api/v1/activities/", True),
        ("patch", "/api/v1/activities/1/", True),
        ("delete", "/api/v1/activities/1/", True),
        ("get", "/admin/towns/town/", True),
        ("get", "/be/admin/", True),
    ],
)
def test_the_middleware_pins_writes_and_the_workspace(with_replica, method, path, primary):
    seen = {}

    def view(request):
        seen["db"] = ReplicaRouter().db_for_read(Town)
        return HttpResponse()

    request = getattr(RequestFactory(), method)(path)
    PrimaryForWritesMiddleware(view)(request)
    assert seen["db"] == ("default" if primary else "replica")


PROBE = """
import json
from django.db import connections, transaction
from django.test import Client
from towns.models import Town

counts = {"default": 0, "replica": 0}

def counter(alias):
    def wrapper(execute, sql, params, many, context):
        counts[alias] += 1
        return execute(sql, params, many, context)
    return wrapper

result = {"aliases": sorted(connections.settings.keys())}
with connections["default"].execute_wrapper(counter("default")), connections[
    "replica"
].execute_wrapper(counter("replica")):
    result["towns"] = Town.objects.count()
    result["after_read"] = dict(counts)
    with transaction.atomic():
        Town.objects.count()
    result["after_atomic_read"] = dict(counts)
    response = Client().get("/api/v1/regions/", HTTP_HOST="127.0.0.1")
    result["api_status"] = response.status_code
    result["after_api_get"] = dict(counts)
print("RESULT" + json.dumps(result))
"""


def database_url() -> str:
    params = connection.settings_dict
    host = params.get("HOST") or ""
    socket = (params.get("OPTIONS") or {}).get("host")
    user = quote(params.get("USER") or "")
    password = params.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else f"{user}@"
    url = f"postgres://{auth}{host}:{params.get('PORT') or 5432}/{params['NAME']}"
    return url + (f"?host={quote(socket)}" if socket else "")


@pytest.mark.django_db
def test_database_replica_url_routes_reads_end_to_end():
    """A new process with DATABASE_REPLICA_URL: plain reads and API GETs use the replica,
    reads inside a transaction use the primary."""
    url = database_url()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_REPLICA_URL": url,
        "DEBUG": "true",
        "READ_CACHE_TIMEOUT": "0",
    }
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, done.stderr[-2000:]
    result = json.loads(line.removeprefix("RESULT"))
    assert result["aliases"] == ["default", "replica"]
    assert result["towns"] == Town.objects.count()
    assert result["after_read"]["default"] == 0
    assert result["after_read"]["replica"] >= 1
    assert result["after_atomic_read"]["default"] >= 1
    assert result["after_atomic_read"]["replica"] == result["after_read"]["replica"]
    assert result["api_status"] == 200
    api_replica = result["after_api_get"]["replica"] - result["after_atomic_read"]["replica"]
    api_default = result["after_api_get"]["default"] - result["after_atomic_read"]["default"]
    assert api_replica >= 1
    # The one statement on the primary is the request's rate count (kept in PostgreSQL when
    # no shared cache is configured; with CACHE_URL it goes to Redis and reads stay off).
    assert api_default == 1


def test_an_invalid_replica_url_is_a_clear_error():
    env = {**os.environ, "DATABASE_REPLICA_URL": "mysql://x@y/z", "DEBUG": "true"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "DATABASE_REPLICA_URL must point at PostgreSQL" in done.stderr


# --- read-your-writes ----------------------------------------------------------------------


@pytest.fixture
def written(with_replica, monkeypatch):
    """A replica configured, read-your-writes on, a cache of the test's own in place of the
    default cache (Redis when REDIS_URL is set), and the replica's "have you replayed this?"
    asked, with the real query, of the test database: a primary, which never has."""
    from django.core.cache.backends.locmem import LocMemCache

    from governance import routers

    own = LocMemCache("read-your-writes-test", {})
    own.clear()
    monkeypatch.setattr(routers, "cache", own)
    real = routers.replica_has_replayed
    monkeypatch.setattr(
        routers, "replica_has_replayed", lambda lsn, using="replica": real(lsn, "default")
    )
    with override_settings(READ_YOUR_WRITES_SECONDS=300):
        yield own


def routed(request, status: int = 200, cookies: dict | None = None):
    """Run ``request`` through the middleware: (database of a read in the view, response)."""
    seen = {}

    def view(request):
        seen["db"] = ReplicaRouter().db_for_read(Town)
        response = HttpResponse(status=status)
        for name, value in (cookies or {}).items():
            response.set_cookie(name, value)
        return response

    response = PrimaryForWritesMiddleware(view)(request)
    return seen["db"], response


def written_entries(cache) -> dict:
    """The read-your-writes entries of the test's cache (its keys are ":1:" + our key)."""
    keys = [key.split(":", 2)[2] for key in cache._cache]
    return {key: cache.get(key) for key in keys if key.startswith("atlas:written:")}


TOKEN = "Token 0123456789abcdef-not-a-real-key"


@pytest.mark.django_db
def test_a_write_remembers_the_primary_wal_position_by_a_hash_of_the_credential(written):
    from governance.routers import lsn_value

    factory = RequestFactory()
    _, response = routed(factory.post("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN), 201)
    assert response.status_code == 201
    entries = written_entries(written)
    assert len(entries) == 1
    ((key, lsn),) = entries.items()
    assert TOKEN not in key and "0123456789abcdef" not in key
    assert "0123456789abcdef" not in lsn
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        now = cursor.fetchone()[0]
    assert 0 < lsn_value(lsn) <= lsn_value(now)

    # The same client's next read goes to the primary: the "replica" here is the primary
    # itself, which replays nothing, so it never counts as caught up.
    db, _ = routed(factory.get("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN))
    assert db == "default"
    # Another client, and an anonymous one, read from the replica.
    db, _ = routed(factory.get("/api/v1/activities/", HTTP_AUTHORIZATION="Token other"))
    assert db == "replica"
    db, _ = routed(factory.get("/api/v1/activities/"))
    assert db == "replica"


@pytest.mark.django_db
def test_once_the_replica_has_replayed_the_write_the_entry_is_forgotten(written, monkeypatch):
    from governance import routers

    factory = RequestFactory()
    factory.cookies[settings.SESSION_COOKIE_NAME] = "session-value-1"
    routed(factory.patch("/api/v1/activities/1/"))
    assert len(written_entries(written)) == 1
    asked = []
    monkeypatch.setattr(
        routers, "replica_has_replayed", lambda lsn, using="replica": asked.append(lsn) or False
    )
    assert routed(factory.get("/towns/turau/"))[0] == "default"
    assert len(written_entries(written)) == 1
    monkeypatch.setattr(
        routers, "replica_has_replayed", lambda lsn, using="replica": asked.append(lsn) or True
    )
    assert routed(factory.get("/towns/turau/"))[0] == "replica"
    assert written_entries(written) == {}
    assert len(asked) == 2 and asked[0] == asked[1]
    # Forgotten: the next read asks nothing more.
    assert routed(factory.get("/towns/turau/"))[0] == "replica"
    assert len(asked) == 2


@pytest.mark.django_db
def test_the_replica_check_is_a_real_query():
    """On a server that replays nothing (the test database is a primary) the answer is "not
    yet", even for a position long past; a standby's answers are checked with a real replica
    in test_replica_cluster.py."""
    from governance.routers import replica_has_replayed

    assert replica_has_replayed("0/0", using="default") is False


@pytest.mark.django_db
def test_a_sign_in_remembers_the_session_it_starts(written):
    factory = RequestFactory()
    routed(factory.post("/admin/login/"), 302, cookies={settings.SESSION_COOKIE_NAME: "new-one"})
    assert len(written_entries(written)) == 1
    factory.cookies[settings.SESSION_COOKIE_NAME] = "new-one"
    assert routed(factory.get("/towns/"))[0] == "default"


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503])
def test_a_failed_write_remembers_nothing(written, status):
    request = RequestFactory().post("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN)
    db, response = routed(request, status)
    assert db == "default" and response.status_code == status
    assert written_entries(written) == {}


def test_a_read_without_a_credential_costs_no_lookup_and_no_query(written, monkeypatch):
    """No django_db mark: any query would fail the test; any cache lookup too."""
    from governance import routers

    def refuse(*args, **kwargs):
        raise AssertionError("no cache lookup expected")

    monkeypatch.setattr(routers.cache, "get_many", refuse)
    monkeypatch.setattr(routers.cache, "get", refuse)
    request = RequestFactory().get("/api/v1/towns/")
    request.COOKIES["csrftoken"] = "not-a-credential"
    assert routed(request)[0] == "replica"


def test_without_a_replica_a_write_remembers_nothing_and_reads_ask_nothing(settings, monkeypatch):
    """No replica configured: no WAL position is read (no django_db mark: a query would fail)
    and no cache is asked."""
    from governance import routers

    def refuse(*args, **kwargs):
        raise AssertionError("no cache use expected")

    settings.READ_YOUR_WRITES_SECONDS = 300
    for name in ("get_many", "set_many", "get", "set"):
        monkeypatch.setattr(routers.cache, name, refuse)
    factory = RequestFactory()
    assert routed(factory.post("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN), 201)[0] == (
        "default"
    )
    assert routed(factory.get("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN))[0] == "default"


@pytest.mark.django_db
def test_read_your_writes_can_be_turned_off(written):
    factory = RequestFactory()
    with override_settings(READ_YOUR_WRITES_SECONDS=0):
        routed(factory.post("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN), 201)
        assert written_entries(written) == {}
        assert routed(factory.get("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN))[0] == (
            "replica"
        )


def test_a_later_position_is_kept_over_an_earlier_one(written, monkeypatch):
    from governance import routers

    request = RequestFactory().post("/api/v1/activities/", HTTP_AUTHORIZATION=TOKEN)
    for position in ("1/A0", "0/FF", "1/9F"):
        monkeypatch.setattr(routers, "primary_wal_position", lambda p=position: p)
        routed(request, 201)
    assert list(written_entries(written).values()) == ["1/A0"]
