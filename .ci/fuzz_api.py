"""schemathesis ``--checks all`` against a live atlas on a throw-away database (issue 18).

What a partner's tooling does, with a tool nobody here wrote: the atlas runs under gunicorn in
production mode (DEBUG off, two workers) on a database made for this run (migrated, the demo
loaded, dropped at the end), and ``schemathesis run --checks all`` fuzzes the schema each client
is served (the schema is tailored to its viewer) with that client's credentials. The database is a
copy of the template database the test suite clones (tests/dbtemplate.py), built here if missing:

* ``anonymous``: no credentials;
* ``partner``: a partner's read-only token, sent as ``Authorization: Bearer``;
* ``partner-writer``: a partner's token with ``write:research`` (every write a partner may
  make), sent as ``Authorization: Token``;
* ``researcher``: a researcher's token with ``read:restricted`` and ``write:research`` (the
  full schema, every operation).

Writes land in the throw-away database only. Exit status 0 only if every run reports zero
failures; the reports (JUnit XML) go to ``test-artifacts/fuzz/``.

Real identifiers: a random slug or id finds no record, so an operation on one record would
only ever answer 404 and never reach its logic. Before each client's run, the identifiers that
client can see are read from every collection it may list (``/api/v1/towns/`` for
``/api/v1/towns/{slug}/...``) and given to schemathesis as dictionaries
(:func:`seeded_config`): half of the generated values of that path parameter are drawn from
them, the other half stay random (and still find the 404s).

    make fuzz                       # or: .venv/bin/python .ci/fuzz_api.py
    FUZZ_EXAMPLES=20 make fuzz      # more examples per operation (default 4)
    FUZZ_ONLY=anonymous make fuzz   # one client
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dbtemplate import admin, admin_params, clone, database_url, ensure_template  # noqa: E402

BIN = Path(sys.executable).parent
REPORTS = ROOT / "test-artifacts" / "fuzz"

CLIENTS = {
    "anonymous": None,
    "partner": ("partner", ["read:partner"], "Bearer"),
    "partner-writer": ("partner", ["read:partner", "write:research"], "Token"),
    "researcher": ("researcher", ["read:restricted", "write:research"], "Token"),
}

MAKE_TOKENS = """
import json
from django.contrib.auth.models import Group
from django.contrib.auth import get_user_model
from governance.tokens import token_issue
keys = {}
for name, (role, scopes) in json.loads(SPEC).items():
    user = get_user_model().objects.create_user(username="fuzz-" + name, password=None)
    user.groups.add(Group.objects.get(name=role))
    keys[name] = token_issue(user=user, name="fuzz", scopes=scopes, expires_days=1)[1]
print("KEYS=" + json.dumps(keys))
"""


def log(message: str) -> None:
    print(f"[fuzz] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the atlas did not answer {url}/healthz within {seconds:.0f} s")


def _get_json(url: str, headers: dict[str, str]):
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


#: A path whose first parameter names a record of a collection: (collection, parameter).
RECORD_PATH = re.compile(r"^(/api/v1/[a-z-]+/)\{([a-z_]+)\}/")


def seeded_config(url: str, headers: dict[str, str], client: str) -> Path:
    """.ci/schemathesis.toml, with the identifiers ``client`` can see in every collection it
    may list bound to the path parameter that names them (probability 0.5: half real, half
    generated)."""
    schema = _get_json(f"{url}/api/v1/schema/?format=json", headers)
    paths = schema["paths"]
    collections = sorted(
        {m.groups() for path in paths if (m := RECORD_PATH.match(path))},
    )
    lines = [(ROOT / ".ci" / "schemathesis.toml").read_text(), "", "# Seeded by .ci/fuzz_api.py"]
    seeded = 0
    for collection, parameter in collections:
        if "get" not in paths.get(collection, {}):
            continue
        body = _get_json(f"{url}{collection}?page_size=50", headers)
        items = body.get("results", []) if isinstance(body, dict) else body
        values = sorted(
            {item[parameter] for item in items if isinstance(item, dict) and item.get(parameter)},
            key=str,
        )[:50]
        if not values:
            continue
        name = collection.strip("/").rsplit("/", 1)[-1]
        prefix = re.escape(collection) + re.escape("{" + parameter + "}")
        binding = {f"path.{parameter}": {"dictionary": name, "probability": 0.5}}
        lines += [
            f"[dictionaries.{name}]",
            f"values = {json.dumps(values, ensure_ascii=False)}",
            "",
            "[[operations]]",
            f"include-path-regex = {json.dumps('^' + prefix)}",
            f"parameters = {_toml_inline(binding)}",
            "",
        ]
        seeded += 1
    path = REPORTS / f"{client}.schemathesis.toml"
    path.write_text("\n".join(lines))
    log(f"  {client}: real identifiers for {seeded} collections ({path.name})")
    return path


def _toml_inline(value) -> str:
    """A TOML inline table of ``value`` (str keys; str, float or dict values)."""
    if isinstance(value, dict):
        members = (f"{json.dumps(k)} = {_toml_inline(v)}" for k, v in value.items())
        return "{ " + ", ".join(members) + " }"
    return json.dumps(value)


def main() -> int:
    examples = os.environ.get("FUZZ_EXAMPLES", "4")
    only = [n for n in os.environ.get("FUZZ_ONLY", "").split(",") if n]
    clients = {n: c for n, c in CLIENTS.items() if not only or n in only}
    params = admin_params()
    name = f"atlas_fuzz_{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(params, name),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on the loopback: no TLS redirect, cookies without the Secure flag.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        # The fuzzing must not be throttled into 429s (the limits have their own tests).
        "API_THROTTLE_ANON": "1000000/min",
        "API_THROTTLE_USER": "1000000/min",
        "READ_CACHE_URL": "locmemcache://fuzz",
        "ALLOW_SYNTHETIC_DATA": "true",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    manage = [str(BIN / "python"), str(ROOT / "manage.py")]
    REPORTS.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    server = None
    try:
        started = time.monotonic()
        # Migrated, with the demo loaded: a copy of the template the test suite made for this
        # code (built here if the suite has not run; tests/dbtemplate.py).
        clone(ensure_template(log=log), name, params)
        subprocess.run(
            [*manage, "collectstatic", "--no-input", "-v0"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        spec = {n: list(c[:2]) for n, c in clients.items() if c}
        made = subprocess.run(
            [*manage, "shell", "-c", f"SPEC = {json.dumps(json.dumps(spec))}\n{MAKE_TOKENS}"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        keys = json.loads(made.stdout.split("KEYS=", 1)[1])
        log(f"database {name} ready in {time.monotonic() - started:.0f} s")

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "governance.wsgi", "-c", "governance/gunicorn.conf.py"],
            env={**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(REPORTS / "gunicorn.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )
        _wait_ready(url)
        for client, spec in clients.items():
            headers = []
            sent = {}
            if spec:
                headers = ["-H", f"Authorization: {spec[2]} {keys[client]}"]
                sent = {"Authorization": f"{spec[2]} {keys[client]}"}
            config = seeded_config(url, sent, client)
            command = [
                str(BIN / "python"),
                str(ROOT / ".ci" / "schemathesis_cli.py"),  # ast.parse serialised: see there
                "--config-file",
                str(config),
                "--no-color",
                "run",
                f"{url}/api/v1/schema/?format=json",
                "--checks",
                "all",
                "--max-examples",
                examples,
                "--seed",
                "18",
                "--workers",
                "2",
                "--report",
                "junit",
                "--report-junit-path",
                str(REPORTS / f"{client}.xml"),
                *headers,
            ]
            log(f"{client}: schemathesis run --checks all --max-examples {examples}")
            began = time.monotonic()
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            (REPORTS / f"{client}.txt").write_text(result.stdout + result.stderr)
            summary = [
                line.strip()
                for line in result.stdout.splitlines()
                if "generated" in line or line.startswith(("===", "  ❌", "  ⚠"))
            ]
            for line in summary[-8:]:
                log(f"  {line}")
            log(f"  exit {result.returncode} in {time.monotonic() - began:.0f} s")
            if result.returncode != 0:
                failed.append(client)
                print(result.stdout[-6000:], flush=True)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        admin(params, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if failed:
        log("FAILED: " + ", ".join(failed) + f" (reports in {REPORTS})")
        return 1
    log("no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
