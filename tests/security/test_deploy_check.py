"""``manage.py check --deploy --fail-level WARNING`` passes with production settings (quality 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The production switches are left unset so that their production defaults are what is checked.
UNSET = (
    # Set by the browser tests' fixture in this process; never part of a deployment.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "STAFF_2FA_REQUIRED",
    "DJANGO_SETTINGS_MODULE",
)


def production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(
        DEBUG="false",
        SECRET_KEY="prod-check-" + "k3y-Zq8vT1x" * 6,
        ALLOWED_HOSTS="atlas.example.org",
        DJANGO_SETTINGS_MODULE="governance.settings",
    )
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output


def test_production_defaults_turn_every_switch_on():
    """The same environment, read by the settings module: the production switches are on."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.STAFF_2FA_REQUIRED, s.DEBUG)"
    )
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = result.stdout.strip().splitlines()[-1].split()
    assert values == ["True", "True", "True", "31536000", "True", "False"], result.stdout
