"""Backups are consistent and a restore gives back every table, history included."""

import uuid
from io import StringIO

import psycopg2
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg2 import sql

from governance import backups

pytestmark = pytest.mark.django_db


def connect(dbname: str):
    target = backups.Target.from_settings(dbname)
    conn = psycopg2.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password or None,
        dbname=dbname,
    )
    conn.autocommit = True
    return conn


def drop(dbname: str) -> None:
    conn = connect("postgres")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
    conn.close()


def fingerprint(dbname: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the whole content of every table of ``dbname``."""
    conn = connect(dbname)
    out = {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        for (table,) in cur.fetchall():
            cur.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                    "FROM {} t"
                ).format(sql.Identifier(table))
            )
            out[table] = cur.fetchone()
    conn.close()
    return out


@pytest.fixture
def scratch(settings, tmp_path):
    settings.BACKUP_DIR = str(tmp_path / "backups")
    names = [f"drill_{uuid.uuid4().hex[:8]}_{n}" for n in ("src", "dst")]
    yield names
    for name in names:
        drop(name)


def test_restore_drill_every_table_and_history_matches(scratch):
    src, dst = scratch
    first, _ = backups.backup()  # the test database with the demo data
    call_command("restore", str(first), "--no-input", "--dbname", src, stdout=StringIO())

    # Edits in the restored copy, so that it has history of its own (triggers record them).
    conn = connect(src)
    with conn.cursor() as cur:
        cur.execute("UPDATE towns_town SET population = population + 1 WHERE slug = 'olshany'")
        cur.execute("SELECT min(id) FROM csos_csolink")
        link = cur.fetchone()[0]
        cur.execute("DELETE FROM csos_csolink_sources WHERE csolink_id = %s", [link])
        cur.execute("DELETE FROM csos_csolink WHERE id = %s", [link])
        cur.execute("SELECT count(*) FROM towns_townevent WHERE pgh_label = 'update'")
        assert cur.fetchone()[0] >= 1
    conn.close()

    out = StringIO()
    call_command("backup", "--dbname", src, stdout=out)
    second = backups.dumps()[-1]
    assert str(second) in out.getvalue()
    call_command("restore", str(second), "--no-input", "--dbname", dst, stdout=StringIO())

    before, after = fingerprint(src), fingerprint(dst)
    assert before == after
    assert before["towns_indicatorvalue"][0] > 60000
    assert before["towns_townevent"][0] > 0
    assert before["csos_csolinkevent"][0] > 0


def test_restore_refuses_a_database_that_is_not_empty(scratch):
    src, _ = scratch
    dump, _ = backups.backup()
    call_command("restore", str(dump), "--no-input", "--dbname", src, stdout=StringIO())
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(dump), "--no-input", "--dbname", src, stdout=StringIO())


def test_restore_asks_for_confirmation(scratch, monkeypatch):
    src, _ = scratch
    dump, _ = backups.backup()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("restore", str(dump), "--dbname", src, stdout=StringIO())
    conn = connect("postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [src])
        assert cur.fetchone()[0] == 0  # nothing was created or restored
    conn.close()


def test_restore_of_a_missing_file_is_a_clear_error(scratch, tmp_path):
    with pytest.raises(CommandError, match="No such backup file"):
        call_command("restore", str(tmp_path / "nope.dump"), "--no-input", stdout=StringIO())


def test_backup_keeps_the_newest_n(scratch):
    for _ in range(3):
        backups.backup(keep=2)
    assert len(backups.dumps()) == 2


def _state(dbname: str, kind: str = "all", town: str | None = None) -> str:
    """The data state (of a scope, e.g. ``"town", "olshany"``: what a kept profile holds)."""
    conn = connect(dbname)
    with conn.cursor() as cur:
        cur.execute("SELECT atlas_data_state(%s, %s)", [kind, town])
        (state,) = cur.fetchone()
    conn.close()
    return state


def _edit(dbname: str, population: int) -> None:
    conn = connect(dbname)
    with conn.cursor() as cur:
        cur.execute("UPDATE towns_town SET population = %s WHERE slug = 'olshany'", [population])
    conn.close()


def test_a_restore_never_repeats_a_cache_key(scratch):
    """The drill of issue 19: back up, edit, read (a cache entry keyed by that state), restore
    the backup into a re-created database and edit again. The count of committed writes is the
    same both times, since the restore puts the counter back; the key must still differ, or the
    edit the restore threw away would be served again from the cache."""
    src, _ = scratch
    first, _ = backups.backup()
    call_command("restore", str(first), "--no-input", "--dbname", src, stdout=StringIO())
    backups.backup(dbname=src)
    dump = backups.dumps()[-1]
    _edit(src, 111111)
    discarded = _state(src)
    discarded_town = _state(src, "town", "olshany")
    discarded_region = _state(src, "region", "olshany")

    drop(src)
    call_command("restore", str(dump), "--no-input", "--dbname", src, stdout=StringIO())
    _edit(src, 222222)
    kept = _state(src)
    # A kept town profile (towns/kept.py) holds the town's scoped state, a kept dashboard the
    # region's: neither may repeat, or the profile or page of the discarded edit would be
    # read again.
    assert discarded_town != _state(src, "town", "olshany")
    assert discarded_region != _state(src, "region", "olshany")

    assert discarded.split("/")[1] == kept.split("/")[1]  # the counter repeats ...
    assert discarded != kept  # ... the key does not
    assert discarded.split("/")[0] != kept.split("/")[0]
