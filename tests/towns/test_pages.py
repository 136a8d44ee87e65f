"""The public pages of places: the map home with its filters, a town's dashboard with its charts
and their data, compare, the typology overview. Every page bounds its queries."""

import csv
import io
import itertools
import json
import math
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from towns import pages
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
    # 32, and 2 of issue 16: the research settings and the demonstration-data banner; 17 of
    # issue 17's society sections and issue 20's summary: one query per table (mechanisms with
    # their four lists and sources, observations, events, ways of life, meeting places, each
    # with its sources, the region's ways of life), a constant that does not grow with records.
    # 4 of issue 19's kept dashboards: the lookup, and the row kept by this first reader (a
    # savepoint, the insert, its release); 2 of the store's bounded lock wait (the setting,
    # and, inside the test's transaction, putting it back: towns.kept.STORE_LOCK_WAIT).
    with django_assert_max_num_queries(57):
        response = client.get(reverse("towns:detail", kwargs={"slug": "olshany"}))
    body = response.content.decode()
    assert response.status_code == 200
    # The next reader gets the cached page or the kept dashboard, the same bytes
    # (tests/towns/test_kept_dashboards.py holds the kept one alone, with the read cache off).
    with django_assert_max_num_queries(4):
        again = client.get(reverse("towns:detail", kwargs={"slug": "olshany"}))
    assert again.content == response.content
    assert "Альшаны" in body
    assert "Ольшаны" in body
    assert "7,444" in body  # grouped as the page's language writes numbers
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


def test_town_page_queries_do_not_grow_with_the_data(client, settings):
    """A case town full of research data costs the same queries as a bare one, when the page
    is rendered (the read cache and the kept dashboards off: tests/towns/test_kept_dashboards.py
    holds a kept one to a few queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.READ_CACHE_TIMEOUT = 0
    settings.KEPT_PROFILES = False

    counts = {}
    # The banner's probe is reused while the data is unchanged: warm it so each town pays alike.
    client.get(reverse("towns:detail", kwargs={"slug": "indura"}))
    for slug in ("pastavy", "hlybokaye", "indura"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("towns:detail", kwargs={"slug": slug})).status_code == 200
        counts[slug] = len(ctx.captured_queries)
    # Two data-rich towns cost the same; a bare town less (empty lists skip their prefetches).
    assert counts["pastavy"] == counts["hlybokaye"], counts
    assert counts["indura"] <= counts["pastavy"], counts
    # 32, the research settings and the banner (34 cold), and issue 17's society sections: one
    # query per table with records, not per record (indura has none, so skips them).
    assert counts["pastavy"] <= 51, counts


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
    assert 'data-network="chart-network-data"' in body
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
    assert rows[0] == ["Year", "Pastavy", "Regional median", "derived_from_synthetic"]
    assert {r[-1] for r in rows[1:]} == {"true"}  # the demo's indicator values are generated
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
    # 35, the research settings of each of the three profiles and the banner; +2 of issues
    # 17/20 (the summaries' society evidence), a constant per page, not per record.
    with django_assert_max_num_queries(41):
        response = client.get(reverse("towns:compare"), {"towns": "pastavy,hlybokaye,olshany"})
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("Pastavy", "Hlybokaye", "Olshany"):
        assert name in body
    population = next(c for c in response.context["charts"] if c.key == "indicator-population")
    assert population.columns[1:] == ["Pastavy", "Hlybokaye", "Olshany"]
    assert scripts_are_external_only(body)


def test_compare_draws_each_towns_gauge_and_networks_with_their_tables(client):
    response = client.get(reverse("towns:compare"), {"towns": "pastavy,hlybokaye,olshany"})
    assert response.status_code == 200
    body = response.content.decode()
    columns = response.context["columns"]
    assert [p.town.slug for p, _g, _n in columns] == ["pastavy", "hlybokaye", "olshany"]
    for profile, gauge, network in columns:
        slug = profile.town.slug
        # The gauge and the graph of each town, each with its data table and its CSV.
        assert f'id="chart-balance-{slug}"' in body
        assert gauge.rows[0][0] == "Our own"
        if network.drawable:
            assert f'data-network="chart-network-{slug}-data"' in body
            assert network.rows, slug
        assert f"/towns/{slug}/data/network.csv" in body
        assert f"/towns/{slug}/data/balance.csv" in body
        # The civil-society column: the CSO network, from the csos app's panel.
        assert f'data-compare-csos="{slug}"' in body
        assert f"/towns/{slug}/data/csos.csv" in body
    assert any(network.drawable for _p, _g, network in columns)
    assert body.count("<figure") == body.count('class="chart-table"')  # a table per chart
    activities = response.context["activities_chart"]
    assert [row[0] for row in activities.rows] == ["Pastavy", "Hlybokaye", "Olshany"]
    assert scripts_are_external_only(body)


def test_compare_queries_grow_with_the_towns_not_with_the_data(client):
    """Each town costs its profile and its networks; nothing grows with the rows behind them."""
    counts = {}
    for towns in ("pastavy,hlybokaye", "pastavy,hlybokaye,olshany,turau"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("towns:compare"), {"towns": towns}).status_code == 200
        counts[towns.count(",") + 1] = len(queries)
    per_town = (counts[4] - counts[2]) / 2
    # measured: 8 (a profile, a network, a CSO network), 1 for the research settings
    assert per_town <= 11, counts
    assert counts[2] <= 31, counts  # measured: 22, 3 of issue 16 (settings ×2, banner)


def test_compare_csv_of_every_chart(client):
    towns = {"towns": "pastavy,olshany"}
    for key in ("activities", "balance-olshany", "network-pastavy", "indicator-population"):
        response = client.get(reverse("towns:compare-csv", kwargs={"key": key}), towns)
        assert response.status_code == 200, key
        assert response["Content-Type"].startswith("text/csv")
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("towns:compare-csv", kwargs={"key": "activities"}), towns
                ).content.decode()
            )
        )
    )
    assert rows[0] == [
        "Town",
        "Covered by the indicators",
        "In the gap (neither permitted nor forbidden)",
        "Forbidden",
        "derived_from_synthetic",
    ]
    assert [r[0] for r in rows[1:]] == ["Pastavy", "Olshany"]


def test_town_network_and_cso_network_csv(client):
    network = client.get(reverse("towns:chart-csv", kwargs={"slug": "pastavy", "key": "network"}))
    rows = list(csv.reader(io.StringIO(network.content.decode())))
    assert rows[0] == ["From", "To", "Link", "derived_from_synthetic"]
    assert len(rows) > 1
    csos = client.get(reverse("towns:chart-csv", kwargs={"slug": "pastavy", "key": "csos"}))
    assert csos.status_code == 200
    rows = list(csv.reader(io.StringIO(csos.content.decode())))
    assert rows[0] == ["Organisation", "Linked with", "Link", "derived_from_synthetic"]
    assert len(rows) > 1


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
    assert rows[0] == ["Town", "Our own", "Aliens", "derived_from_synthetic"]
    assert [r[0] for r in rows[1:]] == ["Pastavy", "Olshany"]
    assert client.get(url, {"towns": "pastavy"}).status_code == 404


# --- Typology --------------------------------------------------------------------------------


def test_typology_overview_counts_every_town(client, django_assert_max_num_queries):
    # 3, and 1 for the demonstration-data banner (towns.context_processors).
    with django_assert_max_num_queries(4):
        response = client.get(reverse("towns:typology"))
    assert response.status_code == 200
    groups = response.context["groups"]
    assert sum(len(g["towns"]) for g in groups) == Town.objects.count()
    body = response.content.decode()
    ecclesial = next(g for g in groups if g["value"] == Typology.ECCLESIAL)
    assert [t.slug for t in ecclesial["towns"]] == ["olshany"]
    assert "quasi-community of people who worked together" in body
    assert len(map_towns(response)) == Town.objects.count()


# --- Colour, shape and the tile layer ---------------------------------------------------------

# Machado, Oliveira & Fernandes (2009) simulation matrices (severity 1.0) in linear RGB.
DICHROMACY = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def _lab(colour: str, matrix) -> tuple[float, float, float]:
    """CIELAB (D65) of ``colour`` as seen through ``matrix``."""

    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = [linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]
    r, g, b = (
        min(1.0, max(0.0, sum(m * v for m, v in zip(row, rgb, strict=True)))) for row in matrix
    )
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


@pytest.mark.parametrize("deficiency", DICHROMACY)
def test_typology_colours_stay_apart_under_colour_blindness(deficiency):
    """Every two types differ by at least ΔE 15 (CIE76) for a dichromat: clearly apart."""
    matrix = DICHROMACY[deficiency]
    labs = {t: _lab(c, matrix) for t, c in pages.TYPOLOGY_COLOURS.items()}
    closest = min((math.dist(labs[a], labs[b]), a, b) for a, b in itertools.combinations(labs, 2))
    assert closest[0] >= 15, closest


def test_typology_is_told_by_shape_as_well_as_colour(client):
    assert set(pages.TYPOLOGY_SHAPES) == set(Typology.values)
    assert len(set(pages.TYPOLOGY_SHAPES.values())) == len(Typology.values)
    response = client.get(reverse("towns:home"))
    legend = response.context["legend"]
    assert len({item["svg"] for item in legend}) == len(Typology.values)
    body = response.content.decode()
    for item in legend:
        assert item["svg"] in body  # drawn in the legend beside the map
    towns = map_towns(response)
    assert {t["shape"] for t in towns} <= set(pages.TYPOLOGY_SHAPES.values())
    data = json.loads(
        re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body).group(1)
    )
    assert set(data["shapes"]) == set(pages.SHAPE_SVG)
    # The accessible names of the markers and clusters are translatable templates.
    assert "{name}" in data["labels"]["marker"] and "{typology}" in data["labels"]["marker"]
    assert "{n}" in data["labels"]["cluster"]


def _map_data(response) -> dict:
    body = response.content.decode()
    match = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body)
    return json.loads(match.group(1))


@override_settings(MAP_TILE_URL="", MAP_TILE_ATTRIBUTION="")
def test_map_has_no_tile_layer_unless_configured(client):
    for name in ("towns:home", "towns:typology"):
        data = _map_data(client.get(reverse(name)))
        assert data["tiles"] is None
        assert data["outline"].endswith(".geojson")


@override_settings(
    MAP_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png",
    MAP_TILE_ATTRIBUTION="© Example tiles contributors",
)
def test_map_tile_layer_comes_with_its_attribution(client):
    data = _map_data(client.get(reverse("towns:home")))
    assert data["tiles"] == {
        "url": "https://tiles.example.org/{z}/{x}/{y}.png",
        "attribution": "© Example tiles contributors",
    }
