"""Settings come from the environment and fail loudly, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "x" * 60


def load_settings(**env):
    """Import the settings in a fresh interpreter with ``env``; return (exit code, output)."""
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    base.update(env)
    code = "import governance.settings as s; print('DB', s.DATABASES['default']['NAME'])"
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_production_refuses_missing_secret_key():
    code, out = load_settings(DEBUG="false", SECRET_KEY="")
    assert code != 0
    assert "ImproperlyConfigured" in out
    assert "SECRET_KEY is missing" in out


def test_production_refuses_development_secret_key():
    code, out = load_settings(DEBUG="false", SECRET_KEY="dev-insecure-key-change-me")
    assert code != 0
    assert "SECRET_KEY" in out


def test_debug_allows_development_key():
    code, out = load_settings(DEBUG="true", SECRET_KEY="")
    assert code == 0, out
    assert "DB " in out


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("CONN_MAX_AGE", "soon"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("DATABASE_URL", "mysql://u:p@localhost/db"),
        ("API_PAGE_SIZE", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("SECURE_HSTS_SECONDS", "a year"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    code, out = load_settings(**{"SECRET_KEY": GOOD_KEY, name: value})
    assert code != 0
    assert "ImproperlyConfigured" in out
    assert name in out


def test_database_url_is_used_and_nothing_is_started(tmp_path):
    pgdata = tmp_path / "pgdata"
    code, out = load_settings(
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL="postgres://someone:secret@db.example.invalid:5432/elsewhere",
        EMBEDDED_PGDATA=str(pgdata),
    )
    assert code == 0, out
    assert "DB elsewhere" in out
    assert not pgdata.exists()
