"""Paginated answers carry RFC 8288 Link headers in every format, never a credential (issue 18)."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import resolve

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<([^>]*)>; rel="([a-z]+)"')


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.get("Link", ""))}


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (path, fmt)
        for path in ("/api/v1/towns/", "/api/v1/regions/", "/api/v1/csos/")
        for fmt in ("json", "csv")
    ]
    + [("/api/v1/towns/", "geojson")],  # GeoJSON is a format of the town list only
)
def test_every_paginated_format_has_link_and_total(path, fmt):
    response = Client().get(path, {"page_size": 2, "format": fmt})
    assert response.status_code == 200, response.content[:200]
    found = links(response)
    assert "next" in found and "first" in found, response.get("Link")
    assert int(response["X-Total-Count"]) > 2
    follow = Client().get(found["next"])
    assert follow.status_code == 200
    assert "prev" in links(follow)


@pytest.mark.parametrize("param", ["token", "access_token", "api_key", "key", "Token"])
def test_a_credential_in_the_query_string_is_never_echoed(param):
    secret = "s3cr3t-value-0123456789"
    for fmt in ("json", "csv"):
        response = Client().get("/api/v1/towns/", {"page_size": 2, param: secret, "format": fmt})
        assert response.status_code == 200
        assert secret not in response.get("Link", "")
        assert secret not in response.content.decode()
    assert secret not in str(
        Client().get("/api/v1/regions/", {param: secret, "page_size": 1}).json()
    )


@pytest.mark.parametrize("path", ["/api/v1/towns/", "/api/v1/regions/"])
@pytest.mark.parametrize("size", ["abc", "0", "-3", "1.5"])
def test_an_invalid_page_size_is_a_400_not_the_default(path, size):
    response = Client().get(path, {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_the_api_root_lists_the_whole_dataset_formats_and_the_schema():
    root = Client().get("/api/v1/").json()
    for key in ("towns.geojson", "popolo.json", "datapackage.zip", "schema", "towns", "csos"):
        assert key in root, key
        resolve(urlsplit(root[key]).path)  # a route of the atlas (not fetched: exports are big)


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "TRUE1"])
def test_an_invalid_boolean_filter_is_a_400_not_ignored(value):
    response = Client().get("/api/v1/towns/", {"is_synthetic": value})
    assert response.status_code == 400
    assert "is_synthetic" in response.json()["errors"]


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False), ("0", False)])
def test_valid_boolean_filters_still_filter(value, expected):
    response = Client().get("/api/v1/posts/", {"is_key": value, "page_size": 100})
    assert response.status_code == 200
    assert {post["is_key"] for post in response.json()["results"]} <= {expected}
