"""Deprecation and sunset of API fields are announced in headers and the schema (issue 18)."""

import datetime
from email.utils import parsedate_to_datetime

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

GOING = [
    {
        "path": r"^/api/v1/towns/",
        "component": "Town",
        "field": "alternate_names",
        "parameter": "population_min",
        "deprecated": "2026-12-01",
        "sunset": "2027-06-01",
    }
]


def test_nothing_is_deprecated_today():
    response = Client().get("/api/v1/towns/", {"page_size": 1})
    assert "Deprecation" not in response and "Sunset" not in response


@override_settings(API_DEPRECATIONS=GOING)
def test_a_deprecated_field_is_announced_in_headers_and_schema():
    response = Client().get("/api/v1/towns/", {"page_size": 1})
    assert response.status_code == 200
    deprecated = datetime.datetime.fromtimestamp(
        int(response["Deprecation"].removeprefix("@")), datetime.UTC
    )
    assert deprecated.date() == datetime.date(2026, 12, 1)
    assert parsedate_to_datetime(response["Sunset"]).date() == datetime.date(2027, 6, 1)
    # Beside the pagination links, not instead of them.
    assert 'rel="next"' in response["Link"] and 'rel="deprecation"' in response["Link"]
    assert "Deprecation" not in Client().get("/api/v1/regions/")
    schema = Client().get("/api/v1/schema/", {"format": "json"}).json()
    assert schema["components"]["schemas"]["Town"]["properties"]["alternate_names"]["deprecated"]
    parameters = schema["paths"]["/api/v1/towns/"]["get"]["parameters"]
    assert next(p for p in parameters if p["name"] == "population_min")["deprecated"] is True
