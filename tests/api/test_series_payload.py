"""The series answer is written directly (``towns.api.profile.series_payload``), and by
PostgreSQL for JSON (``series_rendered``), not through ``TownSeriesSerializer``, which stays its
schema: all three must give the same JSON, byte for byte, for every town of the demo at every
viewer level, and a value's text must be the serializer's for any decimal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from governance.access import Viewer
from governance.api.rendered import AtlasJSONRenderer
from towns.api.profile import (
    SeriesValueSerializer,
    TownSeriesSerializer,
    _value_text,
    series_data,
    series_payload,
    series_rendered,
)
from towns.kept import viewer
from towns.models import IndicatorValue, Town

pytestmark = pytest.mark.django_db


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def test_the_payload_is_the_serializers_for_every_town_and_level():
    towns = Town.objects.filter(pk__in=IndicatorValue.objects.values("town")).order_by("slug")
    assert towns.count() > 200
    compared = 0
    for level in Viewer:
        user = viewer(level)
        for i, town in enumerate(towns):
            filtered = {"codes": ["population"], "year_from": 2015, "year_to": 2020}
            for options in ({}, filtered) if i % 10 == 0 else ({},):
                data = series_data(town, user=user, **options)
                expected = rendered(TownSeriesSerializer(data).data)
                assert rendered(series_payload(data)) == expected, town.slug
                written = series_rendered(town.slug, user=user, **options)
                assert AtlasJSONRenderer().render(written) == expected, town.slug
                compared += bool(data["series"])
    assert compared > 300


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.decimals(min_value=-(10**12), max_value=10**12, places=4)
)
def test_a_values_text_is_the_fields(value):
    field = SeriesValueSerializer().fields["value"]
    try:
        expected = field.to_representation(value)
    except (InvalidOperation, ValueError) as error:
        with pytest.raises(type(error)):
            _value_text(value)
        return
    assert _value_text(value) == expected


def test_a_four_place_decimal_takes_the_short_way_and_agrees():
    assert _value_text(Decimal("3000.0000")) == "3000.0000"
    assert _value_text(Decimal("-0.0100")) == "-0.0100"
    assert _value_text(Decimal("12.5")) == "12.5000"  # not four places: through the field


def test_the_endpoint_writes_the_serializers_bytes_through_postgresql():
    from django.test import Client

    town = Town.objects.filter(pk__in=IndicatorValue.objects.values("town")).order_by("pk")[0]
    path = f"/api/v1/towns/{town.slug}/indicators/?indicator=population&from=2000"
    answer = Client().get(path, secure=True)
    data = series_data(town, user=None, codes=["population"], year_from=2000)
    assert data["series"] and answer.status_code == 200
    assert answer.content == rendered(TownSeriesSerializer(data).data)
    csv = Client().get(path + "&format=csv", secure=True)
    assert csv.status_code == 200 and b"population" in csv.content


def test_a_line_separator_in_a_name_is_written_as_drf_writes_it():
    """PostgreSQL leaves U+2028 and U+2029 as they are; DRF escapes them in every body, and
    so does the renderer with the series' texts."""
    from towns.models import Indicator

    public = IndicatorValue.objects.visible_to(None).filter(quarter=0)
    value = public.select_related("town", "indicator").order_by("pk")[0]
    Indicator.objects.filter(pk=value.indicator_id).update(name_en="Line\u2028separated\u2029")
    options = {"codes": [value.indicator.code]}
    data = series_data(value.town, user=None, **options)
    expected = rendered(TownSeriesSerializer(data).data)
    assert b"\\u2028" in expected
    written = series_rendered(value.town.slug, user=None, **options)
    assert AtlasJSONRenderer().render(written) == expected
