"""The benchmark's peers serve the same rows as the atlas, and only public ones.

These run in CI without wrk, gunicorn or Datasette: the json_agg peer views are called
directly, and the SQLite mirror is exported to a temporary file and read with ``sqlite3``.
"""

import json
import sqlite3
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone

from bench import mirror, peers
from bench.middleware import HEADER, QueryCountMiddleware
from csos.models import CSO, CSOLink
from governance.access import AccessLevel, PublicationState
from governance.redaction import sensitive_fields
from towns.models import Activity, Indicator, IndicatorValue, Influence, InfluenceGroup, Town
from towns.profile import active_on

pytestmark = pytest.mark.django_db

# Mirror table -> model whose public rows it holds.
RESEARCH_TABLES = {
    "indicator_values": IndicatorValue,
    "influence_groups": InfluenceGroup,
    "influences": Influence,
    "activities": Activity,
    "csos": CSO,
}


def peer_json(view, path, **kwargs):
    response = view(RequestFactory().get(path), **kwargs)
    assert response.status_code == 200
    return json.loads(response.content)


def names(rows):
    return [(row["slug"], row["name_en"], row["name_be"], row["name_ru"]) for row in rows]


def test_peer_page_has_the_api_page_towns(client):
    api = client.get("/api/v1/towns/", {"page": 2, "page_size": 50}).json()
    peer = peer_json(peers.town_page, "/bench-peer/towns/?page=2&page_size=50")
    assert len(api["results"]) == 50
    assert names(peer["results"]) == names(api["results"])
    assert peer["count"] == api["count"] == Town.objects.count()


def test_peer_search_and_filters_match_the_api(client):
    query = {"search": "глуб", "region": "vitebsk", "population_min": 1000}
    api = client.get("/api/v1/towns/", query).json()
    path = "/bench-peer/towns/?search=глуб&region=vitebsk&population_min=1000"
    peer = peer_json(peers.town_page, path)
    assert api["results"], "the demo data has Hlybokaye (Глубокое) in Vitebsk region"
    assert names(peer["results"]) == names(api["results"])
    assert peer["count"] == api["count"]


def test_peer_series_has_the_api_values(client):
    town = Town.objects.get(slug="hlybokaye")
    codes = ["population", "industrial_enterprises"]
    api = client.get(f"/api/v1/towns/{town.slug}/indicators/", {"indicator": codes}).json()
    path = f"/bench-peer/towns/{town.slug}/indicators/?indicator={codes[0]}&indicator={codes[1]}"
    peer = peer_json(peers.town_series, path, slug=town.slug)

    def values(doc):
        return {
            s["indicator"]: [(v["year"], v["quarter"], Decimal(v["value"])) for v in s["values"]]
            for s in doc["series"]
        }

    assert values(api)
    assert values(peer) == values(api)


def test_profile_and_dashboard_peers_serve_the_public_rows():
    town = Town.objects.get(slug="hlybokaye")
    profile = peer_json(peers.town_profile, "/", slug=town.slug)
    public = Influence.objects.filter(
        active_on(timezone.localdate()),
        town=town,
        deleted_at__isnull=True,
        state=PublicationState.PUBLISHED,
        access_level=AccessLevel.PUBLIC,
    )
    assert public.exists()
    assert (
        len(profile["influences"])
        == public.filter(
            group__state=PublicationState.PUBLISHED, group__access_level=AccessLevel.PUBLIC
        ).count()
    )
    dashboard = peer_json(peers.town_dashboard, "/", slug=town.slug)
    assert dashboard["influences"] == profile["influences"]
    assert dashboard["indicators"]
    assert all(row["rank"] >= 1 for row in dashboard["indicators"])


def test_query_count_header():
    def view(request):
        return peers.town_page(request)

    response = QueryCountMiddleware(view)(RequestFactory().get("/bench-peer/towns/"))
    assert response[HEADER] == "1"


def _non_public_value(**overrides):
    town = Town.objects.get(slug="hlybokaye")
    indicator = Indicator.objects.get(code="population")
    fields = {
        "town": town,
        "indicator": indicator,
        "year": 2031,
        "quarter": 0,
        "value": Decimal("1"),
        "access_level": AccessLevel.PUBLIC,
        "state": PublicationState.PUBLISHED,
    }
    fields.update(overrides)
    return IndicatorValue.objects.create(**fields)


def test_mirror_holds_only_public_rows_and_fields(tmp_path):
    hidden = [
        _non_public_value(year=2031, state=PublicationState.DRAFT),
        _non_public_value(year=2032, access_level=AccessLevel.RESTRICTED),
        _non_public_value(year=2033, access_level=AccessLevel.PARTNER),
        _non_public_value(year=2034, deleted_at=timezone.now()),
    ]
    shown = _non_public_value(year=2035)
    path = tmp_path / "mirror.db"
    counts = mirror.export(path)
    db = sqlite3.connect(path)
    try:
        for table, model in RESEARCH_TABLES.items():
            exported = {row[0] for row in db.execute(f"SELECT id FROM {table}")}  # noqa: S608
            public = set(
                model.objects.filter(
                    deleted_at__isnull=True,
                    state=PublicationState.PUBLISHED,
                    access_level=AccessLevel.PUBLIC,
                ).values_list("pk", flat=True)
            )
            assert exported == public, table
            assert counts[table] == len(public)
            # Sensitive fields (notes, contacts, leaders, names of persons) are not columns.
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            assert not columns & (sensitive_fields(model) | {"note", "notes", "contacts"})
        value_ids = {row[0] for row in db.execute("SELECT id FROM indicator_values")}
        assert shown.pk in value_ids
        assert not value_ids & {value.pk for value in hidden}
        # The demo data has non-public claims: the export really left something out.
        assert Influence.objects.exclude(access_level=AccessLevel.PUBLIC).exists()
        links = {row[0] for row in db.execute("SELECT id FROM cso_links")}
        assert not links & set(
            CSOLink.objects.exclude(access_level=AccessLevel.PUBLIC).values_list("pk", flat=True)
        )
        assert db.execute("SELECT count(*) FROM towns").fetchone()[0] == Town.objects.count()
    finally:
        db.close()
    assert mirror.stored_fingerprint(path) == mirror.fingerprint()


def test_each_shortfall_is_listed_with_its_reason_or_marked_unexplained():
    """The report says which reads fall below a peer and why (issue 19, "Done when"): one
    line per mode, naming its scenarios; a mode with no recorded reason says so."""
    from bench.run import WHY_BELOW, shortfall_reasons

    lines = shortfall_reasons(
        [
            (0.18, "2 cold vs datasette"),
            (0.3, "3 cold vs pg json_agg"),
            (0.9, "1 warm vs datasette"),
            (0.8, "4 soak vs datasette"),
        ]
    )
    assert lines == [
        f"- cold (scenarios 2, 3): {WHY_BELOW['cold']}.",
        f"- warm (scenarios 1): {WHY_BELOW['warm']}.",
        "- soak (scenarios 4): not explained yet: profile it before trusting the figures.",
    ]
    assert shortfall_reasons([]) == []
