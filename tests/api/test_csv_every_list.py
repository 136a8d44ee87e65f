"""CSV for every list of the API (issue 6): each list endpoint of the API root answers
``?format=csv`` with the same records, the same page and the same columns as its JSON, for the
public and for a researcher (so the CSV carries exactly what the viewer may see)."""

from __future__ import annotations

import csv
import io

import pytest

from governance.api.renderers import flatten

pytestmark = pytest.mark.django_db

ROOT = "/api/v1/"
# Root entries that are documents, not paginated lists: the schema and its docs, the GeoJSON of
# the towns and the whole-atlas exports (Popolo JSON, Data Package zip).
NOT_LISTS = {"schema", "docs", "towns.geojson", "popolo.json", "datapackage.zip", "changes"}


def list_paths(client) -> dict[str, str]:
    links = client.get(ROOT).json()
    return {
        name: url.split("testserver", 1)[-1] for name, url in links.items() if name not in NOT_LISTS
    }


def identity(row: dict) -> str:
    for key in ("id", "slug", "code"):
        if key in row:
            return str(row[key])
    raise AssertionError(f"no identity column in {sorted(row)}")


def test_the_root_lists_every_resource_of_the_issue(client):
    expected = {
        "regions", "districts", "towns", "sources", "persons", "posts", "appointments",
        "influence-groups", "ties", "indicators", "indicator-values", "activities", "csos",
        "cso-links", "cooperation-cases",
    }  # fmt: skip
    assert expected <= set(list_paths(client))


@pytest.mark.parametrize("who", ["anonymous", "researcher"])
def test_every_list_answers_csv_with_the_rows_and_columns_of_its_json(personas, who):
    client = personas[who].api_client()
    paths = list_paths(client)
    if who == "anonymous":
        # A writer's own revisions need a signed-in user or a token (401 otherwise).
        assert client.get(paths.pop("my-revisions")).status_code == 401
    assert len(paths) >= 15
    nonempty = 0
    for name, path in sorted(paths.items()):
        params = {"page_size": 25}
        body = client.get(path, params)
        assert body.status_code == 200, (name, body.status_code)
        results = body.json()["results"]
        response = client.get(path, {**params, "format": "csv"})
        assert response.status_code == 200, (name, response.content[:200])
        assert response["Content-Type"].startswith("text/csv"), name
        assert response["X-Total-Count"] == str(body.json()["count"]), name
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
        assert [identity(r) for r in rows] == [identity(r) for r in results], name
        columns = {}
        for record in results:
            columns.update(dict.fromkeys(flatten(record)))
        if rows:
            nonempty += 1
            assert list(rows[0]) == list(columns), name  # the viewer's columns, no more
    assert nonempty >= 12  # the demo data fills (almost) every list
