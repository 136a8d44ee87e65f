"""The embedded PostgreSQL starts once, is shared by every process, and survives Ctrl-C.

These tests start their own server in a temporary folder, so they run the same whether the
suite itself uses the embedded server or a ``DATABASE_URL``.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from governance import embedded_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pgdata(tmp_path_factory):
    path = tmp_path_factory.mktemp("embedded") / "pgdata"
    yield path
    embedded_db.stop_server(path)


def in_new_process(pgdata: Path) -> str:
    code = (
        "import sys; from governance.embedded_db import ensure_server; "
        "s = ensure_server(sys.argv[1], name='probe'); print(s.socket_dir)"
    )
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(pgdata)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def server_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


@pytest.mark.django_db
def test_tests_run_on_postgresql():
    assert connection.vendor == "postgresql"


def test_server_starts_and_is_reused_by_every_process(pgdata):
    socket_dir = in_new_process(pgdata)
    assert (pgdata / "PG_VERSION").read_text().strip() == "16"
    first = server_pid(pgdata)
    # The process that started it has exited; the server stays up for the next one.
    assert in_new_process(pgdata) == socket_dir
    assert server_pid(pgdata) == first


def test_dedicated_database_is_created(pgdata):
    in_new_process(pgdata)
    out = subprocess.run(  # noqa: S603
        [
            str(embedded_db.bin_path() / "psql"),
            "-h",
            in_new_process(pgdata),
            "-U",
            "postgres",
            "-d",
            "probe",
            "-tAc",
            "SELECT current_database()",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "probe"


@pytest.mark.parametrize("damage", ["", "[12, ", "not json", "{}"])
def test_start_survives_a_pid_list_left_damaged_by_ctrl_c(pgdata, damage):
    in_new_process(pgdata)
    pid_list = pgdata / embedded_db.PID_LIST
    pid_list.write_text(damage)
    in_new_process(pgdata)
    assert isinstance(json.loads(pid_list.read_text()), list)


def test_processes_starting_at_once_all_start_and_exit_cleanly(pgdata):
    """pgserver's handle list is read and rewritten without a lock by every process that
    starts or exits: processes starting at once (``keep_profiles --jobs 2``, gunicorn's
    workers) read it half written (a benchmark's keeper died at start with
    ``JSONDecodeError``). With the start lock, twelve at once all start, and none fails at
    exit either (an exception in an exit callback is printed, not raised)."""
    in_new_process(pgdata)
    code = (
        "import sys; from governance.embedded_db import ensure_server; "
        "ensure_server(sys.argv[1], name='probe')"
    )
    procs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", code, str(pgdata)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    results = [(proc.wait(timeout=120), proc.stderr.read()) for proc in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [code for code, _err in results] == [0] * 12, [err for _c, err in results]
    assert not [err for _c, err in results if "Error" in err]
    assert isinstance(json.loads((pgdata / embedded_db.PID_LIST).read_text()), list)


def test_server_restarts_after_being_stopped(pgdata):
    in_new_process(pgdata)
    assert embedded_db.stop_server(pgdata) is True
    assert embedded_db.stop_server(pgdata) is False
    in_new_process(pgdata)
    assert server_pid(pgdata) > 0


def test_repair_leaves_a_good_list_alone(tmp_path):
    (tmp_path / embedded_db.PID_LIST).write_text("[1, 2]")
    assert embedded_db.repair_pid_list(tmp_path) is False
    (tmp_path / embedded_db.PID_LIST).write_text("")
    assert embedded_db.repair_pid_list(tmp_path) is True
    assert (tmp_path / embedded_db.PID_LIST).read_text() == "[]"


def test_socket_goes_into_options_host():
    server = embedded_db.EmbeddedServer(socket_dir="/run/x", port=5432, user="postgres", name="a")
    db = server.django_database()
    assert db["HOST"] == ""
    assert db["OPTIONS"] == {"host": "/run/x"}
    assert db["ENGINE"] == "django.db.backends.postgresql"


def test_own_binaries_are_postgresql_16():
    out = subprocess.run(  # noqa: S603
        [str(embedded_db.bin_path() / "pg_dump"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert " 16." in out
