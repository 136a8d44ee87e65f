"""List rows written as JSON by PostgreSQL (governance/api/rendered.py, issue 19): byte for byte
what the serializer and DRF's JSON renderer write, for every demo town, in other time zones, for
edge values, and for the whole answer of the town list; the other formats and an unknown field
type still go through the serializer."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from governance.api.etag import JSONTexts
from governance.api.rendered import (
    AtlasJSONRenderer,
    NotRendered,
    RenderedRows,
    RowTexts,
    row_json,
    rows_as_rendered,
)
from towns.api.rendered import town_row_json, town_texts
from towns.api.serializers import TownSerializer
from towns.models import Region, Town

pytestmark = pytest.mark.django_db

#: Every character Python's str.strip() removes, and every line break of str.splitlines().
WHITE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def drf_text(town: Town) -> bytes:
    """What the serializer and DRF's own renderer write for ``town``."""
    TownSerializer._memo.clear()
    return JSONRenderer().render(TownSerializer(town).data)


def sql_texts(zone: str | None = None) -> dict[int, bytes]:
    zone = zone or timezone.get_current_timezone_name()
    texts = RowTexts(Town, town_row_json(zone)).annotation
    found = dict(Town.objects.annotate(atlas_json=texts).values_list("pk", "atlas_json"))
    return {pk: rendered_alone(text) for pk, text in found.items()}


def rendered_alone(text: str) -> bytes:
    """One row's text as AtlasJSONRenderer writes it into a body."""
    body = AtlasJSONRenderer().render({"rows": rows_as_rendered([text])})
    assert body.startswith(b'{"rows":[') and body.endswith(b"]}")
    return body[len(b'{"rows":[') : -len(b"]}")]


def test_the_whitespace_under_test_is_pythons():
    assert {"\t", " ", "\x85", "\xa0", "\u3000", "\u2028", "\x1f"} <= set(WHITE)
    assert all(len(f"a{b}b".splitlines()) == 2 for b in BREAKS)


@pytest.mark.parametrize("zone", ["Europe/Minsk", "UTC", "America/New_York"])
def test_every_demo_town_is_written_as_drf_writes_it(zone):
    with timezone.override(zone):
        written = sql_texts()
        towns = Town.objects.select_related("region", "district").order_by("pk")
        expected = {town.pk: drf_text(town) for town in towns}
    assert len(expected) > 200
    assert written == expected


def odd_town() -> Town:
    region = Region.objects.order_by("pk").first()
    names = 'Quote " back \\ slash \x01 ctrl \x1f tab\t sep\u2028 \u2029 emoji 🏛 Кірыліца'
    alternate = (
        f"{WHITE}Plain{WHITE}\r\nTwo  spaces inside \n\n\n{WHITE}\x0bVT\x0cFF\x1cFS\x1dGS"
        f"\x1eRS\x85NEL\u2028LS\u2029PS\r\rCR\n"
        + "".join(f"name{n}{b}" for n, b in enumerate(BREAKS))
        + f'Tab\tin "quotes"\\{WHITE}'
    )
    town = Town.objects.create(
        slug="odd-values",
        name_en=names,
        name_be="",
        name_ru="Русское\u00a0имя",
        region=region,
        latitude=Decimal("53"),
        longitude=Decimal("-0.00001"),
        population=None,
        alternate_names=alternate,
    )
    Town.objects.filter(pk=town.pk).update(
        own_share=Decimal("0.333"),
        updated_at=datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC),
    )
    return Town.objects.select_related("region", "district").get(pk=town.pk)


@pytest.mark.parametrize("zone", ["Europe/Minsk", "UTC", "Asia/Kolkata"])
def test_edge_values_are_written_as_drf_writes_them(zone):
    town = odd_town()
    assert town.updated_at.microsecond == 0 and town.district_id is None
    with timezone.override(zone):
        written = sql_texts()[town.pk]
        expected = drf_text(town)
    assert written == expected
    shown = json.loads(written)
    assert shown["alternate_names"][:3] == ["Plain", "Two  spaces inside", "VT"]
    assert shown["latitude"] == 53.0 and b'"latitude":53.0,' in written
    assert b"\\u2028" in written  # escaped as DRF escapes it


@pytest.mark.parametrize(
    ("share", "text"),
    [("0", b'"own_share":0.0,'), ("1", b'"own_share":1.0,'), ("0.005", b'"own_share":0.005,')],
)
def test_shares_whole_and_small_are_written_as_python_writes_them(share, text):
    town = Town.objects.order_by("pk").first()
    Town.objects.filter(pk=town.pk).update(own_share=Decimal(share))
    town = Town.objects.select_related("region", "district").get(pk=town.pk)
    written = sql_texts()[town.pk]
    assert text in written and written == drf_text(town)


def test_floats_far_from_the_towns_range_are_written_as_python_writes_them():
    from django.db import connection

    values = [1e15, 1234567890123456.7, 9.99e15, 1e16, 1.5e300, 5e-05, 1e-4, -0.0, -7.25, 0.1]
    with connection.cursor() as cursor:
        # As text: a float parameter would pass through numeric, which has no negative zero.
        cursor.execute(
            "SELECT atlas_json_float(v::float8) FROM unnest(%s::text[]) v",
            [[repr(v) for v in values]],
        )
        written = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT atlas_json_float('NaN'), atlas_json_float('Infinity')")
        refused = cursor.fetchone()
    assert written == [json.dumps(v) for v in values]
    assert refused == (None, None)


def test_the_list_answers_byte_for_byte_as_the_serializer_would(monkeypatch):
    """The whole answer of the town list, by cursor and by page, filtered, searched and
    ordered: the same body and headers as the serializer's way."""
    odd_town()
    client = Client()
    paths = [
        "/api/v1/towns/?page_size=500",
        "/api/v1/towns/?page=2&page_size=40&ordering=-population",
        "/api/v1/towns/?search=odd&ordering=own_share",
        "/api/v1/towns/?region=brest&kind=district_centre&page_size=7",
        "/api/v1/towns/?page_size=3&ordering=-updated_at",
    ]
    rendered = {p: client.get(p, secure=True) for p in paths}

    def refuse(zone):
        raise NotRendered("the serializer's way, for comparison")

    monkeypatch.setattr("towns.api.views.town_texts", refuse)
    for path, answer in rendered.items():
        expected = client.get(path, secure=True)
        assert answer.status_code == expected.status_code == 200, path
        assert answer.content == expected.content, path
        for header in ("Link", "X-Total-Count", "Content-Type"):
            assert answer.get(header) == expected.get(header), (path, header)
    first = json.loads(rendered[paths[0]].content)
    assert first["count"] == Town.objects.count() == len(first["results"])


def test_the_next_cursor_page_follows_on(monkeypatch):
    client = Client()
    first = client.get("/api/v1/towns/?page_size=100&ordering=-own_share", secure=True).json()
    second = client.get(first["next"], secure=True).json()
    slugs = [t["slug"] for t in first["results"] + second["results"]]
    expected = list(Town.objects.order_by("-own_share", "pk").values_list("slug", flat=True)[:200])
    # PostgreSQL puts NULL first going down: the cursor keeps its order.
    assert len(slugs) == len(set(slugs)) == 200
    assert slugs == expected


def test_an_indented_answer_is_rendered_the_usual_way():
    client = Client()
    compact = client.get("/api/v1/towns/?page_size=5", secure=True)
    indented = client.get(
        "/api/v1/towns/?page_size=5", secure=True, HTTP_ACCEPT="application/json; indent=2"
    )
    assert indented.status_code == 200 and b'\n  "count": ' in indented.content
    assert json.loads(indented.content) == json.loads(compact.content)


def test_other_formats_go_through_the_serializer():
    client = Client()
    csv = client.get("/api/v1/towns/?format=csv&page_size=5", secure=True)
    geojson = client.get("/api/v1/towns/?format=geojson&page_size=5", secure=True)
    assert csv.status_code == geojson.status_code == 200
    assert csv.content.startswith(b"slug,name_en,")
    assert json.loads(geojson.content)["type"] == "FeatureCollection"


def test_queries_per_page_do_not_grow_with_the_page():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = []
    for size in (5, 200):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/towns/?page_size={size}", secure=True).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_refused_value_sends_the_page_the_serializers_way():
    assert rows_as_rendered(['{"a":1}', None]) is None
    assert list(rows_as_rendered(['{"a":1}'])) == ['{"a":1}']


def test_a_field_it_cannot_write_is_refused_not_guessed():
    class WithMethod(serializers.ModelSerializer):
        shown = serializers.SerializerMethodField()

        class Meta:
            model = Town
            fields = ["slug", "shown"]

    class WithDecimal(serializers.ModelSerializer):
        class Meta:
            model = Town
            fields = ["slug", "own_share"]  # DRF writes decimals as strings

    for serializer_class in (WithMethod, WithDecimal):
        with pytest.raises(NotRendered):
            row_json(serializer_class, zone="UTC")
    with pytest.raises(NotRendered):
        row_json(TownSerializer, zone="UTC")  # alternate_names reads a property


def test_the_renderer_puts_texts_in_as_they_are():
    body = AtlasJSONRenderer().render(
        {"count": 2, "next": None, "results": RenderedRows(['{"a":1}', '{"b":"ы"}'])}
    )
    assert body == '{"count":2,"next":null,"results":[{"a":1},{"b":"ы"}]}'.encode()
    separators = {"results": RenderedRows(['{"a":"\u2028 \u2029"}'])}
    assert AtlasJSONRenderer().render(separators) == b'{"results":[{"a":"\\u2028 \\u2029"}]}'
    assert AtlasJSONRenderer().render(separators) == JSONRenderer().render(
        {"results": [{"a": "\u2028 \u2029"}]}
    )
    plain = {"count": 1, "results": [{"a": 1}]}
    assert AtlasJSONRenderer().render(plain) == JSONRenderer().render(plain)
    assert isinstance(RenderedRows(), JSONTexts)


def test_texts_cached_per_zone_follow_a_changed_row():
    town = Town.objects.select_related("region", "district").order_by("pk").first()
    texts = town_texts("Europe/Minsk")

    def text():
        return Town.objects.annotate(j=texts.annotation).values_list("j", flat=True).get(pk=town.pk)

    before = text()
    Town.objects.filter(pk=town.pk).update(name_en="Changed name", population=12345)
    after = json.loads(text())
    assert json.loads(before)["name_en"] != "Changed name"
    assert (after["name_en"], after["population"]) == ("Changed name", 12345)
    assert unicodedata.is_normalized("NFC", after["name_en"])


def test_a_plain_model_serializers_fields_are_written_as_drf_writes_them():
    """The fields ModelSerializer makes by itself (an id, a foreign key's id, a choice, text,
    whole numbers, a boolean, a time) for every town, besides TownSerializer's own."""

    class Plain(serializers.ModelSerializer):
        region = serializers.PrimaryKeyRelatedField(read_only=True)

        class Meta:
            model = Town
            fields = [
                "id",
                "region",
                "kind",
                "typology",
                "population_source",
                "population",
                "geonames_id",
                "is_synthetic",
                "created_at",
            ]

    assert {type(f).__name__ for f in Plain().fields.values()} >= {
        "BigIntegerField",
        "PrimaryKeyRelatedField",
        "ChoiceField",
        "CharField",
        "IntegerField",
        "BooleanField",
        "DateTimeField",
    }
    texts = RowTexts(Town, row_json(Plain, zone=timezone.get_current_timezone_name()))
    found = dict(Town.objects.annotate(j=texts.annotation).values_list("pk", "j"))
    towns = Town.objects.order_by("pk")
    assert len(found) == towns.count() > 200
    for town in towns:
        assert found[town.pk].encode() == JSONRenderer().render(Plain(town).data), town.slug


def test_a_zone_postgresql_does_not_know_sends_the_list_the_serializers_way(monkeypatch):
    from governance.api import rendered

    assert rendered.zone_known("Europe/Minsk")
    assert not rendered.zone_known("Mars/Olympus_Mons")
    monkeypatch.setattr(rendered, "zone_known", lambda name: False)
    with pytest.raises(NotRendered):
        rendered.rendered_zone()
    answer = Client().get("/api/v1/towns/?page_size=3", secure=True)
    assert answer.status_code == 200 and len(answer.json()["results"]) == 3
