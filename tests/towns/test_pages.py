"""The public pages of places: the map home with its filters, a town's dashboard with its charts
and their data, compare, the typology overview. Every page bounds its queries."""

import csv
import io
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import translation

from towns.models import IndicatorValue, Person, Town, Typology

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """A request under /ru/ leaves Russian active in the thread, and reverse() would then
    prefix /ru/: every test starts (and ends) in English."""
    with translation.override("en"):
        yield


def map_towns(response) -> list[dict]:
    body = response.content.decode()
    match = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body)
    assert match, "the page carries its map data in a json_script element"
    return json.loads(match.group(1))["towns"]


def scripts_are_external_only(body: str) -> bool:
    """No inline script: every <script> has a src, or is JSON data (json_script)."""
    for tag, content in re.findall(r"(<script[^>]*>)(.*?)</script>", body, flags=re.S):
        if "src=" not in tag and 'type="application/json"' not in tag:
            return False
        if "src=" in tag and content.strip():
            return False
    return True


# --- Map home --------------------------------------------------------------------------------


def test_home_lists_towns_with_count_and_credit(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.get(reverse("towns:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Towns shown: 261" in body
    assert "GeoNames" in body
    assert "CC BY 4.0" in body
    assert "Natural Earth" in body


def test_home_map_data_has_every_town_with_typology_colour(client):
    towns = map_towns(client.get(reverse("towns:home")))
    assert len(towns) == Town.objects.count()
    pastavy = next(t for t in towns if t.get("slug") == "pastavy")
    assert pastavy["typology"] == Typology.QUASI_COMMUNITY
    assert pastavy["colour"] == "#56B4E9"
    assert pastavy["cso"] is True
    assert pastavy["url"] == "/towns/pastavy/"


def test_home_uses_only_vendored_assets_and_no_inline_script(client):
    response = client.get(reverse("towns:home"))
    body = response.content.decode()
    assert scripts_are_external_only(body)
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', body)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert any("vendor/leaflet-1.9.4/leaflet" in s for s in sources)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_home_region_filter(client):
    response = client.get(reverse("towns:home"), {"region": "brest"})
    towns = response.context["page"].paginator.object_list
    assert len(towns) == Town.objects.filter(region__code="01").count()
    assert {t.region.code for t in response.context["page"]} == {"01"}


def test_home_typology_and_cso_filters(client):
    response = client.get(reverse("towns:home"), {"typology": "outside_corporate"})
    slugs = {t.slug for t in response.context["page"].paginator.object_list}
    assert slugs == set(
        Town.objects.filter(typology="outside_corporate").values_list("slug", flat=True)
    )
    response = client.get(reverse("towns:home"), {"cso": "yes"})
    listed = {t.slug for t in response.context["page"].paginator.object_list}
    assert "pastavy" in listed
    assert "indura" not in listed
    assert all(t["cso"] == (t["slug"] in listed) for t in map_towns(response))


def test_home_indicator_threshold_filter_uses_the_latest_value(client):
    latest = (
        IndicatorValue.objects.filter(town=OuterRef("pk"), indicator__code="population", quarter=0)
        .order_by("-year")
        .values("value")[:1]
    )
    expected = set(
        Town.objects.annotate(latest=Subquery(latest))
        .filter(latest__gte=20000)
        .values_list("slug", flat=True)
    )
    response = client.get(
        reverse("towns:home"), {"indicator": "population", "op": "gte", "threshold": "20000"}
    )
    assert {t.slug for t in response.context["page"].paginator.object_list} == expected
    assert 0 < len(expected) < Town.objects.count()
    # The map gets every town with its value, so the script can move the threshold itself.
    assert all("value" in t for t in map_towns(response))


def test_home_rejects_a_bad_threshold_with_a_message(client):
    response = client.get(reverse("towns:home"), {"indicator": "population", "threshold": "lots"})
    assert response.status_code == 200
    assert "The threshold must be a number" in response.content.decode()
    assert len(response.context["page"].paginator.object_list) == Town.objects.count()


def test_home_ignores_unknown_kind_and_bad_page(client):
    response = client.get(reverse("towns:home"), {"kind": "<script>", "page": "zzz"})
    assert response.status_code == 200
    assert response.context["kind"] == ""


def test_home_sorted_by_population(client):
    response = client.get(reverse("towns:home"), {"order": "-population"})
    first = response.context["page"].object_list[0]
    assert first.name_en == "Minsk"


def test_home_keeps_filters_in_links(client):
    body = client.get(reverse("towns:home"), {"region": "brest", "kind": "agrotown"}).content
    assert b"region=brest&amp;kind=agrotown&amp;order=" in body


# --- Town dashboard --------------------------------------------------------------------------


def test_town_page_shows_names_and_population_source(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
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
    assert counts["pastavy"] <= 30, counts


def test_town_page_shows_every_section_with_its_data(client):
    body = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"})).content.decode()
    for heading in (
        "Who governs",
        "What is governed",
        "The gap",
        "Civil society",
        "Strategy advice",
        "Sources",
        "Downloads",
    ):
        assert heading in body
    assert "Our own: quasi-community" in body
    assert "synthetic" in body
    assert scripts_are_external_only(body)


def test_town_page_has_charts_with_data_tables_and_csv(client):
    response = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"}))
    body = response.content.decode()
    for key in ("balance", "activities", "indicator-population"):
        assert f'<canvas id="chart-{key}" data-chart="chart-{key}-data"' in body
        assert f'<script id="chart-{key}-data" type="application/json">' in body
        assert reverse("towns:chart-csv", kwargs={"slug": "pastavy", "key": key}) in body
    assert 'data-network="network-data"' in body
    assert "/api/v1/towns/pastavy/profile" in body
    summaries = response.context["indicator_summaries"]
    population = next(s for s in summaries if s.row.indicator.code == "population")
    assert population.median is not None
    assert population.trend in {"improving", "worsening", "stable"}


def test_chart_csv_has_the_series_and_the_regional_median(client):
    url = reverse("towns:chart-csv", kwargs={"slug": "pastavy", "key": "indicator-population"})
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Year", "Pastavy", "Regional median"]
    values = dict(
        IndicatorValue.objects.filter(
            town__slug="pastavy", indicator__code="population", quarter=0
        ).values_list("year", "value")
    )
    assert {int(r[0]): float(r[1]) for r in rows[1:]} == {y: float(v) for y, v in values.items()}


def test_chart_csv_of_unknown_chart_is_404(client):
    for key in ("nothing", "indicator-nothing"):
        url = reverse("towns:chart-csv", kwargs={"slug": "pastavy", "key": key})
        assert client.get(url).status_code == 404


def test_anonymous_town_page_names_no_fictional_person(client):
    for slug in ("hlybokaye", "pastavy"):
        body = client.get(reverse("towns:detail", kwargs={"slug": slug})).content.decode()
        for name in Person.objects.values_list("name_en", flat=True):
            assert name not in body
        for url in ("appointments", "balance"):
            csv_body = client.get(
                reverse("towns:chart-csv", kwargs={"slug": slug, "key": url})
            ).content.decode()
            for name in Person.objects.values_list("name_en", flat=True):
                assert name not in csv_body


def test_researcher_sees_names_in_the_network_and_timeline(client, django_user_model):
    user = django_user_model.objects.create_user(username="res", password="x-long-password-1")
    user.groups.add(Group.objects.get_or_create(name="researcher")[0])
    client.force_login(user)
    response = client.get(reverse("towns:detail", kwargs={"slug": "hlybokaye"}))
    labels = [n["data"]["label"] for n in response.context["network"]["nodes"]]
    assert any("Fictional" in label for label in labels)
    assert any("Fictional" in str(row[1]) for row in response.context["appointments_chart"].rows)


# --- Compare ---------------------------------------------------------------------------------


def test_compare_three_towns_side_by_side(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        response = client.get(reverse("towns:compare"), {"towns": "pastavy,hlybokaye,olshany"})
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("Pastavy", "Hlybokaye", "Olshany"):
        assert name in body
    population = next(c for c in response.context["charts"] if c.key == "indicator-population")
    assert population.columns[1:] == ["Pastavy", "Hlybokaye", "Olshany"]
    assert scripts_are_external_only(body)


@pytest.mark.parametrize(
    ("towns", "message"),
    [
        ("pastavy", "Choose between 2 and 4 different towns"),
        ("pastavy,pastavy", "Choose between 2 and 4 different towns"),
        ("pastavy,hlybokaye,olshany,indura,lida", "Choose between 2 and 4 different towns"),
        ("pastavy,atlantis", "Unknown town: atlantis."),
    ],
)
def test_compare_explains_bad_choices(client, towns, message):
    response = client.get(reverse("towns:compare"), {"towns": towns})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_compare_csv(client):
    url = reverse("towns:compare-csv", kwargs={"key": "balance"})
    response = client.get(url, {"towns": "pastavy,olshany"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Town", "Our own", "Aliens"]
    assert [r[0] for r in rows[1:]] == ["Pastavy", "Olshany"]
    assert client.get(url, {"towns": "pastavy"}).status_code == 404


# --- Typology --------------------------------------------------------------------------------


def test_typology_overview_counts_every_town(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get(reverse("towns:typology"))
    assert response.status_code == 200
    groups = response.context["groups"]
    assert sum(len(g["towns"]) for g in groups) == Town.objects.count()
    body = response.content.decode()
    ecclesial = next(g for g in groups if g["value"] == Typology.ECCLESIAL)
    assert [t.slug for t in ecclesial["towns"]] == ["olshany"]
    assert "quasi-community of people who worked together" in body
    assert len(map_towns(response)) == Town.objects.count()
