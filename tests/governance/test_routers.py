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
from django.db import connection, connections
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
        return None

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
