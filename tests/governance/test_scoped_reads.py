"""Scoped reads (governance/cache.py): a published value written in one region retires the
cached reads about that region's towns, the lists and the exports, and nothing else.

The writes here are committed on a connection of their own (the test's transaction is never
committed, and inside a writing transaction every key moves, scoped or not); each test puts
back what it changed.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test import Client

from csos.models import CSO, CapacityScore, CooperationCase, CSOLeadership, CSOLink, CulturalAsset
from governance.cache import data_state, town_scoped_tables
from governance.models import Source
from towns.models import (
    Activity,
    Appointment,
    CommunicationSite,
    GroupMembership,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    ManagementMechanism,
    Person,
    SelfOrganisationEvent,
    SocietyObservation,
    Tie,
    Town,
    Typology,
    WayOfLife,
)
from towns.profile import CRITERIA_CODES

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return response


def hit(response) -> bool:
    return response.get("X-Atlas-Cache") == "hit"


@pytest.fixture
def three_towns():
    """Three towns with public published values: two in one region, one in another."""
    public = IndicatorValue.objects.visible_to(None)
    with_values = Town.objects.filter(pk__in=public.values("town")).order_by("slug")
    here = with_values.get(slug="turau")
    neighbour = with_values.filter(region=here.region).exclude(pk=here.pk).first()
    elsewhere = with_values.exclude(region=here.region).first()
    assert neighbour and elsewhere, "the demo data has towns with values in several regions"
    return here, neighbour, elsewhere


def public_value(town: Town, *, facts: bool = True) -> IndicatorValue:
    """One of ``town``'s public values: of a criterion's indicator, which the profile reads
    (``facts``), or of any other."""
    values = IndicatorValue.objects.visible_to(None).filter(town=town)
    if facts:
        value = values.filter(indicator__code__in=CRITERIA_CODES).first()
    else:
        value = values.exclude(indicator__code__in=CRITERIA_CODES).first()
    assert value is not None, f"the demo data gives {town} such a value"
    return value


def set_value(commit, value: IndicatorValue, number: str) -> None:
    """Commit ``number`` as ``value``'s figure (put back after the test)."""
    commit(
        "UPDATE towns_indicatorvalue SET value = %s WHERE id = %s",
        [number, value.pk],
        revert=(
            "UPDATE towns_indicatorvalue SET value = %s WHERE id = %s",
            [value.value, value.pk],
        ),
    )


def touch_value(commit, town: Town, *, facts: bool = True) -> None:
    """Write one of ``town``'s public values back unchanged, as an approval does: of a
    criterion's indicator (``facts``), or of any other."""
    value = public_value(town, facts=facts)
    commit("UPDATE towns_indicatorvalue SET value = value WHERE id = %s", [value.pk])


def region_reads(town: Town) -> list[str]:
    """The cached reads about ``town`` that show its region's values: its dashboard (in two
    languages) and a chart's data."""
    code = IndicatorValue.objects.visible_to(None).filter(town=town).first().indicator.code
    return [
        f"/towns/{town.slug}/",
        f"/be/towns/{town.slug}/",
        f"/towns/{town.slug}/data/indicator-{code}.csv",
    ]


def facts_reads(town: Town) -> list[str]:
    """The cached reads of ``town``'s own records and, of its values, the criteria's only: its
    profile (through the short-cut: anonymous, no cookie)."""
    return [f"{API}towns/{town.slug}/profile/"]


def series_reads(town: Town) -> list[str]:
    """The cached reads of ``town``'s own records and all its values: its series."""
    code = IndicatorValue.objects.visible_to(None).filter(town=town).first().indicator.code
    return [f"{API}towns/{town.slug}/indicators/?indicator={code}"]


def town_reads(town: Town) -> list[str]:
    return facts_reads(town) + series_reads(town)


def reads(town: Town) -> list[str]:
    return region_reads(town) + town_reads(town)


#: Reads of many towns' values: any value written retires them.
EVERYONES = [f"{API}indicator-values/?page_size=10", "/compare/", "/"]
#: Reads of no value at all (the towns, their regions and districts, the map): no value
#: written retires them.
REGIONLESS = [
    f"{API}towns/?page_size=10",
    f"{API}towns/?region=hrodna&page_size=10&format=csv",
    f"{API}towns/turau/",
    f"{API}towns.geojson",
    f"{API}regions/",
    f"{API}districts/",
]


def prime(client, paths):
    for path in paths:
        get(client, path)
        assert hit(get(client, path)), path


def test_a_value_retires_its_towns_and_regions_reads_and_the_lists_only(three_towns, commit):
    here, neighbour, elsewhere = three_towns
    client = Client()
    prime(client, reads(here) + reads(neighbour) + reads(elsewhere) + EVERYONES + REGIONLESS)
    touch_value(commit, neighbour)
    # The neighbour's value is in the regional ranks and medians of every town of its region,
    # and in its own profile and series, not in another town's.
    for path in region_reads(here) + reads(neighbour):
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    for path in town_reads(here):
        assert hit(get(client, path)), f"{path} lost its entry to another town's write"
    for path in EVERYONES:
        assert not hit(get(client, path)), f"{path} kept a read every write retires"
    for path in reads(elsewhere):
        assert hit(get(client, path)), f"{path} lost its entry to another region's write"
    for path in REGIONLESS:
        assert hit(get(client, path)), f"{path} reads no value but lost its entry to one"


def test_a_value_the_profile_does_not_read_leaves_the_profile_be(three_towns, commit):
    """Of a town's values the profile reads only the criteria's: any other value written
    retires its series and its region's reads, not its profile."""
    here, neighbour, elsewhere = three_towns
    client = Client()
    prime(client, reads(here) + reads(neighbour) + reads(elsewhere) + EVERYONES)
    touch_value(commit, neighbour, facts=False)
    for path in region_reads(here) + region_reads(neighbour) + series_reads(neighbour):
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    for path in EVERYONES:
        assert not hit(get(client, path)), f"{path} kept a read every write retires"
    for path in facts_reads(neighbour) + town_reads(here) + reads(elsewhere):
        assert hit(get(client, path)), f"{path} lost its entry to a value it does not read"
    # A criterion's value retires the profile.
    touch_value(commit, neighbour)
    for path in facts_reads(neighbour):
        assert not hit(get(client, path)), path


def test_a_read_of_no_value_follows_every_other_write(three_towns, commit):
    here, _neighbour, _elsewhere = three_towns
    client = Client()
    prime(client, REGIONLESS)
    commit(
        "UPDATE towns_town SET name_en = 'Scopecheck' WHERE id = %s",
        [here.pk],
        revert=("UPDATE towns_town SET name_en = %s WHERE id = %s", [here.name_en, here.pk]),
    )
    for path in REGIONLESS:
        assert not hit(get(client, path)), path
    assert "Scopecheck" in get(client, f"{API}towns/{here.slug}/").json()["name_en"]


def test_a_partner_read_is_scoped_the_same_way(three_towns, commit, personas):
    here, neighbour, elsewhere = three_towns
    partner = personas["partner"].api_client()
    prime(partner, [f"{API}towns/{here.slug}/profile/", f"{API}towns/{neighbour.slug}/profile/"])
    prime(partner, [f"/towns/{here.slug}/", f"/towns/{elsewhere.slug}/"])  # signed in: never
    touch_value(commit, neighbour)
    assert not hit(get(partner, f"{API}towns/{neighbour.slug}/profile/"))
    assert hit(get(partner, f"{API}towns/{here.slug}/profile/"))


def test_a_scoped_read_shows_the_new_value(three_towns, commit):
    here, _neighbour, _elsewhere = three_towns
    value = IndicatorValue.objects.visible_to(None).filter(town=here).first()
    path = f"{API}towns/{here.slug}/indicators/?indicator={value.indicator.code}"
    client = Client()
    prime(client, [path])
    set_value(commit, value, "987654.321")
    fresh = get(client, path)
    assert not hit(fresh) and "987654.321" in fresh.content.decode()


def test_any_other_write_retires_every_read(three_towns, commit):
    """Writes without a region (a region's name, a town, reference data) count for all."""
    here, _neighbour, elsewhere = three_towns
    client = Client()
    prime(client, reads(here)[:2] + reads(elsewhere)[:2])
    commit("UPDATE towns_region SET name_en = name_en WHERE id = %s", [here.region_id])
    for path in reads(here)[:2] + reads(elsewhere)[:2]:
        assert not hit(get(client, path)), path
    prime(client, reads(elsewhere)[:1])
    commit(
        "UPDATE towns_town SET name_en = name_en || ' (renamed)' WHERE id = %s",
        [here.pk],
        revert=("UPDATE towns_town SET name_en = %s WHERE id = %s", [here.name_en, here.pk]),
    )
    assert not hit(get(client, reads(elsewhere)[0]))


def test_a_value_written_elsewhere_that_changes_the_banner_retires_the_page(
    three_towns, commit, monkeypatch
):
    """The demonstration banner depends on every region's records: a page about a town in
    another region is rebuilt when it changes."""
    import towns.context_processors as banner

    _here, neighbour, elsewhere = three_towns
    page = f"/towns/{elsewhere.slug}/"
    client = Client()
    shown = banner.public_synthetic_exists()
    prime(client, [page])
    monkeypatch.setattr(banner, "public_synthetic_exists", lambda: not shown)
    touch_value(commit, neighbour)
    after = get(client, page)
    assert not hit(after), "a page kept a banner the data no longer calls for"
    assert (b"data-demonstration-banner" in after.content) is (not shown)


def test_the_fingerprints_follow_the_regions_of_the_rows_written(three_towns, commit):
    here, neighbour, elsewhere = three_towns
    assert town_scoped_tables()["towns_indicatorvalue"] is IndicatorValue
    assert town_scoped_tables()["towns_wayoflife"] is WayOfLife  # for its region's towns

    def states(scope="region"):
        return {t.slug: data_state(scope=scope, town=t.slug) for t in (here, neighbour, elsewhere)}

    start, everything, towns_start = states(), data_state(), states("town")
    touch_value(commit, elsewhere)
    moved = states()
    assert moved[elsewhere.slug] != start[elsewhere.slug]
    assert moved[here.slug] == start[here.slug] and moved[neighbour.slug] == start[neighbour.slug]
    assert data_state() != everything
    # Per town: only the town written moves, not its region's other towns.
    touch_value(commit, neighbour)
    towns_moved = states("town")
    assert towns_moved[neighbour.slug] != towns_start[neighbour.slug]
    assert towns_moved[here.slug] == towns_start[here.slug]
    assert towns_moved[elsewhere.slug] != towns_start[elsewhere.slug]
    moved = states()
    # A value moved to a town of another region retires both regions.
    value = IndicatorValue.objects.visible_to(None).filter(town=here).first()
    commit(
        "UPDATE towns_indicatorvalue SET town_id = %s, year = 2099 WHERE id = %s",
        [elsewhere.pk, value.pk],
        revert=(
            "UPDATE towns_indicatorvalue SET town_id = %s, year = %s WHERE id = %s",
            [here.pk, value.year, value.pk],
        ),
    )
    after = states()
    assert after[here.slug] != moved[here.slug] and after[elsewhere.slug] != moved[elsewhere.slug]
    after_towns = states("town")
    assert after_towns[here.slug] != towns_moved[here.slug]
    assert after_towns[elsewhere.slug] != towns_moved[elsewhere.slug]
    assert after_towns[neighbour.slug] == towns_moved[neighbour.slug]
    # A draft written anywhere retires nothing; an unknown slug counts every write.
    draft = IndicatorValue.objects.filter(town=here, state="draft").first()
    if draft is not None:
        commit("UPDATE towns_indicatorvalue SET value = value WHERE id = %s", [draft.pk])
        assert states() == after and states("town") == after_towns
    for scope in ("region", "town"):
        unknown = data_state(scope=scope, town="no-such-town")
        assert unknown.split("/")[-3] == data_state().split("/")[-3]
    # A read of no value counts the writes without a region only.
    regionless = data_state(scope="regionless")
    touch_value(commit, here)
    assert data_state(scope="regionless") == regionless
    commit("UPDATE towns_region SET name_en = name_en WHERE id = %s", [here.region_id])
    assert data_state(scope="regionless") != regionless


def test_the_facts_fingerprint_follows_the_criteria_values_only(three_towns, commit):
    """The "facts" scope (a profile, a dashboard but its indicators' section): the town's
    writes of its criteria's values and every write without a region; not its other values,
    not another town's."""
    here, neighbour, elsewhere = three_towns

    def states(scope="facts"):
        return {t.slug: data_state(scope=scope, town=t.slug) for t in (here, neighbour, elsewhere)}

    facts, series = states(), states("town")
    touch_value(commit, here, facts=False)
    assert states() == facts, "a value the profile does not read moved its fingerprint"
    moved = states("town")
    assert moved[here.slug] != series[here.slug]
    assert moved[neighbour.slug] == series[neighbour.slug]
    touch_value(commit, here)
    after = states()
    assert after[here.slug] != facts[here.slug]
    assert {k: v for k, v in after.items() if k != here.slug} == {
        k: v for k, v in facts.items() if k != here.slug
    }
    assert states("town")[here.slug] != moved[here.slug]
    # A criterion's value moved to another indicator counts as it was (and as it is).
    value = public_value(here)
    other = public_value(here, facts=False).indicator_id
    commit(
        "UPDATE towns_indicatorvalue SET indicator_id = %s, year = 2099 WHERE id = %s",
        [other, value.pk],
        revert=(
            "UPDATE towns_indicatorvalue SET indicator_id = %s, year = %s WHERE id = %s",
            [value.indicator_id, value.year, value.pk],
        ),
    )
    assert states()[here.slug] != after[here.slug]
    # A write without a region counts for every town's facts.
    before = states()
    commit("UPDATE towns_region SET name_en = name_en WHERE id = %s", [here.region_id])
    assert all(states()[slug] != before[slug] for slug in before)
    # An unknown slug counts every write.
    unknown = data_state(scope="facts", town="no-such-town")
    assert unknown.split("/")[-3] == data_state().split("/")[-3]


def test_a_town_keeps_one_row_of_writes_of_each_kind(three_towns, commit):
    """Each town's writes are folded as they come: its count stays one row per kind (of its
    facts, of its other values), and exact."""
    here, _neighbour, _elsewhere = three_towns

    def town_rows():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT facts, count(*), sum(weight) FROM atlas_town_writes WHERE town = %s "
                "GROUP BY facts",
                [here.pk],
            )
            return {facts: (rows, weight) for facts, rows, weight in cursor.fetchall()}

    before = town_rows()
    for _ in range(5):
        touch_value(commit, here)
    for _ in range(3):
        touch_value(commit, here, facts=False)
    after = town_rows()
    assert after[True] == (1, before.get(True, (0, 0))[1] + 5)
    assert after[False] == (1, before.get(False, (0, 0))[1] + 3)


# --- A town's own stored aggregates (issue 19, point 3) ---------------------------------------


def other_typology(town: Town) -> str:
    return next(value for value in Typology.values if value != town.typology)


def set_aggregates(commit, town: Town, *, also: str = "") -> None:
    """Commit new stored aggregates of ``town`` (typology, share of "our own", the time), as
    an approved influence claim writes them (``towns.profile.refresh_town_aggregates``), with
    ``also`` (SQL assignments) written in the same statement; put back after the test."""
    extra = f", {also}" if also else ""
    commit(
        "UPDATE towns_town SET typology = %s, own_share = 0.123, updated_at = now()"  # noqa: S608
        f"{extra} WHERE id = %s",
        [other_typology(town), town.pk],
        revert=(
            "UPDATE towns_town SET typology = %s, own_share = %s, updated_at = %s, "
            "name_en = %s, population = %s WHERE id = %s",
            [
                *(town.typology, town.own_share, town.updated_at),
                *(town.name_en, town.population, town.pk),
            ],
        ),
    )


def test_a_towns_aggregates_retire_its_reads_the_lists_and_the_map_only(three_towns, commit):
    """As a reader sees it: new stored aggregates of one town (an approved influence claim
    changed its typology) are shown at once by its own pages, the lists of towns, the map and
    the reads of every town; another town's pages, of its region or not, are still served
    from the cache (none of them shows this town's typology)."""
    here, neighbour, elsewhere = three_towns
    client = Client()
    others = reads(neighbour) + reads(elsewhere)
    prime(client, reads(here) + others + REGIONLESS + EVERYONES)
    set_aggregates(commit, here)
    for path in reads(here) + REGIONLESS + EVERYONES:
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    for path in others:
        assert hit(get(client, path)), f"{path} lost its entry to another town's aggregates"
    new = other_typology(here)
    assert get(client, f"{API}towns/{here.slug}/").json()["typology"] == new
    features = get(client, f"{API}towns.geojson").json()["features"]
    shown = {f["properties"]["slug"]: f["properties"]["typology"] for f in features}
    assert shown[here.slug] == new
    label = str(Typology(new).label)
    assert label in get(client, f"/towns/{here.slug}/").content.decode()


def test_any_other_change_of_a_town_counts_for_everything(three_towns, commit):
    """The fingerprints: a town's aggregates alone move its own, the lists' and every town's
    reads (``regionless``, the whole), not another town's; the same write with a name, or with
    another town's population in the same statement, moves every fingerprint; a write that
    changes nothing of a town moves its own only."""
    here, neighbour, elsewhere = three_towns
    towns = (here, neighbour, elsewhere)

    def everything():
        return scoped_states(towns), data_state(scope="regionless"), data_state()

    before, regionless, whole = everything()
    set_aggregates(commit, here)
    after, moved_regionless, moved_whole = everything()
    assert moved_regionless != regionless and moved_whole != whole
    for scope in ("facts", "town", "region"):
        assert after[scope][0] != before[scope][0], f"the town's {scope} reads kept theirs"
        assert after[scope][1] == before[scope][1], f"a neighbour's {scope} reads moved"
        assert after[scope][2] == before[scope][2], f"another region's {scope} reads moved"
    # With a name: every reader.
    set_aggregates(commit, here, also="name_en = name_en || ' (renamed)'")
    renamed, _regionless, _whole = everything()
    for scope in ("facts", "town", "region"):
        assert renamed[scope][1] != after[scope][1] and renamed[scope][2] != after[scope][2]
    # One town's aggregates and another's population in one statement: every reader.
    commit(
        "UPDATE towns_town SET typology = CASE WHEN id = %s THEN %s ELSE typology END, "
        "population = CASE WHEN id = %s THEN coalesce(population, 0) + 1 ELSE population END, "
        "population_year = CASE WHEN id = %s THEN coalesce(population_year, 2020) "
        "ELSE population_year END WHERE id IN (%s, %s)",
        [here.pk, here.typology, neighbour.pk, neighbour.pk, here.pk, neighbour.pk],
        revert=(
            "UPDATE towns_town SET population = %s, population_year = %s WHERE id = %s",
            [neighbour.population, neighbour.population_year, neighbour.pk],
        ),
    )
    mixed, _regionless, _whole = everything()
    assert all(mixed[scope][2] != renamed[scope][2] for scope in ("facts", "town", "region"))
    # Nothing changed: the town's own reads only (its count moves; nothing else need).
    commit("UPDATE towns_town SET name_en = name_en WHERE id = %s", [here.pk])
    same, _regionless, _whole = everything()
    assert same["facts"][0] != mixed["facts"][0]
    assert [same[s][1:] for s in same] == [mixed[s][1:] for s in mixed]


# --- The research records of one town (issue 19, point 3) -------------------------------------

#: Every research model whose rows belong to one town and are read by that town's pages (and
#: those of the towns they are linked to) only, besides the lists and exports of all towns.
SCOPED_CLAIMS = [
    Activity,
    Influence,
    Appointment,
    ManagementMechanism,
    SocietyObservation,
    SelfOrganisationEvent,
    CommunicationSite,
    CooperationCase,
    CulturalAsset,
]


def linked_towns(row) -> set[int]:
    """The towns whose pages show ``row`` besides its own, found through the ORM (not the
    triggers' SQL): a management mechanism lists the activities it suppresses or tolerates,
    of any town."""
    if isinstance(row, Activity):
        mechanisms = ManagementMechanism.objects.filter(Q(suppresses=row) | Q(tolerates=row))
        return set(mechanisms.values_list("town", flat=True))
    if isinstance(row, ManagementMechanism):
        activities = Activity.objects.filter(Q(suppressed_by=row) | Q(tolerated_by=row))
        return set(activities.values_list("town", flat=True))
    return set()


def scoped_states(towns) -> dict[str, list[str]]:
    return {
        scope: [data_state(scope=scope, town=t.slug) for t in towns]
        for scope in ("facts", "town", "region")
    }


def apart_from(row) -> tuple[Town, Town, Town]:
    """``row``'s town, a town of its region and one of another region, neither linked to it
    (towns with public values, whose pages :func:`reads` names)."""
    here = row.town
    linked = linked_towns(row)
    with_values = Town.objects.filter(pk__in=IndicatorValue.objects.visible_to(None).values("town"))
    others = with_values.exclude(pk__in={here.pk, *linked}).order_by("slug")
    neighbour = others.filter(region=here.region).first()
    linked_regions = Town.objects.filter(pk__in=linked).values("region")
    elsewhere = others.exclude(region=here.region).exclude(region__in=linked_regions).first()
    assert neighbour and elsewhere, "the demo data has towns in several regions"
    return here, neighbour, elsewhere


@pytest.mark.parametrize("model", SCOPED_CLAIMS, ids=lambda model: model.__name__)
def test_a_towns_record_counts_for_its_town_and_region_only(model, commit):
    """A published record of one town, written, moves the fingerprints of its town's reads
    and every read of all towns; not another town's (of its region: their pages show the
    region's values, not its claims), not the lists of towns (which show none of it)."""
    row = model.objects.filter(state="published").order_by("pk").first()
    assert row is not None, f"the demo data has a published {model.__name__}"
    here, neighbour, elsewhere = apart_from(row)
    before, regionless, everything = (
        scoped_states((here, neighbour, elsewhere)),
        data_state(scope="regionless"),
        data_state(),
    )
    commit(f"UPDATE {model._meta.db_table} SET state = state WHERE id = %s", [row.pk])  # noqa: S608
    after = scoped_states((here, neighbour, elsewhere))
    assert data_state() != everything, "a read of all towns kept its fingerprint"
    for scope in ("facts", "town", "region"):
        assert after[scope][0] != before[scope][0], f"the town's {scope} reads kept theirs"
    # Another town of its region reads only the region's values, not its claims.
    for scope in ("facts", "town", "region"):
        assert after[scope][1] == before[scope][1], f"another town's {scope} reads moved"
        assert after[scope][2] == before[scope][2], f"another region's {scope} reads moved"
    assert data_state(scope="regionless") == regionless, "the lists of towns moved"


def test_a_record_of_another_town_keeps_a_cached_profile(commit):
    """As a reader sees it: an influence claim approved in one town leaves the cached profile
    and dashboard of a town of its region and of another, and the lists of towns, served from
    the cache; its own town's are computed again."""
    row = Influence.objects.filter(state="published").order_by("pk").first()
    here, neighbour, elsewhere = apart_from(row)
    client = Client()
    others = reads(neighbour) + reads(elsewhere) + REGIONLESS
    prime(client, reads(here) + others)
    commit("UPDATE towns_influence SET state = state WHERE id = %s", [row.pk])
    for path in reads(here):
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    for path in others:
        assert hit(get(client, path)), f"{path} lost its entry to another town's record"


def test_a_way_of_life_counts_for_the_facts_of_its_regions_towns_only(commit):
    """Every town's advice compares the ways of life of its region (``enrich_region_ways``): a
    published way of life written moves the facts of every town of its region (their profiles
    and dashboards), and no other region's, nor the lists of towns. As a reader sees it, a
    neighbour's cached profile is computed again, another region's is still a hit."""
    row = WayOfLife.objects.filter(state="published").order_by("pk").first()
    assert row is not None, "the demo data has a published way of life"
    here = row.town
    with_values = Town.objects.filter(pk__in=IndicatorValue.objects.visible_to(None).values("town"))
    region = list(Town.objects.filter(region=here.region_id).exclude(pk=here.pk).order_by("pk"))
    elsewhere = with_values.exclude(region=here.region_id).order_by("slug").first()
    assert region and elsewhere
    client = Client()
    neighbour = region[0]
    prime(client, facts_reads(neighbour) + facts_reads(elsewhere) + REGIONLESS)
    before = {t.pk: data_state(scope="facts", town=t.slug) for t in (here, *region, elsewhere)}
    regionless, everything = data_state(scope="regionless"), data_state()
    commit("UPDATE towns_wayoflife SET state = state WHERE id = %s", [row.pk])
    after = {t.pk: data_state(scope="facts", town=t.slug) for t in (here, *region, elsewhere)}
    moved = {pk for pk in before if before[pk] != after[pk]}
    assert moved == {here.pk, *(t.pk for t in region)}, "not exactly its region's towns moved"
    assert data_state(scope="regionless") == regionless and data_state() != everything
    assert not hit(get(client, facts_reads(neighbour)[0])), "a neighbour kept its profile"
    for path in facts_reads(elsewhere) + REGIONLESS:
        assert hit(get(client, path)), f"{path} lost its entry to another region's way of life"


def test_a_link_counts_for_the_towns_of_both_its_records(commit):
    """A management mechanism of one town that suppresses an activity of another shows it on
    its town's page: the link, and then any write of the activity, counts for both towns; a
    link between records nobody outside the research team sees counts for none."""
    mechanism = ManagementMechanism.objects.filter(state="published").order_by("pk").first()
    activity = (
        Activity.objects.filter(state="published")
        .exclude(town__region=mechanism.town.region)
        .order_by("pk")
        .first()
    )
    assert activity is not None, "the demo data has activities in several regions"
    bystander = (
        Town.objects.exclude(region__in=[mechanism.town.region_id, activity.town.region_id])
        .order_by("slug")
        .first()
    )
    towns = (mechanism.town, activity.town, bystander)
    link = "towns_managementmechanism_suppresses"

    def facts():
        return scoped_states(towns)["facts"]

    before = facts()
    commit(
        f"INSERT INTO {link} (managementmechanism_id, activity_id) VALUES (%s, %s)",  # noqa: S608
        [mechanism.pk, activity.pk],
        revert=(
            f"DELETE FROM {link} WHERE managementmechanism_id = %s AND activity_id = %s",  # noqa: S608
            [mechanism.pk, activity.pk],
        ),
    )
    linked = facts()
    assert linked[0] != before[0] and linked[1] != before[1], "a linked town kept its state"
    assert linked[2] == before[2], "a town the link is not about moved"
    # The activity, written, now counts for the mechanism's town too.
    commit("UPDATE towns_activity SET state = state WHERE id = %s", [activity.pk])
    touched = facts()
    assert touched[0] != linked[0] and touched[1] != linked[1]
    assert touched[2] == linked[2]
    # Both made drafts (which counts: they were published), a link between them counts for no
    # one.
    for table, pk in (("towns_managementmechanism", mechanism.pk), ("towns_activity", activity.pk)):
        commit(
            f"UPDATE {table} SET state = 'draft' WHERE id = %s",  # noqa: S608
            [pk],
            revert=(f"UPDATE {table} SET state = 'published' WHERE id = %s", [pk]),  # noqa: S608
        )
    drafts, everything = facts(), data_state()
    commit(
        f"DELETE FROM {link} WHERE managementmechanism_id = %s AND activity_id = %s",  # noqa: S608
        [mechanism.pk, activity.pk],
    )
    assert facts() == drafts and data_state() == everything, "a link of drafts counted"


def test_a_link_to_a_record_not_found_counts_for_everything():
    """A link naming a record that does not exist (the foreign key is checked at commit)
    cannot be placed in a town: it counts for every reader."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) + 1000 FROM towns_activity")
        (missing,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO towns_activity_sources (activity_id, source_id) "
            "SELECT %s, min(id) FROM governance_source",
            [missing],
        )
        cursor.execute("SELECT current_setting('atlas.write_logged', true)")
        (logged,) = cursor.fetchone()
        # Rolled back before the test's end, where every deferred constraint is checked.
        transaction.set_rollback(True)
    assert ",g," in logged


def test_a_quarters_value_counts_for_its_towns_series_only(three_towns, commit):
    """The regional ranks and medians, and the profile, read the yearly values only: a
    quarter's value published in one town moves that town's series (and its own pages'
    states), not its profile, not its region's other towns."""
    here, neighbour, elsewhere = three_towns
    value = public_value(here)  # of a criterion's indicator: the profile would read its year
    columns = [f.column for f in IndicatorValue._meta.concrete_fields if not f.primary_key]
    chosen = {"year": "2099", "quarter": "2"}
    select = ", ".join(chosen.get(c, c) for c in columns)
    towns = (here, neighbour, elsewhere)
    before = scoped_states(towns)
    commit(
        f"INSERT INTO towns_indicatorvalue ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {select} FROM towns_indicatorvalue WHERE id = %s",
        [value.pk],
        revert=(
            "DELETE FROM towns_indicatorvalue WHERE town_id = %s AND indicator_id = %s "
            "AND year = 2099 AND quarter = 2",
            [here.pk, value.indicator_id],
        ),
    )
    after = scoped_states(towns)
    assert after["town"][0] != before["town"][0], "the town's series kept its state"
    assert after["facts"][0] == before["facts"][0], "a quarter's value moved the profile"
    assert after["region"][1] == before["region"][1], "a quarter's value moved the region's"
    assert after["region"][2] == before["region"][2]
    # The same value for the whole year moves the region's towns and the profile.
    commit(
        "UPDATE towns_indicatorvalue SET quarter = 0 WHERE town_id = %s AND indicator_id = %s "
        "AND year = 2099 AND quarter = 2",
        [here.pk, value.indicator_id],
        revert=(
            "DELETE FROM towns_indicatorvalue WHERE town_id = %s AND indicator_id = %s "
            "AND year = 2099 AND quarter = 0",
            [here.pk, value.indicator_id],
        ),
    )
    yearly = scoped_states(towns)
    assert yearly["facts"][0] != after["facts"][0]
    assert yearly["region"][1] != after["region"][1]
    assert yearly["region"][2] == after["region"][2]


# --- CSOs: read by the towns they serve (issue 19, point 3) ------------------------------------

#: A CSO and the records hanging off it: read by the pages of the towns it serves (the
#: civil-society panel, the CSO network, the strategy advice), and by the reads of all towns.
CSO_RECORDS = [CSO, CSOLink, CSOLeadership, CapacityScore]


def csos_of(row) -> list[CSO]:
    if isinstance(row, CSO):
        return [row]
    if isinstance(row, CSOLink):
        return [row.source_cso, row.target_cso]
    return [row.cso]


def towns_near(row) -> set[int]:
    """Every town whose reads may show ``row`` (found through the ORM, not the triggers' SQL):
    the towns its CSOs serve, those of the CSOs linked to them and of their cooperation cases."""
    csos = {cso.pk for cso in csos_of(row)}
    linked = CSOLink.objects.filter(Q(source_cso__in=csos) | Q(target_cso__in=csos))
    csos |= {pk for pair in linked.values_list("source_cso", "target_cso") for pk in pair}
    return set(Town.objects.filter(csos__in=csos).values_list("pk", flat=True)) | set(
        CooperationCase.objects.filter(csos__in=csos).values_list("town", flat=True)
    )


def written_moves_exactly(commit, row, shown: list[Town], apart: Town) -> str:
    """Commit ``row`` written again (as an approval does) and check that it moved the three
    fingerprints of each of the towns ``shown`` and every read of all towns, and neither
    those of the town ``apart`` nor the lists of towns'; returns ``apart``'s facts after."""
    towns = (*shown, apart)
    before, regionless, everything = (
        scoped_states(towns),
        data_state(scope="regionless"),
        data_state(),
    )
    commit(f"UPDATE {row._meta.db_table} SET state = state WHERE id = %s", [row.pk])  # noqa: S608
    after = scoped_states(towns)
    assert data_state() != everything, "a read of all towns kept its fingerprint"
    for scope in ("facts", "town", "region"):
        for i, town in enumerate(shown):
            assert after[scope][i] != before[scope][i], f"{town}'s {scope} reads kept theirs"
        assert after[scope][-1] == before[scope][-1], f"a town apart's {scope} reads moved"
    assert data_state(scope="regionless") == regionless, "the lists of towns moved"
    return after["facts"][-1]


@pytest.mark.parametrize("model", CSO_RECORDS, ids=lambda model: model.__name__)
def test_a_csos_record_counts_for_the_towns_it_serves_only(model, commit):
    """A published CSO, link, leadership or score written moves the fingerprints of the towns
    its CSOs serve (all three scopes) and every read of all towns; not a town apart, not the
    lists of towns (which show no CSO)."""
    row = model.objects.filter(state="published").order_by("pk").first()
    assert row is not None, f"the demo data has a published {model.__name__}"
    served = list(Town.objects.filter(csos__in=csos_of(row)).distinct().order_by("pk"))
    assert served, "its CSO serves a town"
    apart = Town.objects.exclude(pk__in=towns_near(row)).order_by("slug").first()
    written_moves_exactly(commit, row, served, apart)


def test_a_csos_write_retires_the_pages_of_its_towns_only(commit):
    """As a reader sees it: a CSO written is shown anew on the dashboard and in the profile of
    the town it serves, and in the CSO directory; another town's cached pages and the lists
    of towns are still served from the cache."""
    cso = CSO.objects.filter(state="published", towns__isnull=False).order_by("pk").first()
    here = cso.towns.order_by("pk").first()
    with_values = Town.objects.filter(pk__in=IndicatorValue.objects.visible_to(None).values("town"))
    apart = with_values.exclude(pk__in=towns_near(cso)).order_by("slug").first()
    client = Client()
    mine = [f"/towns/{here.slug}/", *facts_reads(here), "/csos/", f"/csos/{cso.slug}/"]
    others = [f"/towns/{apart.slug}/", *facts_reads(apart), *REGIONLESS]
    prime(client, mine + others)
    commit(
        "UPDATE csos_cso SET name_en = %s WHERE id = %s",
        ["Scoped Reads Society", cso.pk],
        revert=("UPDATE csos_cso SET name_en = %s WHERE id = %s", [cso.name_en, cso.pk]),
    )
    for path in mine:
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    assert "Scoped Reads Society" in get(client, f"/towns/{here.slug}/").content.decode()
    for path in others:
        assert hit(get(client, path)), f"{path} lost its entry to a CSO it does not show"


def test_the_towns_a_cso_serves_count_as_they_were_and_as_they_are(commit):
    """A CSO added to a town moves that town's fingerprints; removed, too (the link's row
    names it, though the CSO no longer does); a CSO that serves no town is on no town's page:
    it counts for the reads of all towns only."""
    cso = CSO.objects.filter(state="published", towns__isnull=False).order_by("pk").first()
    served = set(cso.towns.values_list("pk", flat=True))
    new = Town.objects.exclude(pk__in=towns_near(cso)).order_by("slug").first()
    apart = Town.objects.exclude(pk__in={*towns_near(cso), new.pk}).order_by("slug").first()
    link = CSO.towns.through._meta.db_table

    def facts():
        return scoped_states((new, apart))["facts"]

    before = facts()
    commit(
        f"INSERT INTO {link} (cso_id, town_id) VALUES (%s, %s)",  # noqa: S608
        [cso.pk, new.pk],
        revert=(f"DELETE FROM {link} WHERE cso_id = %s AND town_id = %s", [cso.pk, new.pk]),  # noqa: S608
    )
    added = facts()
    assert added[0] != before[0] and added[1] == before[1]
    commit(f"DELETE FROM {link} WHERE cso_id = %s AND town_id = %s", [cso.pk, new.pk])  # noqa: S608
    removed = facts()
    assert removed[0] != added[0] and removed[1] == added[1]
    # Serving no town: every reader.
    commit(
        f"DELETE FROM {link} WHERE cso_id = %s",  # noqa: S608
        [cso.pk],
        revert=(
            f"INSERT INTO {link} (cso_id, town_id) SELECT %s, unnest(%s::bigint[])",
            [cso.pk, sorted(served)],
        ),
    )
    alone, everything = facts(), data_state()
    commit("UPDATE csos_cso SET state = state WHERE id = %s", [cso.pk])
    assert facts() == alone, "a CSO serving no town counted for a town"
    assert data_state() != everything, "a CSO serving no town did not count for all towns"


# --- People and groups: read through the town's records linked to them ------------------------


def reading_towns(row) -> set[int]:
    """The towns whose pages show a person or a group (found through the ORM, not the
    triggers' SQL): of the appointments they hold or shape, the influence claims about the
    group, the mechanisms it takes part in, the CSOs the person leads."""
    if isinstance(row, Person):
        return {
            *Appointment.objects.filter(Q(person=row) | Q(influenced_by_persons=row)).values_list(
                "town", flat=True
            ),
            *Town.objects.filter(csos__leaderships__person=row).values_list("pk", flat=True),
        }
    return {
        *Influence.objects.filter(group=row).values_list("town", flat=True),
        *Appointment.objects.filter(influenced_by_groups=row).values_list("town", flat=True),
        *ManagementMechanism.objects.filter(groups=row).values_list("town", flat=True),
    }


@pytest.mark.parametrize("model", [Person, InfluenceGroup], ids=lambda model: model.__name__)
def test_a_person_or_group_counts_for_the_towns_that_show_them(model, commit):
    """A published person or influence group written moves the fingerprints of the towns
    whose records link it (three scopes) and every read of all towns; not a town apart, not
    the lists of towns. One that no record of a town links counts for the reads of all towns
    only."""
    rows = model.objects.filter(state="published").order_by("pk")
    row = next((r for r in rows if reading_towns(r)), None)
    assert row is not None, f"the demo data has a published {model.__name__} linked to a town"
    shown = list(Town.objects.filter(pk__in=reading_towns(row)).order_by("pk"))
    apart = Town.objects.exclude(pk__in=[t.pk for t in shown]).order_by("slug").first()
    after = written_moves_exactly(commit, row, shown, apart)
    everything_after = data_state()
    # A new one (a copy of the row), which no record of a town links yet: the reads of all
    # towns only.
    table = model._meta.db_table
    columns = ", ".join(f.column for f in model._meta.concrete_fields if not f.primary_key)
    commit(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE id = %s",  # noqa: S608
        [row.pk],
        revert=(f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})", []),  # noqa: S608
    )
    assert scoped_states([apart])["facts"][0] == after, "a row no town shows counted for one"
    assert data_state() != everything_after, "a new row did not count for all towns"


def test_a_persons_write_retires_the_pages_of_their_towns_only(commit):
    """As a reader sees it: a person holding a post in one town, written, is shown anew on
    that town's dashboard and profile; another town's cached pages and the lists of towns
    are still served from the cache."""
    person = next(
        p for p in Person.objects.filter(state="published").order_by("pk") if reading_towns(p)
    )
    here = Town.objects.filter(pk__in=reading_towns(person)).order_by("pk").first()
    with_values = Town.objects.filter(pk__in=IndicatorValue.objects.visible_to(None).values("town"))
    apart = with_values.exclude(pk__in=reading_towns(person)).order_by("slug").first()
    client = Client()
    mine = [f"/towns/{here.slug}/", *facts_reads(here)]
    others = [f"/towns/{apart.slug}/", *facts_reads(apart), *REGIONLESS]
    prime(client, mine + others)
    commit("UPDATE towns_person SET state = state WHERE id = %s", [person.pk])
    for path in mine:
        assert not hit(get(client, path)), f"{path} kept a read the write retired"
    for path in others:
        assert hit(get(client, path)), f"{path} lost its entry to a person it does not show"


# --- Ties and memberships: read by no town's page ---------------------------------------------


@pytest.mark.parametrize("model", [Tie, GroupMembership], ids=lambda model: model.__name__)
def test_a_tie_or_membership_counts_for_the_reads_of_all_towns_only(model, commit):
    """No town's page reads an informal tie or a group membership: a published one written,
    or a link of its sources, moves the fingerprint of the reads of all towns (the API's
    people, groups and ties, the exports), and no town's, nor the lists'. As a reader sees
    it, the people's town pages stay hits while the list of groups is computed again."""
    row = model.objects.filter(state="published").order_by("pk").first()
    assert row is not None, f"the demo data has a published {model.__name__}"
    person = row.person_a if isinstance(row, Tie) else row.person
    towns = list(Town.objects.filter(pk__in=reading_towns(person)).order_by("pk")[:2])
    towns.append(Town.objects.exclude(pk__in=[t.pk for t in towns]).order_by("slug").first())
    client = Client()
    pages = [f"/towns/{town.slug}/" for town in towns]
    prime(client, [*pages, *REGIONLESS, f"{API}influence-groups/"])
    before, regionless, everything = (
        scoped_states(towns),
        data_state(scope="regionless"),
        data_state(),
    )
    table = model._meta.db_table
    commit(f"UPDATE {table} SET state = state WHERE id = %s", [row.pk])  # noqa: S608
    assert data_state() != everything, "the reads of all towns kept their fingerprint"
    assert scoped_states(towns) == before, "a town's reads moved"
    assert data_state(scope="regionless") == regionless, "the lists of towns moved"
    for path in [*pages, *REGIONLESS]:
        assert hit(get(client, path)), f"{path} lost its entry to a record it does not show"
    assert not hit(get(client, f"{API}influence-groups/")), "a read of all kept its entry"
    # A link of its sources (one more source cited): the same.
    field = model._meta.get_field("sources")
    links, column = field.remote_field.through._meta.db_table, field.m2m_column_name()
    source = Source.objects.exclude(pk__in=row.sources.values("pk")).order_by("pk").first()
    moved = data_state()
    commit(
        f"INSERT INTO {links} ({column}, source_id) VALUES (%s, %s)",  # noqa: S608
        [row.pk, source.pk],
        revert=(f"DELETE FROM {links} WHERE {column} = %s AND source_id = %s", [row.pk, source.pk]),  # noqa: S608
    )
    assert data_state() != moved, "the reads of all towns kept their fingerprint"
    assert scoped_states(towns) == before, "a town's reads moved"


# --- Sources: read through the records that cite them -----------------------------------------


def citing_towns(source: Source) -> set[int]:
    """The towns whose records cite ``source`` (found through the ORM: every model with a
    ``sources`` field that belongs to one town, the CSOs' towns, and the values)."""
    towns = set(IndicatorValue.objects.filter(source=source).values_list("town", flat=True))
    for model in (*SCOPED_CLAIMS, WayOfLife):
        towns |= set(model.objects.filter(sources=source).values_list("town", flat=True))
    csos = CSO.objects.filter(sources=source).values("pk")
    return towns | set(Town.objects.filter(csos__in=csos).values_list("pk", flat=True))


def test_a_source_counts_for_the_towns_whose_records_cite_it(commit):
    """A published source cited by a town's claims moves that town's fingerprints, not a town
    apart's nor the lists'; a dataset (cited by values across most towns) counts for every
    reader; a new source, which nothing cites yet, for the reads of all towns only."""
    sources = Source.objects.filter(state="published").exclude(kind__in=Source.EVERYWHERE_KINDS)
    source = next(s for s in sources.order_by("pk") if citing_towns(s))
    shown = list(Town.objects.filter(pk__in=citing_towns(source)).order_by("pk"))
    apart = Town.objects.exclude(pk__in=[t.pk for t in shown]).order_by("slug").first()
    after = written_moves_exactly(commit, source, shown, apart)
    dataset = Source.objects.filter(state="published", kind=Source.Kind.DATASET).first()
    assert dataset is not None, "the demo data has a published dataset"
    commit("UPDATE governance_source SET state = state WHERE id = %s", [dataset.pk])
    moved = scoped_states([apart])["facts"][0]
    assert moved != after, "a dataset did not count for every town"
    everything = data_state()
    columns = ", ".join(f.column for f in Source._meta.concrete_fields if not f.primary_key)
    commit(
        f"INSERT INTO governance_source ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM governance_source WHERE id = %s",
        [source.pk],
        revert=(
            "DELETE FROM governance_source WHERE id = (SELECT max(id) FROM governance_source)",
            [],
        ),
    )
    assert scoped_states([apart])["facts"][0] == moved, "a source nothing cites counted for a town"
    assert data_state() != everything, "a new source did not count for all towns"
    # The dataset cited by one more claim: that claim's town, not every town citing it.
    activity = Activity.objects.filter(state="published").exclude(town=apart).first()
    before = scoped_states([activity.town, apart])["facts"]
    commit(
        "INSERT INTO towns_activity_sources (activity_id, source_id) VALUES (%s, %s)",
        [activity.pk, dataset.pk],
        revert=(
            "DELETE FROM towns_activity_sources WHERE activity_id = %s AND source_id = %s",
            [activity.pk, dataset.pk],
        ),
    )
    after = scoped_states([activity.town, apart])["facts"]
    assert after[0] != before[0], "the citing claim's town kept its state"
    assert after[1] == before[1], "a citation counted for the other towns citing the source"
