"""The identifiers `make fuzz` hands to schemathesis (.ci/fuzz_api.py, ``seeded_config``): for
every collection the client may list, the identifiers it sees, bound to the path parameter of
the record paths under it, in a config schemathesis itself accepts."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fuzz_api(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("fuzz_api", ROOT / ".ci" / "fuzz_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "REPORTS", tmp_path)
    return module


SCHEMA = {
    "paths": {
        "/api/v1/towns/": {"get": {}},
        "/api/v1/towns/{slug}/": {"get": {}},
        "/api/v1/towns/{slug}/profile/": {"get": {}},
        "/api/v1/ways-of-life/": {"get": {}},
        "/api/v1/ways-of-life/{id}/": {"get": {}, "delete": {}},
        # No list to read identifiers from: left to schemathesis.
        "/api/v1/my-revisions/{id}/": {"get": {}},
        # A list that shows no identifier to this client.
        "/api/v1/persons/": {"get": {}},
        "/api/v1/persons/{id}/": {"get": {}},
    }
}
LISTS = {
    "/api/v1/towns/": {"results": [{"slug": "olshany"}, {"slug": "turau"}]},
    "/api/v1/ways-of-life/": [{"id": 7}, {"id": 3}],
    "/api/v1/persons/": {"results": []},
}


def test_seeded_config_binds_what_each_collection_shows(fuzz_api):
    asked = []

    def get_json(url, headers):
        asked.append((url, headers))
        path = url.removeprefix("http://atlas").split("?")[0]
        return SCHEMA if path == "/api/v1/schema/" else LISTS[path]

    fuzz_api._get_json = get_json
    path = fuzz_api.seeded_config("http://atlas", {"Authorization": "Token k"}, "partner")
    text = path.read_text()
    config = tomllib.loads(text)
    assert config["dictionaries"] == {
        "towns": {"values": ["olshany", "turau"]},
        "ways-of-life": {"values": [3, 7]},
    }
    bindings = {op["include-path-regex"]: op["parameters"] for op in config["operations"]}
    assert bindings == {
        r"^/api/v1/towns/\{slug\}": {"path.slug": {"dictionary": "towns", "probability": 0.5}},
        r"^/api/v1/ways\-of\-life/\{id\}": {
            "path.id": {"dictionary": "ways-of-life", "probability": 0.5}
        },
    }
    # The CI settings are kept, and the client's credentials were used to list.
    assert config["checks"]["positive_data_acceptance"]["expected-statuses"]
    assert all(headers == {"Authorization": "Token k"} for _url, headers in asked)
    # schemathesis itself accepts the file.
    SchemathesisConfig.from_str(text)
