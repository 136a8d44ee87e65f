import pytest
from django.db import DatabaseError


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_reports_database_down_as_503(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["database"] == "unavailable"


@pytest.mark.django_db
def test_healthz_reports_missing_migrations_as_503(client, monkeypatch):
    """The code expects a migration the database has not got: a deployment between its new
    code and its ``migrate``."""
    from governance import views

    expected = views.expected_migrations()
    monkeypatch.setattr(
        views, "expected_migrations", lambda: (*expected, ("towns", "9999_not_yet_applied"))
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"status": "error", "database": "migrating"}


RESTORE_WINDOW_SCRIPT = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(raise_request_exception=False)
out = {}
for path in ("/healthz", "/", "/towns/turau/", "/api/v1/towns/", "/be/csos/"):
    response = client.get(path)
    out[path] = {
        "status": response.status_code,
        "retry": response.get("Retry-After"),
        "type": response.get("Content-Type", ""),
        "body": response.content.decode()[:400],
    }
print(json.dumps(out))
"""


def test_a_database_without_its_schema_answers_503_not_500(tmp_path):
    """Issue 19: between ``CREATE DATABASE`` and the end of a restore (one transaction), every
    table is missing. Pages and API answered 500 there while /healthz said 200. A real process
    on a real, empty database (the embedded server creates it, nothing migrates it)."""
    import json
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from django.conf import settings

    name = f"restore_window_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "EMBEDDED_DB_NAME": name,
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "READ_CACHE_URL": f"filecache://{tmp_path}/cache",
    }
    if os.environ.get("DATABASE_URL"):  # that server, in a database of the new name
        env["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    from tests.governance.test_backup_restore import connect, drop

    admin = connect("postgres")
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')  # empty: what a restore starts from
    admin.close()
    try:
        proc = subprocess.run(  # noqa: S603 (our own interpreter and script)
            [sys.executable, "-c", RESTORE_WINDOW_SCRIPT],
            env=env,
            cwd=Path(settings.BASE_DIR),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        answers = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        drop(name)
    health = answers.pop("/healthz")
    assert health["status"] == 503, health
    assert health["retry"] == "30"
    assert json.loads(health["body"]) == {"status": "error", "database": "missing"}
    for path, answer in answers.items():
        assert answer["status"] == 503, (path, answer)
        assert answer["retry"] == "30", path
        assert "Traceback" not in answer["body"] and "ProgrammingError" not in answer["body"]
    assert answers["/api/v1/towns/"]["type"].startswith("application/problem+json")
