"""The home page lists towns with search and region filter; a town page shows what is known."""

import pytest
from django.urls import reverse

from towns.models import Town

pytestmark = pytest.mark.django_db


def test_home_lists_towns_with_count_and_credit(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.get(reverse("towns:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "261 towns" in body
    assert "GeoNames" in body
    assert "CC BY 4.0" in body


def test_home_region_filter(client):
    response = client.get(reverse("towns:home"), {"region": "brest"})
    towns = response.context["page"].paginator.object_list
    assert towns.count() == Town.objects.filter(region__code="01").count()
    assert {t.region.code for t in response.context["page"]} == {"01"}


def test_home_ignores_unknown_kind_and_bad_page(client):
    response = client.get(reverse("towns:home"), {"kind": "<script>", "page": "zzz"})
    assert response.status_code == 200
    assert response.context["kind"] == ""


def test_home_sorted_by_population(client):
    response = client.get(reverse("towns:home"), {"order": "-population"})
    first = response.context["page"].object_list[0]
    assert first.name_en == "Minsk"


def test_town_page_shows_names_and_population_source(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        response = client.get(reverse("towns:detail", kwargs={"slug": "olshany"}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Альшаны" in body
    assert "Ольшаны" in body
    assert "7444" in body
    assert "2019 census" in body


def test_unknown_town_is_404(client):
    response = client.get(reverse("towns:detail", kwargs={"slug": "atlantis"}))
    assert response.status_code == 404


def test_pages_exist_in_belarusian_and_russian(client):
    for prefix in ("/be/", "/ru/"):
        response = client.get(prefix)
        assert response.status_code == 200
        assert response["Content-Language"] == prefix.strip("/")


def test_town_name_follows_the_language(client):
    response = client.get("/ru/towns/hlybokaye/")
    assert "<h1>Глубокое" in response.content.decode()


def test_town_page_queries_do_not_grow_with_the_data(client):
    """A case town full of research data costs the same queries as a bare one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for slug in ("pastavy", "hlybokaye", "indura"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("towns:detail", kwargs={"slug": slug})).status_code == 200
        counts[slug] = len(ctx.captured_queries)
    # Two data-rich towns cost the same; a bare town less (empty lists skip their prefetches).
    assert counts["pastavy"] == counts["hlybokaye"], counts
    assert counts["indura"] <= counts["pastavy"], counts


def test_town_page_shows_every_section_with_its_data(client):
    body = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"})).content.decode()
    for heading in (
        "Who governs",
        "What is governed",
        "The gap",
        "Civil society",
        "Strategy advice",
    ):
        assert heading in body
    assert "Our own: quasi-community" in body
    assert "synthetic" in body


def test_anonymous_town_page_names_no_fictional_person(client):
    from towns.models import Person

    body = client.get(reverse("towns:detail", kwargs={"slug": "hlybokaye"})).content.decode()
    for name in Person.objects.values_list("name_en", flat=True):
        assert name not in body
