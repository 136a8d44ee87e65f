"""One migrated database with the demo loaded, made once per version of the code, then cloned.

``manage.py migrate`` costs about 40 s of CPU (Django renders the model state of 78 migrations,
most of it for the history triggers) and ``load_demo`` about 25 s more. The suite needs that
database once per pytest-xdist worker and ``make fuzz`` once more, so each CI run paid for it
three times. Now the first of them builds a template database, named after a hash of
everything migrate and load_demo read (``governance/``, ``towns/``, ``csos/``, ``manage.py``,
the requirements), and each user clones it with ``CREATE DATABASE ... TEMPLATE`` (about a
second). A change to any of those files names a new template, built on first use; older ones
are dropped then. The build runs ``manage.py`` in a subprocess with a fixed environment, so the
template is the same whoever builds it, and under an advisory lock, so two workers never build
it twice; it is built under a temporary name, vacuumed and analyzed (a copy keeps the planner's
statistics; autovacuum would not gather them for it) and renamed when complete, so a build
killed half-way is never cloned.

The server is the project's own: ``DATABASE_URL``'s, else the embedded one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: What migrate and load_demo read: a change here names a new template.
INPUTS = ("governance", "towns", "csos", "manage.py", "requirements.txt")
PREFIX = "atlas_tpl_"
#: pg_advisory_lock key of the build (any constant; "atlas" in ASCII).
LOCK = 0x61746C6173


def admin_params() -> dict:
    """Connection keywords for the server the project uses (DATABASE_URL or embedded)."""
    if os.environ.get("DATABASE_URL"):
        import environ

        config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
        params = {
            "host": config.get("HOST") or None,
            "port": config.get("PORT") or None,
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
        }
    else:
        from governance.embedded_db import ensure_server

        server = ensure_server()
        params = {"host": server.socket_dir, "port": server.port, "user": server.user}
    return {key: value for key, value in params.items() if value}


def database_url(params: dict, name: str) -> str:
    """A ``DATABASE_URL`` for database ``name`` on the server of ``params``."""
    user = quote(params.get("user", ""), safe="")
    password = ":" + quote(params["password"], safe="") if params.get("password") else ""
    host = str(params.get("host", ""))
    port = f":{params['port']}" if params.get("port") else ""
    if host.startswith("/"):  # a socket directory: libpq reads it from the options
        return f"postgres://{user}{password}@{port}/{name}?host={quote(host, safe='/')}"
    return f"postgres://{user}{password}@{host}{port}/{name}"


def admin(params: dict, sql: str, args=None) -> list[tuple]:
    """Run one statement on the server's ``postgres`` database (autocommit)."""
    import psycopg2

    connection = psycopg2.connect(dbname="postgres", **params)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def fingerprint() -> str:
    """A hash of the contents of :data:`INPUTS` (caches and compiled files left out)."""
    digest = hashlib.sha256()
    for entry in INPUTS:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts or file.suffix in {".pyc", ".mo"}:
                continue
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _build_env(params: dict, name: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_REPLICA_URL", "REDIS_URL", "READ_CACHE_URL", "PYTEST_XDIST_WORKER"}
    }
    env.update(
        DATABASE_URL=database_url(params, name),
        DEBUG="false",
        SECRET_KEY="template-build-only-" + "k" * 40,
        ALLOW_SYNTHETIC_DATA="true",
        SECURE_SSL_REDIRECT="false",
        READ_CACHE_URL="locmemcache://template-build",
    )
    return env


def ensure_template(log=print) -> str:
    """The name of the template database of this code, built first if it does not exist."""
    import psycopg2

    params = admin_params()
    name = PREFIX + fingerprint()
    lock = psycopg2.connect(dbname="postgres", **params)
    lock.autocommit = True
    try:
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return name
            building = name + "_building"
            cursor.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{building}"')
            started = time.monotonic()
            env = _build_env(params, building)
            manage = [sys.executable, str(ROOT / "manage.py")]
            try:
                for step in (["migrate", "--no-input", "-v0"], ["load_demo"]):
                    subprocess.run(  # noqa: S603 (our own manage.py)
                        manage + step,
                        env=env,
                        cwd=ROOT,
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
            except subprocess.CalledProcessError as exc:
                cursor.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                raise RuntimeError(
                    f"building the template database failed at {' '.join(exc.cmd[2:])}:\n"
                    f"{exc.stderr[-4000:]}"
                ) from exc
            # Planner statistics, which a copy keeps: a copy is a new database to autovacuum,
            # which would analyze it only after enough writes, and without statistics some
            # queries (the admin's history union) take minutes instead of milliseconds.
            analyze = psycopg2.connect(dbname=building, **params)
            analyze.autocommit = True
            try:
                with analyze.cursor() as each:
                    each.execute("VACUUM (ANALYZE)")
            finally:
                analyze.close()
            cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            log(f"template database {name} built in {time.monotonic() - started:.0f} s")
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                [PREFIX.replace("_", r"\_") + "%", name],
            )
            for (old,) in cursor.fetchall():
                # One in use by a run of older code is left for later.
                with contextlib.suppress(psycopg2.Error):
                    cursor.execute(f'DROP DATABASE "{old}"')
            return name
    finally:
        lock.close()


def clone(template: str, name: str, params: dict | None = None) -> None:
    """(Re)create database ``name`` as a copy of ``template``. PostgreSQL refuses to copy a
    database while another session is connected to it (a ``pg_dump`` of the template by
    :func:`dump`): then this waits for it, up to a minute."""
    from psycopg2 import errors

    params = params or admin_params()
    admin(params, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    deadline = time.monotonic() + 60
    while True:
        try:
            admin(params, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def dump(database: str, path: Path, params: dict | None = None) -> Path:
    """``pg_dump -Fc`` of ``database`` on the project's server into ``path``."""
    from tests.servers import pg_bin

    params = params or admin_params()
    env = {**os.environ, "PGUSER": params.get("user", "postgres")}
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    command = [pg_bin("pg_dump"), "-Fc", "-d", database, "-f", str(path)]
    if params.get("host"):
        command += ["-h", str(params["host"])]
    if params.get("port"):
        command += ["-p", str(params["port"])]
    subprocess.run(command, check=True, env=env, capture_output=True)  # noqa: S603
    return path


def drop(name: str, params: dict | None = None) -> None:
    admin(params or admin_params(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
