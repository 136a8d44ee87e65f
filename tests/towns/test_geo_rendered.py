"""The map's GeoJSON written by PostgreSQL (issue 19) is the one the Python writer gives: same
features, members and values, in the same order, for the filters of the town list."""

import json

import pytest
from django.test import Client

from towns.geo import TownGeoJSONRenderer, town_features, town_features_rendered
from towns.models import Town

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "be"])
def test_postgresql_writes_what_python_writes(language, settings):
    from django.utils import translation

    towns = Town.objects.select_related("region", "district").order_by("name_en", "pk")
    with translation.override(language):
        expected = town_features(towns)
        body = TownGeoJSONRenderer().render(town_features_rendered(towns))
    written = json.loads(body)
    assert len(written["features"]) == Town.objects.count() > 200
    assert written == expected


def test_the_endpoint_answers_with_the_filtered_towns():
    answer = Client().get("/api/v1/towns.geojson?region=gomel", secure=True)
    assert answer.status_code == 200
    body = json.loads(answer.content)
    slugs = [f["id"] for f in body["features"]]
    expected = list(
        Town.objects.filter(region__slug="gomel")
        .order_by("name_en", "pk")
        .values_list("slug", flat=True)
    )
    assert slugs == expected and body["numberMatched"] == len(expected) > 0
