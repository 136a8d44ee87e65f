"""The examples of docs/api.md, run as written against a live server (so the guide is true).

Every ```bash and ```python block of the guide runs in a subprocess with ``ATLAS`` (the server's
address) and ``ATLAS_TOKEN`` (a partner token) in its environment, and must exit 0.

The server is a real HTTP server in a thread, but it shares the test's database connection
instead of using pytest-django's ``live_server``: that fixture needs ``transactional_db``, which
empties every table after the test and would take the demo data (loaded once per session by
tests/conftest.py) away from every later test. Sharing the connection keeps the test inside its
rolled-back transaction; the main thread only waits on the subprocess meanwhile, so the
connection is never used by two threads at once.
"""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.contrib.auth.models import Group
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections

from governance.tokens import token_issue

pytestmark = pytest.mark.django_db

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def guide_blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadedServer(WSGIServer):
    daemon_threads = True


@pytest.fixture
def shared_live_server():
    """Address of a live server that runs inside this test's transaction (see module doc)."""
    connection = connections["default"]
    connection.inc_thread_sharing()
    # As Django's test client does: a finished request must not close the shared connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    django_app = WSGIHandler()

    def app(environ, start_response):
        connections["default"] = connection
        return django_app(environ, start_response)

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        connection.dec_thread_sharing()


@pytest.fixture
def partner_key(django_user_model):
    user = django_user_model.objects.create_user(username="docs-partner", password="a-long-9x")
    user.groups.add(Group.objects.get(name="partner"))
    return token_issue(user=user, name="docs", scopes=["read:partner"])[1]


def test_guide_has_curl_and_python_examples():
    kinds = [kind for kind, _ in guide_blocks()]
    assert kinds.count("bash") >= 2 and kinds.count("python") >= 2
    code = "\n".join(code for _, code in guide_blocks())
    for tool in ("import pandas", "import geopandas", "openapi-python-client generate"):
        assert tool in code, tool
    assert all("curl" in code for kind, code in guide_blocks() if kind == "bash")


def test_every_example_of_the_guide_runs(shared_live_server, partner_key, tmp_path):
    env = {
        **os.environ,
        "ATLAS": shared_live_server,
        "ATLAS_TOKEN": partner_key,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    outputs = []
    for number, (kind, code) in enumerate(guide_blocks(), start=1):
        command = ["bash", "-euo", "pipefail", "-c", code] if kind == "bash" else [sys.executable]
        result = subprocess.run(  # noqa: S603 (the guide's own examples)
            command,
            input=code if kind == "python" else None,
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (number, kind, code, result.stdout, result.stderr)
        outputs.append(result.stdout)
    text = "\n".join(outputs)
    assert "text/csv" in text.lower() and "x-total-count" in text.lower()
    assert "FeatureCollection" not in text  # printed rows, not the raw document
    assert re.search(r"^\d+ towns$", text, re.MULTILINE)
    assert "'persons':" in text
    assert re.search(r"^304$", text, re.MULTILINE), "the ETag round trip answers 304"
    assert "datapackage.json" in text
    # The tools partners use (issue 18): pandas with dtypes, geopandas, a generated client.
    assert re.search(r"^\d+ points;", text, re.MULTILINE), "geopandas read the GeoJSON"
    assert re.search(r"^\d+ towns in Vitebsk region; the largest: \[", text, re.MULTILINE)
