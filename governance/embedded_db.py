"""The embedded PostgreSQL server used when no ``DATABASE_URL`` is set.

A newcomer needs nothing installed: the PyPI package ``pgserver`` ships PostgreSQL 16 binaries,
and this module starts one server per checkout with its data in ``var/pgdata/``. The server is
started with ``cleanup_mode=None`` so that it outlives the process that started it: the web
server, a shell and the test run all share it, and ``make db-stop`` stops it.

Traps handled here (found with pgserver 0.1.4):

* ``get_uri()`` names the ``postgres`` maintenance database, so a dedicated database is created;
* the server listens on a Unix socket only, whose directory goes into ``OPTIONS["host"]``;
* pgserver keeps ``pgdata/.handle_pids.json``, which a Ctrl-C or SIGTERM can leave empty or
  half written; every later ``get_server()`` would then fail with ``JSONDecodeError``, so the
  file is repaired before each start;
* that list is read and rewritten by every process that starts or exits, with no lock: two
  processes starting at once (``keep_profiles --jobs 2``, gunicorn's workers) could read it
  half written and fail (seen: a keeper of the benchmark died at start with
  ``JSONDecodeError: Extra data``). Starts and exits take an exclusive lock on
  ``var/pgdata.lock`` (:func:`_start_lock`) around pgserver's use of it;
* it ships PostgreSQL 16, so Debian's version 15 client tools refuse it: ``bin_path()`` gives
  pgserver's own ``psql``/``pg_dump``/``pg_restore``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = BASE_DIR / "var" / "pgdata"
DEFAULT_DB_NAME = "atlas"
PID_LIST = ".handle_pids.json"


@dataclass(frozen=True)
class EmbeddedServer:
    socket_dir: str
    port: int
    user: str
    name: str

    def django_database(self) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": "",
            "HOST": "",
            "PORT": str(self.port),
            # The socket directory must sit in OPTIONS["host"]: libpq reads it from there, and a
            # HOST that is a path confuses tools that expect a host name.
            "OPTIONS": {"host": self.socket_dir},
        }


def repair_pid_list(pgdata: Path) -> bool:
    """Reset pgserver's handle list if an interrupted process left it unreadable.

    Returns True when a repair was needed. The list only counts processes holding a handle so
    that the last one can stop the server; with ``cleanup_mode=None`` nothing depends on it.
    """
    path = pgdata / PID_LIST
    if not path.exists():
        return False
    try:
        values = json.loads(path.read_text() or "null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        values = None
    if isinstance(values, list) and all(isinstance(v, int) for v in values):
        return False
    path.write_text("[]")
    return True


@contextlib.contextmanager
def _start_lock(path: Path):
    """An exclusive lock on ``path`` across processes (released when the block ends, or
    when the process dies)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_EXIT_LOCKS: dict[Path, object] = {}


def _hold_lock_until_exit(path: Path) -> None:
    """Take the lock and keep it until the process ends (the callbacks that run after this
    one, pgserver's among them, hold it; the system releases it at exit). Once per path: a
    second handle of this process would wait for its own first one."""
    if path in _EXIT_LOCKS:
        return
    handle = path.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    _EXIT_LOCKS[path] = handle


def bin_path() -> Path:
    """Directory of the PostgreSQL 16 client and server binaries that pgserver ships."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def ensure_server(pgdata: Path | None = None, name: str = DEFAULT_DB_NAME) -> EmbeddedServer:
    """Start (or find) the embedded server and make sure the project database exists."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = Path(pgdata or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_PGDATA)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    lock = pgdata.parent / f"{pgdata.name}.lock"
    with _start_lock(lock):
        repair_pid_list(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        # pgserver rewrites the list again at exit (an atexit callback it registered just
        # now): this one, registered after it, runs before it and takes the lock for it.
        atexit.register(_hold_lock_until_exit, lock)
    info = server.get_postmaster_info()
    embedded = EmbeddedServer(
        socket_dir=str(info.socket_dir), port=info.port or 5432, user="postgres", name=name
    )
    _ensure_database(embedded)
    return embedded


def _ensure_database(server: EmbeddedServer) -> None:
    import psycopg2
    from psycopg2 import errors, sql

    conn = psycopg2.connect(
        dbname="postgres", user=server.user, host=server.socket_dir, port=server.port
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [server.name])
            if cur.fetchone() is None:
                # Another process of the project may create it a moment before us.
                with contextlib.suppress(errors.DuplicateDatabase):
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.name)))
    finally:
        conn.close()


def stop_server(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs. Returns True if one was stopped."""
    from pgserver.utils import PostmasterInfo

    pgdata = Path(pgdata or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_PGDATA)
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    cmd = [str(bin_path() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        # pgserver runs the server as the unprivileged user "pgserver" when started as root.
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
    subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603
    repair_pid_list(pgdata)
    return True
