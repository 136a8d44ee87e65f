"""The series answer is written directly (``towns.api.profile.series_payload``), not through
``TownSeriesSerializer``, which stays its schema: the two must give the same JSON, member for
member and in the same order, for every town of the demo at every viewer level, and a value's
text must be the serializer's for any decimal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from governance.access import Viewer
from towns.api.profile import (
    SeriesValueSerializer,
    TownSeriesSerializer,
    _value_text,
    series_data,
    series_payload,
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
