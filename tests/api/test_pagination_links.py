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


def _walk(start_url: str, rel: str) -> list[list[str]]:
    pages, url = [], start_url
    while url:
        response = Client().get(url)
        assert response.status_code == 200, (url, response.content[:200])
        body = response.json()
        pages.append([row["slug"] for row in body["results"]])
        url = body["next" if rel == "next" else "previous"]
        assert len(pages) < 200, "the links loop"
    return pages


@pytest.mark.parametrize(
    "ordering", ["name_en", "-population", "own_share", "-own_share,name_en", "-updated_at"]
)
def test_cursor_pages_in_every_order_cover_the_list_once(ordering):
    """Issue 18: one pagination style whatever the ordering. Every page of the town list, in
    orders with ties and empty values (population, share), followed forward by `next` and back
    by `previous`, shows each town exactly once, in the order of the whole list."""
    whole = Client().get("/api/v1/towns/", {"ordering": ordering, "page_size": 500}).json()
    expected = [row["slug"] for row in whole["results"]]
    assert whole["count"] == len(expected) > 100
    first = Client().get("/api/v1/towns/", {"ordering": ordering, "page_size": 23})
    assert "cursor=" in first.json()["next"] and "page=" not in first.json()["next"]
    forward = _walk(first.json()["next"], "next")
    flat = [r["slug"] for r in first.json()["results"]] + [s for page in forward for s in page]
    assert flat == expected
    # Back from the last page by `previous` links: the same pages, in reverse.
    back_from_end = _walk(_last_page_url(first.json()["next"]), "previous")
    flat_back = [slug for page in reversed(back_from_end) for slug in page]
    assert flat_back == expected


def _last_page_url(url: str) -> str:
    while True:
        body = Client().get(url).json()
        if not body["next"]:
            return url
        url = body["next"]


def test_a_tampered_or_foreign_cursor_is_a_404():
    page = Client().get("/api/v1/towns/", {"page_size": 5}).json()
    cursor = dict(
        part.split("=", 1) for part in urlsplit(page["next"]).query.split("&") if "=" in part
    )["cursor"]
    tampered = Client().get("/api/v1/towns/", {"cursor": cursor[:-3] + "xyz"})
    assert tampered.status_code == 404
    assert tampered["Content-Type"] == "application/problem+json"
    # A cursor names its order: reused with another ordering it is not a page of that list.
    foreign = Client().get("/api/v1/towns/", {"cursor": cursor, "ordering": "-population"})
    assert foreign.status_code == 404


def test_a_numbered_page_is_still_offered_for_random_access():
    numbered = Client().get("/api/v1/towns/", {"page": 3, "page_size": 10, "ordering": "name_en"})
    assert numbered.status_code == 200
    assert "page=4" in numbered.json()["next"]


def test_a_geojson_page_carries_its_links_and_totals():
    response = Client().get("/api/v1/towns/", {"format": "geojson", "page_size": 10})
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 10
    assert body["numberMatched"] == int(response["X-Total-Count"]) > 10
    (next_link,) = [link for link in body["links"] if link["rel"] == "next"]
    assert next_link["type"] == "application/geo+json"
    follow = Client().get(next_link["href"])
    assert follow.status_code == 200 and follow.json()["features"]
    assert {link["rel"] for link in follow.json()["links"]} == {"next", "prev"}
