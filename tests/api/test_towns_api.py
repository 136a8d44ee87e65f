"""The API skeleton: regions and towns, filters, search, ordering, pagination, schema."""

import pytest
import yaml
from django.core.management import call_command

from towns.models import Town

pytestmark = pytest.mark.django_db


def test_api_root_lists_resources_and_docs(client):
    body = client.get("/api/v1/").json()
    assert body["towns"].endswith("/api/v1/towns/")
    assert body["regions"].endswith("/api/v1/regions/")
    assert body["schema"].endswith("/api/v1/schema/")


def test_regions_list(client):
    body = client.get("/api/v1/regions/").json()
    assert body["count"] == 7
    assert body["results"][0] == {
        "code": "01",
        "slug": "brest",
        "name_en": "Brest Region",
        "name_be": "Брэсцкая вобласць",
        "name_ru": "Брестская область",
        "version": 1,
    }


def test_towns_list_is_paginated_with_bounded_queries(client, django_assert_max_num_queries):
    # The data state, the count, the page, and the request's rate count.
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/towns/", {"page_size": 100}).json()
    assert body["count"] == 261
    assert len(body["results"]) == 100
    assert body["next"]


def test_page_size_is_capped(client):
    body = client.get("/api/v1/towns/", {"page_size": 100000}).json()
    assert len(body["results"]) == 261  # below the cap of 500


def test_filter_by_region_and_kind(client):
    body = client.get("/api/v1/towns/", {"region": "vitebsk", "kind": "district_centre"}).json()
    expected = Town.objects.filter(region__slug="vitebsk", kind="district_centre").count()
    assert body["count"] == expected > 0
    assert {t["region"] for t in body["results"]} == {"vitebsk"}


def test_invalid_filter_value_is_a_400_with_field_errors(client):
    response = client.get("/api/v1/towns/", {"kind": "castle"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def test_ordering_by_population(client):
    body = client.get("/api/v1/towns/", {"ordering": "-population"}).json()
    pops = [t["population"] for t in body["results"]]
    assert pops == sorted(pops, reverse=True)
    assert body["results"][0]["name_en"] == "Minsk"


def test_town_detail_and_404(client):
    assert client.get("/api/v1/towns/olshany/").json()["name_ru"] == "Ольшаны"
    response = client.get("/api/v1/towns/atlantis/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
    assert response.json()["type"] == "/api/problems/not-found"


def test_api_is_read_only(client):
    assert client.post("/api/v1/towns/", {}).status_code in (403, 405)


def test_schema_is_valid_openapi_3(client, tmp_path):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/towns/" in schema["paths"]
    assert "/api/v1/towns/{slug}/" in schema["paths"]
    # drf-spectacular validates against the OpenAPI 3 JSON schema and fails on any warning.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def test_docs_page_works_offline(client):
    body = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()
