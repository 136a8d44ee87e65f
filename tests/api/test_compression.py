"""API answers are gzip-compressed; pages with CSRF tokens never are (BREACH, issue 18)."""

import gzip
import json

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["json", "csv", "geojson"])
def test_api_lists_are_compressed_when_asked(fmt):
    response = Client().get(
        "/api/v1/towns/", {"format": fmt, "page_size": 100}, HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    body = gzip.decompress(response.content)
    assert len(response.content) < len(body) / 2
    if fmt != "csv":
        json.loads(body)


def test_the_schema_is_compressed_too():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT_ENCODING="gzip")
    assert schema["Content-Encoding"] == "gzip"
    assert b"openapi" in gzip.decompress(schema.content)


def test_nothing_is_compressed_without_accept_encoding():
    assert not Client().get("/api/v1/towns/").has_header("Content-Encoding")


@pytest.mark.parametrize("path", ["/", "/csos/?search=abc", "/towns/olshany/"])
def test_pages_are_never_compressed(path):
    response = Client().get(path, HTTP_ACCEPT_ENCODING="gzip")
    assert not response.has_header("Content-Encoding")


def test_api_answers_to_a_session_are_not_compressed():
    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    client.cookies[settings.SESSION_COOKIE_NAME] = "anything"
    assert not client.get("/api/v1/towns/").has_header("Content-Encoding")
