"""generate_scale_data: seeded, synthetic, consistent with the app, audited, all or nothing."""

import hashlib
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from csos import scale
from csos.models import CSO, CSOLeadership, CSOLink
from governance import copy as bulk_copy
from governance.access import AccessLevel, PublicationState
from governance.text import search_key
from towns.models import (
    Appointment,
    GroupMembership,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Town,
)
from towns.profile import refresh_town_aggregates

pytestmark = pytest.mark.django_db

TOWNS, INDICATORS, YEARS, CSOS = 20, 30, 3, 40
ARGS = ["--towns", "20", "--indicators", "30", "--years", "3", "--csos", "40", "--seed", "7"]


DEFAULT_BULK_FROM = scale.BULK_FROM


@pytest.fixture(autouse=True)
def bulk_path_at_small_sizes(monkeypatch):
    """Take the large-table path (triggers disabled, foreign keys dropped and added back) at
    test sizes too; the test of the default thresholds sets them back."""
    monkeypatch.setattr(scale, "BULK_FROM", 0)


@pytest.fixture
def rebuilt_indexes(monkeypatch):
    """Rebuild the indexes whatever the size, so that the test covers that path."""
    monkeypatch.setattr(bulk_copy, "REBUILD_INDEXES_FROM", 0)
    monkeypatch.setattr(bulk_copy, "_estimated_rows", lambda table: 0)


def indexes(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass ORDER BY 1",
            [table],
        )
        return cursor.fetchall()


def run(*extra: str) -> str:
    out = StringIO()
    call_command("generate_scale_data", *ARGS, *extra, stdout=out)
    return out.getvalue()


def digest(rows) -> str:
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def checksums() -> dict[str, str]:
    """Content of every generated table, keyed by natural keys (ids and times vary by run)."""
    towns = Town.objects.filter(slug__startswith=scale.SCALE_PREFIX)
    return {
        "towns": digest(
            towns.order_by("slug").values_list(
                "slug",
                "name_en",
                "name_be",
                "name_ru",
                "region__code",
                "district__slug",
                "kind",
                "latitude",
                "longitude",
                "population",
                "search_text",
                "typology",
                "own_share",
            )
        ),
        "values": digest(
            IndicatorValue.objects.filter(town__in=towns)
            .order_by("town__slug", "indicator__code", "year")
            .values_list("town__slug", "indicator__code", "year", "quarter", "value")
        ),
        "persons": digest(
            Person.objects.filter(note=scale.SCALE_NOTE)
            .order_by("name_en")
            .values_list("name_en", "name_be", "name_ru", "origin", "origin_town__slug")
        ),
        "influences": digest(
            Influence.objects.filter(town__in=towns)
            .order_by("town__slug", "group__name_en")
            .values_list("town__slug", "group__name_en", "group__kind", "strength", "confidence")
        ),
        "appointments": digest(
            Appointment.objects.filter(town__in=towns)
            .order_by("person__name_en")
            .values_list("person__name_en", "town__slug", "post__kind", "start_date")
        ),
        "csos": digest(
            CSO.objects.filter(slug__startswith=scale.CSO_PREFIX)
            .order_by("slug")
            .values_list("slug", "name_en", "name_ru", "status", "character", "search_text")
        ),
        "cso towns": digest(
            CSO.towns.through.objects.filter(cso__slug__startswith=scale.CSO_PREFIX)
            .order_by("cso__slug", "town__slug")
            .values_list("cso__slug", "town__slug")
        ),
        "links": digest(
            CSOLink.objects.filter(source_cso__slug__startswith=scale.CSO_PREFIX)
            .order_by("source_cso__slug", "target_cso__slug", "kind")
            .values_list("source_cso__slug", "target_cso__slug", "kind")
        ),
    }


def table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for model in [*scale._WRITTEN, IndicatorValue.pgh_event_model, Town.pgh_event_model]:
            table = model._meta.db_table
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
        return counts


def foreign_keys(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' "
            "ORDER BY conname",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_generates_exactly_the_requested_sizes_all_synthetic_and_published():
    out = run()
    towns = Town.objects.filter(slug__startswith=scale.SCALE_PREFIX)
    assert towns.count() == TOWNS
    assert not towns.filter(is_synthetic=False).exists()
    values = IndicatorValue.objects.filter(town__in=towns)
    assert values.count() == TOWNS * INDICATORS * YEARS
    assert values.values("indicator").distinct().count() == INDICATORS
    csos = CSO.objects.filter(slug__startswith=scale.CSO_PREFIX)
    assert csos.count() == CSOS
    links = CSOLink.objects.filter(source_cso__in=csos)
    assert links.count() == 3 * CSOS
    persons = Person.objects.filter(note=scale.SCALE_NOTE)
    assert persons.count() == 10 * TOWNS
    assert all(
        name.startswith("Fictional Person ") for name in persons.values_list("name_en", flat=True)
    )
    assert not persons.exclude(names_access_level=AccessLevel.RESTRICTED).exists()
    # Every generated row of every research table is synthetic.
    for queryset in [
        values,
        csos,
        links,
        persons,
        InfluenceGroup.objects.filter(description=scale.SCALE_NOTE),
        Influence.objects.filter(town__in=towns),
        Appointment.objects.filter(town__in=towns),
        GroupMembership.objects.filter(person__in=persons),
        CSOLeadership.objects.filter(cso__in=csos),
    ]:
        assert queryset.exists()
        assert not queryset.filter(is_synthetic=False).exists(), queryset.model
    # The benchmark reads anonymously: values, CSOs and links are public and published.
    public = {"access_level": AccessLevel.PUBLIC, "state": PublicationState.PUBLISHED}
    assert values.filter(**public).count() == values.count()
    assert csos.filter(**public).count() == CSOS
    assert links.filter(**public).count() == links.count()
    assert towns.filter(pk__in=Town.objects.values("pk")).count() == TOWNS
    assert Town.objects.search("Новоборск 1").filter(slug="scale-00001").exists()
    # Published claims cite a source, as claim_check requires.
    assert not Influence.objects.filter(town__in=towns, sources__isnull=True).exists()
    assert not links.filter(sources__isnull=True).exists()
    assert f"indicator values: {TOWNS * INDICATORS * YEARS:,} rows" in out
    assert "history:" in out


def test_same_seed_same_rows_other_seed_other_rows_and_replace_regenerates():
    run()
    first = checksums()
    run("--replace")
    assert checksums() == first
    assert Town.objects.filter(slug__startswith=scale.SCALE_PREFIX).count() == TOWNS
    call_command("generate_scale_data", *ARGS[:-1], "8", "--replace", stdout=StringIO())
    other = checksums()
    assert other["values"] != first["values"]
    assert other["links"] != first["links"]


def test_aggregates_and_search_keys_equal_what_the_save_path_computes():
    run()
    towns = list(Town.objects.filter(slug__startswith=scale.SCALE_PREFIX).order_by("slug"))
    assert {t.typology for t in towns} != {"insufficient_evidence"}
    for town in towns:
        stored = (town.typology, town.own_share, town.search_text)
        assert town.search_text == search_key(town.all_names())
        refresh_town_aggregates(town)
        town.save()
        town.refresh_from_db()
        assert (town.typology, town.own_share, town.search_text) == stored
    for cso in CSO.objects.filter(slug__startswith=scale.CSO_PREFIX)[:10]:
        stored = cso.search_text
        cso.save()
        cso.refresh_from_db()
        assert cso.search_text == stored


def test_history_has_one_insert_event_per_row_under_the_scale_data_context(rebuilt_indexes):
    table = IndicatorValue._meta.db_table
    before = indexes(table), indexes(IndicatorValue.pgh_event_model._meta.db_table)
    keys = foreign_keys(table)
    run()
    # Dropped and built again, identical.
    assert (indexes(table), indexes(IndicatorValue.pgh_event_model._meta.db_table)) == before
    assert foreign_keys(table) == keys
    towns = Town.objects.filter(slug__startswith=scale.SCALE_PREFIX)
    values = IndicatorValue.objects.filter(town__in=towns)
    events = IndicatorValue.pgh_event_model.objects.filter(pgh_obj__in=values)
    # Exactly one per row: the silenced triggers wrote none of their own.
    assert events.count() == values.count() == TOWNS * INDICATORS * YEARS
    assert set(events.values_list("pgh_label", flat=True)) == {"insert"}
    assert set(events.values_list("pgh_context__metadata__via", flat=True)) == {"scale_data"}
    # The event holds the row image, as the trigger's would.
    sample = values.order_by("pk").first()
    event = events.get(pgh_obj=sample)
    assert (event.value, event.year, event.town_id, event.is_synthetic) == (
        sample.value,
        sample.year,
        sample.town_id,
        True,
    )
    town_events = Town.pgh_event_model.objects.filter(pgh_obj__in=towns)
    assert town_events.count() == TOWNS
    # The insert event shows the final aggregates (written after the refresh).
    town = towns.order_by("slug").first()
    assert town_events.get(pgh_obj=town).typology == town.typology
    through = CSO.towns.through
    links = through.objects.filter(cso__slug__startswith=scale.CSO_PREFIX)
    link_events = through.pgh_event_model.objects.filter(cso__slug__startswith=scale.CSO_PREFIX)
    assert link_events.filter(pgh_label="link.add").count() == links.count() > 0
    # Replacing records a delete event per removed row, still under the scale context.
    ids = list(values.values_list("pk", flat=True))
    run("--replace")
    deleted = IndicatorValue.pgh_event_model.objects.filter(pgh_obj_id__in=ids, pgh_label="delete")
    assert deleted.count() == len(ids)


def test_demo_data_is_left_alone_by_generate_and_replace():
    before = Town.objects.exclude(slug__startswith=scale.SCALE_PREFIX).count()
    demo_values = IndicatorValue.objects.exclude(town__slug__startswith=scale.SCALE_PREFIX).count()
    run()
    run("--replace")
    call_command("generate_scale_data", "--remove", stdout=StringIO())
    assert not Town.objects.filter(slug__startswith=scale.SCALE_PREFIX).exists()
    assert not Person.objects.filter(note=scale.SCALE_NOTE).exists()
    assert Town.objects.exclude(slug__startswith=scale.SCALE_PREFIX).count() == before == 261
    assert IndicatorValue.objects.count() == demo_values


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--towns", "0"], "--towns must be from 1"),
        (["--indicators", "-1"], "--indicators must be from 1"),
        (["--years", "500"], "--years must be from 1"),
        (["--csos", "2", "--links", "100"], "--links must be from 0 to 10"),
    ],
)
def test_invalid_arguments_are_a_clean_error_and_write_nothing(args, message):
    before = table_counts()
    with pytest.raises(CommandError, match=message):
        call_command("generate_scale_data", *ARGS, *args, stdout=StringIO())
    assert table_counts() == before


def test_an_existing_dataset_needs_replace():
    run()
    before = table_counts()
    with pytest.raises(CommandError, match="--replace"):
        run()
    assert table_counts() == before


def test_a_failure_midway_leaves_the_database_unchanged(monkeypatch):
    before = table_counts()
    keys = foreign_keys(IndicatorValue._meta.db_table)
    assert keys

    def broken(run, count):
        raise RuntimeError("interrupted after the first COPYs")

    # Towns and 1,800 indicator values are copied (and the foreign keys dropped and added
    # back) before the persons phase fails.
    monkeypatch.setattr(scale, "_persons", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        run()
    assert table_counts() == before
    assert foreign_keys(IndicatorValue._meta.db_table) == keys


def test_a_failure_while_the_foreign_keys_are_dropped_restores_them(monkeypatch, rebuilt_indexes):
    keys = foreign_keys(IndicatorValue._meta.db_table)
    index_list = indexes(IndicatorValue._meta.db_table)
    real = scale.copy_lines

    def copy_then_fail(table, columns, lines, **kwargs):
        real(table, columns, lines, **kwargs)
        if table == IndicatorValue._meta.db_table:
            raise RuntimeError("interrupted inside the COPY phase")
        return 0

    monkeypatch.setattr(scale, "copy_lines", copy_then_fail)
    before = table_counts()
    with pytest.raises(RuntimeError, match="interrupted"):
        run()
    assert table_counts() == before
    assert foreign_keys(IndicatorValue._meta.db_table) == keys
    assert indexes(IndicatorValue._meta.db_table) == index_list


def test_make_towns_is_fast_enough_for_query_count_tests(monkeypatch):
    monkeypatch.setattr(scale, "BULK_FROM", DEFAULT_BULK_FROM)
    start = time.perf_counter()
    ids = scale.make_towns(2000, indicators=2, years=2)
    seconds = time.perf_counter() - start
    assert len(ids) == 2000
    assert Town.objects.filter(pk__in=ids, is_synthetic=True).count() == 2000
    assert IndicatorValue.objects.filter(town_id__in=ids).count() == 2000 * 2 * 2
    # Small tables keep their triggers silenced and get their events set-based too.
    assert Town.pgh_event_model.objects.filter(pgh_obj_id__in=ids).count() == 2000
    appointments = Appointment.objects.filter(town_id__in=ids)
    assert appointments.count() == 3 * 2000
    assert Appointment.pgh_event_model.objects.filter(pgh_obj__in=appointments).count() == 3 * 2000
    # Generous bound for a loaded CI machine; about a second or two when idle.
    assert seconds < 30, seconds


def test_regional_figures_are_rebuilt_once_after_a_bulk_load(rebuilt_indexes):
    """The triggers that keep towns.RegionalIndicatorStat are off during the load (a scan of
    the table per group and COPY chunk with the indexes dropped) and the figures are computed
    once at the end: equal to a recomputation, and the triggers are on again."""
    from towns.models import RegionalIndicatorStat

    run()
    kept = {
        (s.region_id, s.indicator_id, s.year): (s.public_n, s.public_median, s.research_n)
        for s in RegionalIndicatorStat.objects.all()
    }
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM towns_regionalindicatorstat")
        cursor.execute(IndicatorValue.BULK_AFTER_SQL)
    again = {
        (s.region_id, s.indicator_id, s.year): (s.public_n, s.public_median, s.research_n)
        for s in RegionalIndicatorStat.objects.all()
    }
    scale_groups = {
        (t.region_id, i, y)
        for t in Town.objects.filter(slug__startswith=scale.SCALE_PREFIX)
        for i, y in IndicatorValue.objects.filter(town=t, quarter=0).values_list(
            "indicator_id", "year"
        )
    }
    assert scale_groups and scale_groups <= set(kept)
    assert kept == again
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass",
            [IndicatorValue._meta.db_table],
        )
        enabled = dict(cursor.fetchall())
    assert {enabled[name] for name in IndicatorValue.BULK_DEFERRED_TRIGGERS} == {"O"}
