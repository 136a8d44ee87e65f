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


def rendered(towns) -> dict:
    return json.loads(TownGeoJSONRenderer().render(town_features_rendered(towns)))


def test_every_town_has_its_kept_feature_and_it_follows_every_write():
    """The features kept by PostgreSQL (TownMapFeature) follow an edit of a town, a new town,
    a renamed region or district and a deletion, whichever way they are written."""
    from django.db import connection

    from towns.models import Region, TownMapFeature

    towns = Town.objects.select_related("region", "district").order_by("name_en", "pk")
    assert TownMapFeature.objects.count() == Town.objects.count() > 200
    town = Town.objects.filter(district__isnull=False).order_by("pk").first()
    Town.objects.filter(pk=town.pk).update(name_en="Kept-Feature-Check", population=4321)
    region = Region.objects.get(pk=town.region_id)
    region.slug = "renamed-region"
    region.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE towns_district SET slug = 'renamed-district' WHERE id = %s", [town.district_id]
        )
    Town.objects.create(
        slug="kept-new-town", name_en="Kept New", region=region, latitude=52.1, longitude=27.3
    )
    gone = Town.objects.create(
        slug="kept-gone-town", name_en="Kept Gone", region=region, latitude=53, longitude=28
    )
    assert TownMapFeature.objects.filter(town_id=gone.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM towns_town WHERE id = %s", [gone.pk])
    assert not TownMapFeature.objects.filter(town_id=gone.pk).exists()
    written = rendered(towns)
    assert written == town_features(towns)  # as the Python writer gives it, every town
    by_id = {f["id"]: f for f in written["features"]}
    properties = by_id[town.slug]["properties"]
    assert properties["name_en"] == "Kept-Feature-Check" and properties["population"] == 4321
    assert (properties["region"], properties["district"]) == ("renamed-region", "renamed-district")
    assert by_id["kept-new-town"]["geometry"]["coordinates"] == [27.3, 52.1]
    assert gone.slug not in by_id


def test_a_town_without_a_kept_feature_is_still_on_the_map():
    from towns.models import TownMapFeature

    towns = Town.objects.select_related("region", "district").order_by("name_en", "pk")
    TownMapFeature.objects.filter(town__in=towns[:5]).delete()
    assert rendered(towns) == town_features(towns)


def test_the_maps_etag_follows_its_features():
    """The map's tag (governance.api.etag) over the kept texts: a 304 while nothing changed, a
    new tag once one town's feature did."""
    client = Client()
    first = client.get("/api/v1/towns.geojson", secure=True)
    etag = first["ETag"]
    assert etag.startswith('W/"')
    again = client.get("/api/v1/towns.geojson", secure=True, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    town = Town.objects.order_by("pk").last()
    Town.objects.filter(pk=town.pk).update(population=(town.population or 0) + 1)
    changed = client.get("/api/v1/towns.geojson", secure=True, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
