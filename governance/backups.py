"""Consistent backups with ``pg_dump`` (custom format) and restores with ``pg_restore``.

With the embedded database the server's own PostgreSQL 16 binaries are used (Debian's 15
client tools refuse a 16 server); with ``DATABASE_URL`` the ``pg_dump`` on the PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

DUMP_PREFIX = "atlas-"
DUMP_SUFFIX = ".dump"


def client_binary(name: str) -> str:
    if settings.EMBEDDED_DATABASE:
        from governance.embedded_db import bin_path

        return str(bin_path() / name)
    found = shutil.which(name)
    if not found:
        raise CommandError(
            f"{name} is not installed. Install the PostgreSQL client tools of your server's "
            "major version (e.g. apt-get install postgresql-client-16)."
        )
    return found


@dataclass(frozen=True)
class Target:
    host: str
    port: str
    user: str
    password: str
    dbname: str

    @classmethod
    def from_settings(cls, dbname: str | None = None) -> Target:
        db = settings.DATABASES["default"]
        host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
        return cls(
            host=str(host),
            port=str(db.get("PORT") or "5432"),
            user=db.get("USER") or "",
            password=db.get("PASSWORD") or "",
            dbname=dbname or db["NAME"],
        )

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGHOST": self.host, "PGPORT": self.port, "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def backup_dir() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def backup(*, dbname: str | None = None, keep: int | None = None) -> tuple[Path, list[Path]]:
    """Dump the database to a timestamped file; keep the newest ``keep`` dumps.

    ``pg_dump`` takes one snapshot, so the dump is consistent while the site keeps running.
    Returns the new file and the files removed.
    """
    target = Target.from_settings(dbname)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    path = backup_dir() / f"{DUMP_PREFIX}{target.dbname}-{stamp}{DUMP_SUFFIX}"
    tmp = path.with_suffix(".partial")
    cmd = [client_binary("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}"]
    proc = subprocess.run(  # noqa: S603
        [*cmd, target.dbname], env=target.env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise CommandError(f"pg_dump failed: {proc.stderr.strip()}")
    tmp.rename(path)  # a dump only appears under its final name when complete
    return path, prune(keep if keep is not None else settings.BACKUP_KEEP)


def dumps() -> list[Path]:
    return sorted(
        backup_dir().glob(f"{DUMP_PREFIX}*{DUMP_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name)
    )


def prune(keep: int) -> list[Path]:
    removed = []
    for old in dumps()[:-keep] if keep > 0 else []:
        old.unlink()
        removed.append(old)
    return removed


def table_count(target: Target) -> int:
    import psycopg2

    conn = psycopg2.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password or None,
        dbname=target.dbname,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            return cur.fetchone()[0]
    finally:
        conn.close()


def ensure_database(target: Target) -> None:
    """Create ``target.dbname`` if it does not exist (restores may go to a new database)."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password or None,
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target.dbname])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.dbname)))
    finally:
        conn.close()


def restore(path: Path, *, dbname: str | None = None) -> None:
    """Restore ``path`` into an EMPTY database (created if missing); refuse a non-empty one."""
    if not path.is_file():
        raise CommandError(f"No such backup file: {path}")
    target = Target.from_settings(dbname)
    ensure_database(target)
    tables = table_count(target)
    if tables:
        raise CommandError(
            f"Database {target.dbname!r} is not empty ({tables} tables). Restore goes into an "
            "empty database: drop and recreate it first (see README, Backups)."
        )
    cmd = [
        client_binary("pg_restore"),
        "--no-owner",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={target.dbname}",
        str(path),
    ]
    proc = subprocess.run(cmd, env=target.env(), capture_output=True, text=True)  # noqa: S603
    if proc.returncode != 0:
        raise CommandError(f"pg_restore failed: {proc.stderr.strip()}")
