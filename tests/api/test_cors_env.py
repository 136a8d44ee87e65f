"""CORS origins come from the environment (issue 6): ``CORS_ALLOWED_ORIGINS`` as the settings
read it in a fresh process; none is allowed unless configured; CORS covers the API only."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps([settings.CORS_ALLOWED_ORIGINS, settings.CORS_URLS_REGEX]))"
)


def settings_in_new_process(origins: str | None) -> list:
    environ = {k: v for k, v in os.environ.items() if k != "CORS_ALLOWED_ORIGINS"}
    environ["DJANGO_SETTINGS_MODULE"] = "governance.settings"
    if origins is not None:
        environ["CORS_ALLOWED_ORIGINS"] = origins
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, env=environ
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_allowed_origins_are_read_from_the_environment():
    origins, regex = settings_in_new_process(
        "https://tool.partner.example.org,https://desk.news.example.com"
    )
    assert origins == ["https://tool.partner.example.org", "https://desk.news.example.com"]
    assert regex == r"^/api/.*$"


def test_no_origin_is_allowed_unless_configured():
    origins, _ = settings_in_new_process(None)
    assert origins == []
