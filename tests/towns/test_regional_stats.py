"""The regional figures kept per change (RegionalIndicatorStat, issue 19) always equal what a live
aggregation of the values gives, after every kind of write, at each viewer level; concurrent
writers of one group both count."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count

from governance.access import AccessLevel, PublicationState
from towns.models import Indicator, IndicatorValue, Region, RegionalIndicatorStat, Town

#: The live aggregation the kept figures replace, per level, as ``visible_to`` draws it.
LIVE = """
SELECT t.region_id, v.indicator_id, v.year,
    count(*) FILTER (WHERE {where}),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY v.value) FILTER (WHERE {where}),
    coalesce(array_agg(v.value ORDER BY v.value) FILTER (WHERE {where}), '{{}}')
FROM towns_indicatorvalue v JOIN towns_town t ON t.id = v.town_id
WHERE v.quarter = 0 AND v.deleted_at IS NULL
GROUP BY 1, 2, 3
"""
LEVELS = {
    "public": "v.state = 'published' AND v.access_level = 'public'",
    "partner": "v.state = 'published' AND v.access_level IN ('public', 'partner')",
    "research": "true",
}


def live(level: str, using: str = "default") -> dict:
    with connections[using].cursor() as cursor:
        cursor.execute(LIVE.format(where=LEVELS[level]))
        return {(r, i, y): (n, m, list(vs)) for r, i, y, n, m, vs in cursor.fetchall() if n}


def kept(level: str) -> dict:
    return {
        (s.region_id, s.indicator_id, s.year): (
            getattr(s, f"{level}_n"),
            getattr(s, f"{level}_median"),
            list(getattr(s, f"{level}_values")),
        )
        for s in RegionalIndicatorStat.objects.all()
        if getattr(s, f"{level}_n")
    }


def assert_kept_equals_live() -> None:
    for level in LEVELS:
        expected, actual = live(level), kept(level)
        assert actual.keys() == expected.keys(), level
        for key, (n, median, values) in expected.items():
            got = actual[key]
            assert got[0] == n and got[2] == values, (level, key)
            assert got[1] == pytest.approx(median), (level, key)


@pytest.mark.django_db
def test_the_demo_data_is_kept_exactly():
    assert RegionalIndicatorStat.objects.exists()
    assert_kept_equals_live()


@pytest.mark.django_db
def test_every_kind_of_write_keeps_the_figures_exact():
    town = Town.objects.filter(indicator_values__quarter=0).first()
    indicator = Indicator.objects.filter(values__town=town).first()
    values = IndicatorValue.objects.filter(town=town, indicator=indicator, quarter=0)
    first = values.order_by("year").first()

    # A value changes; one is withdrawn from publication; one moves to the partner level.
    IndicatorValue.objects.filter(pk=first.pk).update(value=Decimal("987654.3210"))
    assert_kept_equals_live()
    values.filter(year=first.year + 1).update(state=PublicationState.DRAFT)
    values.filter(year=first.year + 2).update(access_level=AccessLevel.PARTNER)
    assert_kept_equals_live()
    # A yearly value becomes a quarter's, and a soft deletion.
    values.filter(year=first.year + 3).update(quarter=2)
    values.filter(year=first.year + 4).update(deleted_at="2026-01-01T00:00:00Z")
    assert_kept_equals_live()
    # New values in bulk (one statement), then deleted.
    others = list(Town.objects.exclude(pk=town.pk)[:30])
    IndicatorValue.objects.bulk_create(
        IndicatorValue(
            town=t,
            indicator=indicator,
            year=2031,
            value=Decimal(k),
            state=PublicationState.PUBLISHED,
            access_level=AccessLevel.PUBLIC,
            is_synthetic=True,
        )
        for k, t in enumerate(others)
    )
    assert_kept_equals_live()
    IndicatorValue.objects.filter(year=2031).delete()
    assert_kept_equals_live()
    # A town moves to another region: both regions' groups change.
    other_region = Region.objects.exclude(pk=town.region_id).first()
    Town.objects.filter(pk=town.pk).update(region=other_region)
    assert_kept_equals_live()


@pytest.mark.django_db
def test_a_truncate_empties_them():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE towns_indicatorvalue")
    assert not RegionalIndicatorStat.objects.filter(research_n__gt=0).exists()
    assert_kept_equals_live()


def in_own_connection(work) -> None:
    """Run ``work`` in a thread, hence on a connection of its own, committed (the test's own
    connection stays in its transaction, which is rolled back)."""
    errors = []

    def run():
        try:
            with transaction.atomic():
                work()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not errors


@pytest.mark.django_db
def test_two_writers_of_one_group_at_once_both_count():
    """Two transactions add a value to the same (region, indicator, year) at the same moment;
    the second waits for the first at the group's row, then counts both.

    Committed on connections of their own and removed afterwards: a transactional test would
    flush the demo data the browser tests of the same worker read."""
    region = (
        Town.objects.values("region").annotate(n=Count("pk")).filter(n__gte=2).order_by("region")
    )[0]["region"]
    town, neighbour = Town.objects.filter(region=region).order_by("pk")[:2]
    indicator = Indicator.objects.first()
    inserted, release = threading.Event(), threading.Event()
    errors = []

    def add(t, value, hold=False):
        try:
            with transaction.atomic():
                IndicatorValue.objects.create(
                    town=t,
                    indicator=indicator,
                    year=2032,
                    value=Decimal(value),
                    state=PublicationState.PUBLISHED,
                    access_level=AccessLevel.PUBLIC,
                    is_synthetic=True,
                )
                if hold:  # keep the transaction open until told
                    inserted.set()
                    release.wait(20)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def remove():
        written = IndicatorValue.objects.filter(indicator=indicator, year=2032)
        ids = list(written.values_list("pk", flat=True))
        written.delete()
        IndicatorValue.pgh_event_model.objects.filter(pgh_obj_id__in=ids).delete()
        RegionalIndicatorStat.objects.filter(indicator=indicator, year=2032).delete()

    try:
        holder = threading.Thread(target=add, args=(neighbour, 2), kwargs={"hold": True})
        holder.start()
        assert inserted.wait(20)
        other = threading.Thread(target=add, args=(town, 1))
        other.start()
        other.join(1.0)
        assert other.is_alive()  # waiting for the holder at the group's row
        release.set()
        holder.join(20)
        other.join(20)
        assert not errors
        stat = RegionalIndicatorStat.objects.get(region=region, indicator=indicator, year=2032)
        assert stat.public_n == 2
        assert stat.public_values == [Decimal(1), Decimal(2)]
        assert_kept_equals_live()
    finally:
        release.set()
        in_own_connection(remove)
    assert not IndicatorValue.objects.filter(indicator=indicator, year=2032).exists()
