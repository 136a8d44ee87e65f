"""Queries per request stay constant as the data grows: the same count with 200 and with 2,000
synthetic towns (csos.scale.make_towns) beside the demo data, for every API list and the main
details, the profile and series, the GeoJSON map data and every public page, at the public and
the research level. The read cache is off so that every request builds its answer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from csos.models import CSO
from csos.scale import make_towns
from tests.api.test_filters import LISTS  # every list resource of the API
from towns.models import Indicator, Town

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def urls() -> list[str]:
    town = Town.objects.get(slug="pastavy")
    cso = CSO.objects.filter(deleted_at=None).order_by("pk").first()
    codes = list(Indicator.objects.order_by("code").values_list("code", flat=True)[:10])
    series = "&".join(f"indicator={code}" for code in codes)
    return [
        *(f"{API}{name}/?page_size=50" for name in LISTS),
        f"{API}towns/?page_size=50&ordering=population&page=3",
        f"{API}towns/?search=Пастав&page_size=50",
        f"{API}towns/{town.slug}/",
        f"{API}towns/{town.slug}/profile/",
        f"{API}towns/{town.slug}/indicators/?{series}",
        f"{API}towns.geojson",
        "/",
        "/typology/",
        f"/towns/{town.slug}/",
        "/compare/?towns=pastavy,hlybokaye,turau",
        "/csos/",
        f"/csos/{cso.slug}/",
    ]


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@override_settings(READ_CACHE_TIMEOUT=0)
def test_queries_per_request_do_not_grow_from_200_to_2000_towns(personas):
    viewers = {
        "anonymous": Client(),
        "researcher": personas["researcher"].api_client(),
    }
    make_towns(200)
    assert Town.objects.filter(is_synthetic=True).count() >= 200
    targets = urls()
    small = {(who, url): count(client, url) for who, client in viewers.items() for url in targets}
    make_towns(2000)
    assert Town.objects.filter(is_synthetic=True).count() >= 2000
    large = {(who, url): count(client, url) for who, client in viewers.items() for url in targets}
    grown = {key: (small[key], large[key]) for key in small if large[key] != small[key]}
    assert not grown, f"queries grew with the data (200 → 2,000 towns): {grown}"
