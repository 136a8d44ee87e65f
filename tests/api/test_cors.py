"""CORS: listed origins may call the API from a browser; others and pages get no CORS header."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PARTNER_ORIGIN = "https://tool.partner.example.org"


@pytest.fixture
def allowed():
    with override_settings(CORS_ALLOWED_ORIGINS=[PARTNER_ORIGIN]):
        yield


def test_allowed_origin_gets_the_header_on_the_api(allowed):
    response = Client().get("/api/v1/regions/", HTTP_ORIGIN=PARTNER_ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == PARTNER_ORIGIN
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_preflight_allows_the_token_header(allowed):
    response = Client().options(
        "/api/v1/towns/",
        HTTP_ORIGIN=PARTNER_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == PARTNER_ORIGIN
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_other_origin_gets_no_header(allowed):
    response = Client().get("/api/v1/regions/", HTTP_ORIGIN="https://evil.example.com")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("path", ["/", "/healthz", "/admin/login/"])
def test_pages_never_get_cors_headers(allowed, path):
    response = Client().get(path, HTTP_ORIGIN=PARTNER_ORIGIN)
    assert response.status_code in (200, 302)
    assert "Access-Control-Allow-Origin" not in response
