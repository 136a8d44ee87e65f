"""The indicator table ranks a town among the towns of its region, following the direction."""

import pytest

from towns.models import Direction, IndicatorValue, Town
from towns.selectors import town_indicator_table

pytestmark = pytest.mark.django_db


def test_rank_is_among_the_towns_of_the_region():
    town = Town.objects.get(slug="pastavy")
    rows = town_indicator_table(town=town)
    assert len(rows) >= 20
    region_towns = Town.objects.filter(region=town.region, indicator_values__isnull=False)
    for row in rows:
        peers = IndicatorValue.objects.filter(
            indicator=row.indicator, year=row.year, quarter=0, town__in=region_towns
        ).values_list("town_id", "value")
        values = dict(peers)
        assert row.of == len(values) > 1
        better = [
            v
            for v in values.values()
            if (
                v > row.value
                if row.indicator.direction == Direction.HIGHER_BETTER
                else v < row.value
            )
        ]
        assert row.rank == len(better) + 1


def test_change_is_against_the_previous_year():
    town = Town.objects.get(slug="pastavy")
    row = next(r for r in town_indicator_table(town=town) if r.indicator.code == "population")
    previous = IndicatorValue.objects.get(
        town=town, indicator=row.indicator, year=row.year - 1, quarter=0
    ).value
    assert row.previous == previous
    assert row.change == row.value - previous
