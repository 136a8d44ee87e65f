"""Machinery of the fault-injection tests: a private PostgreSQL, gunicorn, load, fingerprints.

Every fault is injected into a PRIVATE PostgreSQL server (pgserver in a temporary directory),
never into the shared embedded server of var/pgdata that the rest of the suite and the other
developers use. Its databases are copies of this worker's test database (demo data loaded by
tests/conftest.py), made with the server's own pg_dump/pg_restore, so every scenario starts
from real data in a second or two instead of migrating and loading the demo (~30 s).

gunicorn runs with governance/gunicorn.conf.py and production settings (DEBUG off), on a free
port of 8300-8349, against a database of the private server (``EMBEDDED_PGDATA`` and
``EMBEDDED_DB_NAME``, read by governance/settings.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg2
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PORTS = range(8300, 8350)
ARTIFACT = BASE_DIR / "test-artifacts" / "faults.json"
SECRET_KEY = "faults-test-secret-key-" + "x" * 40
#: libpq sends this application name (PGAPPNAME), so pg_stat_activity tells our backends apart.
APP_NAME = "atlas-fault"


# --- the private server --------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    from governance.embedded_db import bin_path

    return str(bin_path() / name)


class PrivatePostgres:
    """A PostgreSQL server of our own in a temporary directory: we may stop and start it."""

    def __init__(self) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # Short path: the Unix socket lives in the data directory (socket paths are limited).
        self.pgdata = Path(tempfile.mkdtemp(prefix=f"atlas-faults-{worker}-", dir="/tmp"))

    def start(self) -> None:
        """Start the server (initialised on first start) in a child process.

        pgserver keeps one handle per process and would not notice a stop, so each start is a
        fresh process; with ``cleanup_mode=None`` the server outlives it.
        """
        code = (
            "import warnings; warnings.simplefilter('ignore'); import pgserver, sys; "
            "pgserver.get_server(sys.argv[1], cleanup_mode=None)"
        )
        subprocess.run([PYTHON, "-c", code, str(self.pgdata)], check=True, timeout=60)  # noqa: S603

    def stop(self) -> None:
        """Fast shutdown (pg_ctl -m fast): every connection is cut, as in a crash of the host."""
        from governance.embedded_db import stop_server

        stop_server(self.pgdata)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)

    @property
    def host(self) -> str:
        return str(self.pgdata)

    def connect(self, dbname: str = "postgres", *, autocommit: bool = True):
        conn = psycopg2.connect(dbname=dbname, user="postgres", host=self.host, port=5432)
        conn.autocommit = autocommit
        return conn

    def is_up(self) -> bool:
        try:
            self.connect().close()
        except psycopg2.OperationalError:
            return False
        return True

    def run(self, dbname: str, query: str, params=None) -> list[tuple]:
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def load_copy_of(self, source: dict, dbname: str) -> None:
        """Copy the database described by Django's ``source`` settings into ``dbname``."""
        host = source.get("HOST") or source.get("OPTIONS", {}).get("host", "")
        env = {**os.environ, "PGUSER": source.get("USER") or "postgres"}
        if source.get("PASSWORD"):
            env["PGPASSWORD"] = source["PASSWORD"]
        dump = self.pgdata.parent / f"{self.pgdata.name}.dump"
        subprocess.run(  # noqa: S603
            [
                _pg_bin("pg_dump"),
                "-Fc",
                "-h",
                str(host),
                "-p",
                str(source.get("PORT") or 5432),
                "-d",
                source["NAME"],
                "-f",
                str(dump),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        self.run("postgres", sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        subprocess.run(  # noqa: S603
            [
                _pg_bin("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "-h",
                self.host,
                "-U",
                "postgres",
                "-d",
                dbname,
                str(dump),
            ],
            check=True,
            capture_output=True,
        )
        dump.unlink()

    def clone(self, template: str, prefix: str) -> str:
        """A fresh copy of ``template`` (CREATE DATABASE ... TEMPLATE: a file copy, fast)."""
        name = f"{prefix}_{uuid.uuid4().hex[:6]}"
        self.run(
            "postgres",
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            ),
        )
        return name


#: Tables that change with every API request and hold no research data: the rate limits'
#: request counters (governance.api.throttling).
NOT_DATA_TABLES = frozenset({"governance_ratecounter"})


def fingerprint(pg: PrivatePostgres, dbname: str) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of the whole content of every table (history tables included),
    but the request counters of the rate limits (:data:`NOT_DATA_TABLES`)."""
    conn = pg.connect(dbname)
    out = {}
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
            for (table,) in cur.fetchall():
                if table in NOT_DATA_TABLES:
                    continue
                cur.execute(
                    sql.SQL(
                        "SELECT count(*), coalesce(md5(string_agg(t::text, '|' "
                        "ORDER BY t::text)), '') FROM {} t"
                    ).format(sql.Identifier(table))
                )
                out[table] = cur.fetchone()
    finally:
        conn.close()
    return out


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A free port of 8300-8349 (the range given to these tests)."""
    ports = list(PORTS)
    # Start at a point that depends on the worker, so that two workers rarely race for one.
    offset = (os.getpid() * 7) % len(ports)
    for port in ports[offset:] + ports[:offset]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port in 8300-8349")


def app_env(pg: PrivatePostgres, dbname: str, **extra: str) -> dict[str, str]:
    """Environment of a production process of the atlas on ``dbname`` of the private server."""
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        SECURE_SSL_REDIRECT="false",
        STAFF_2FA_REQUIRED="false",
        EMBEDDED_PGDATA=str(pg.pgdata),
        EMBEDDED_DB_NAME=dbname,
        # Pages are rendered with the manifest of this worker's collected static files.
        STATIC_ROOT=str(settings.STATIC_ROOT),
        # The load comes from one address: the throttle is not what is being tested.
        API_THROTTLE_ANON="1000000/min",
        API_THROTTLE_USER="1000000/min",
        PGAPPNAME=APP_NAME,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(BASE_DIR),
    )
    env.update(extra)
    return env


def manage(pg: PrivatePostgres, dbname: str, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=app_env(pg, dbname),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc.stdout


TOKEN_SCRIPT = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from governance.tokens import token_issue
user, _ = get_user_model().objects.get_or_create(username="faults-researcher", is_staff=True)
user.groups.add(Group.objects.get(name="researcher"))
_, key = token_issue(user=user, name="faults", scopes=["read:restricted", "write:research"],
                     expires_days=0)
print("KEY=" + key)
"""


def issue_research_token(pg: PrivatePostgres, dbname: str) -> str:
    out = manage(pg, dbname, "shell", stdin=TOKEN_SCRIPT)
    return next(line[4:] for line in out.splitlines() if line.startswith("KEY="))


class Gunicorn:
    """gunicorn with the production configuration against a private database."""

    def __init__(self, pg: PrivatePostgres, dbname: str, *, workers: int = 2, **extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = app_env(pg, dbname, PORT=str(self.port), WEB_CONCURRENCY=str(workers), **extra)
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="atlas-faults-gunicorn-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(  # noqa: S603
            [GUNICORN, "governance.wsgi", "-c", "governance/gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_text()[-3000:]}")
            if len(self.worker_pids()) == self.workers:
                with contextlib.suppress(OSError):
                    status, _, _ = request(self.base + "/healthz", timeout=5)
                    if status == 200:
                        return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not get ready: {self.log_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        try:
            return sorted(c.pid for c in psutil.Process(self.proc.pid).children())
        except psutil.NoSuchProcess:
            return []

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


# --- HTTP ----------------------------------------------------------------------------------


def request(url: str, *, method: str = "GET", body: bytes | None = None, headers=None, timeout=30):
    """(status, headers, body) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@dataclass
class Outcome:
    """One request of a load: when it started and ended, and what came back."""

    kind: str
    started: float
    ended: float
    status: int | None
    retry_after: str | None = None
    body: bytes = b""
    error: str = ""
    data: dict = field(default_factory=dict)


def clean_error_body(body: bytes) -> bool:
    """No traceback, no file path, no exception name in an error response."""
    text = body.decode("utf-8", errors="replace")
    return not any(
        marker in text
        for marker in ("Traceback", 'File "', "psycopg2", "OperationalError", "/work/", ".py")
    )


def summarise(outcomes: list[Outcome]) -> Counter:
    counts: Counter = Counter()
    for o in outcomes:
        if o.status is None:
            counts["other_errors"] += 1
        elif o.status < 400:
            counts["ok"] += 1
        else:
            counts[f"http_{o.status}"] += 1
    counts["sent"] = len(outcomes)
    return counts


def record(scenario: str, figures: dict) -> None:
    """Add the figures of a scenario to test-artifacts/faults.json (the lead quotes them)."""
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "atlas-faults-json.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = {}
        if ARTIFACT.exists():
            with contextlib.suppress(ValueError):
                data = json.loads(ARTIFACT.read_text())
        data[scenario] = {"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        data[scenario].update(figures)
        ARTIFACT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n[faults] {scenario}: {json.dumps(figures, sort_keys=True)}")  # noqa: T201 (for -s)


class Load:
    """Client threads sending requests until stopped; every outcome is kept."""

    def __init__(self, base: str, plan, *, threads: int = 4, pause: float = 0.0):
        self.base = base
        self.plan = plan  # plan(thread_index, n) -> (kind, method, path, body, headers) or None
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.pause = pause
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def stop(self) -> list[Outcome]:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)
        return sorted(self.outcomes, key=lambda o: o.started)

    def count(self) -> int:
        with self.lock:
            return len(self.outcomes)

    def _run(self, index: int) -> None:
        n = 0
        while not self.stop_event.is_set():
            step = self.plan(index, n)
            n += 1
            if step is None:
                break
            kind, method, path, body, headers, data = step
            started = time.monotonic()
            try:
                status, resp_headers, resp_body = request(
                    self.base + path, method=method, body=body, headers=headers, timeout=30
                )
                outcome = Outcome(
                    kind,
                    started,
                    time.monotonic(),
                    status,
                    retry_after=resp_headers.get("Retry-After"),
                    body=resp_body,
                    data=data,
                )
            except OSError as err:  # refused, reset, timed out: not an HTTP answer
                outcome = Outcome(kind, started, time.monotonic(), None, error=repr(err), data=data)
            with self.lock:
                self.outcomes.append(outcome)
            if self.pause:
                time.sleep(self.pause)


def backends_in_transaction(pg: PrivatePostgres, dbname: str) -> list[tuple[int, str]]:
    """(pid, query) of our application's backends that have written in an open transaction."""
    return pg.run(
        "postgres",
        "SELECT pid, query FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
        "AND backend_xid IS NOT NULL",
        [dbname, APP_NAME],
    )


def wait_no_backend(pg: PrivatePostgres, dbname: str, timeout: float = 30) -> None:
    """Wait until the server has ended every backend of our application on ``dbname``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = pg.run(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
            "AND backend_xid IS NOT NULL",
            [dbname, APP_NAME],
        )[0][0]
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError("a killed client's transaction is still open")
