"""Kept town dashboards (towns/kept.py, kinds "dashboard" and "indicators"): the HTML of a
town's page between its header and footer, in two parts: the indicators' section, computed
once per change of its *region's* data (it shows the regional ranks and medians), and the
rest, once per change of the *town's*; put together byte for byte what the page renders,
never behind the data, never kept for a research reader, and off with
``KEPT_PROFILES=false``.

As in tests/towns/test_kept_profiles.py, rows are kept only under a state that no transaction
of its own has written to: personas are created after the rows they are compared with, and
the write that must make rows stale is committed on a connection of its own and put back.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from governance.access import Viewer
from tests.governance.test_scoped_reads import set_value
from tests.personas import build_persona
from tests.towns.test_kept_profiles import towns_with_partner_records
from towns import kept
from towns.models import IndicatorValue, KeptProfile, Town, Typology
from towns.profile import CRITERIA_CODES
from towns.views import INDICATORS_MARK

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def read_cache_off(settings):
    """The read cache off, as in the benchmark's cold column: every page here is rendered
    around a kept dashboard or a computed one, never a cached response."""
    settings.READ_CACHE_TIMEOUT = 0


def page(town: Town, language: str = "") -> str:
    prefix = f"/{language}" if language else ""
    return f"{prefix}/towns/{town.slug}/"


def dashboards(**filters):
    """The kept pages but their indicators' sections."""
    return KeptProfile.objects.filter(kind=kept.DASHBOARD.name, **filters)


def sections(**filters):
    """The kept indicators' sections."""
    return KeptProfile.objects.filter(kind=kept.INDICATORS.name, **filters)


def kept_page(town: Town, **filters) -> str:
    """The dashboard of ``town`` as its two kept parts make it."""
    page = dashboards(town=town, **filters).get().body
    assert page.count(INDICATORS_MARK) == 1
    section = sections(town=town, **filters).get().body
    assert INDICATORS_MARK not in section
    return kept.assemble(page, section)


def read_records(queries, tables=None) -> list[str]:
    """The queries of a dashboard's own records (what a kept dashboard spares)."""
    tables = tables or ("towns_influence", "towns_indicatorvalue", "csos_cso", "towns_activity")
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in tables)]


#: The records of the page but its indicators' section.
NOT_VALUES = ("towns_influence", "csos_cso", "towns_activity")


def test_a_kept_dashboard_is_the_rendered_page_and_spares_its_queries(settings):
    """The first anonymous visit renders and keeps the dashboard's two parts; the next is the
    same page, with both parts read from the kept rows in one query and none of its records
    read; with the kept reads off the page is rendered again, the same bytes."""
    town = Town.objects.get(slug="olshany")
    client = Client()
    first = client.get(page(town))
    assert first.status_code == 200
    for row in (dashboards(town=town).get(), sections(town=town).get()):
        assert (row.level, row.language, row.as_of) == (
            Viewer.PUBLIC,
            "en",
            timezone.localdate(),
        )
    assert kept_page(town) in first.content.decode()
    assert "Ольшаны" in dashboards(town=town).get().body  # the page's content, not its frame
    assert 'data-section="what"' in sections(town=town).get().body
    with CaptureQueriesContext(connection) as queries:
        second = client.get(page(town))
    assert second.content == first.content
    assert len([q for q in queries.captured_queries if "towns_keptprofile" in q["sql"]]) == 1
    assert read_records(queries) == []
    assert len(queries.captured_queries) <= 4

    settings.KEPT_PROFILES = False
    with CaptureQueriesContext(connection) as queries:
        rendered = client.get(page(town))
    assert rendered.content == first.content
    assert not [q for q in queries.captured_queries if "towns_keptprofile" in q["sql"]]
    assert read_records(queries)
    assert client.get("/towns/no-such-town/").status_code == 404


def test_the_keeper_renders_what_each_level_is_shown():
    """Rows made by the keeper (the public's, and a partner's on request) are what the
    public and a partner are shown, and the two differ where a record is at partner level."""
    towns = towns_with_partner_records()
    assert towns, "the demo data has published records at partner level"
    ids = {town.pk for town in towns}
    both = [kept.DASHBOARD, kept.INDICATORS]
    entries = [e for e in kept.stale(kinds=both) if e.town_id in ids]
    # The keeper fills the public's dashboards (a partner's is kept by its first reader).
    assert {(e.kind, e.town_id, e.level) for e in entries} == {
        (kind, pk, Viewer.PUBLIC) for kind in both for pk in ids
    }
    partner = [kept.Stale(kind, pk, Viewer.PARTNER, "en") for kind in both for pk in ids]
    assert kept.refresh(entries + partner) == 4 * len(ids)
    assert not [e for e in kept.stale(kinds=both) if e.town_id in ids]

    differs = 0
    for town in towns:
        public = kept_page(town, level=Viewer.PUBLIC)
        partner_body = kept_page(town, level=Viewer.PARTNER)
        with CaptureQueriesContext(connection) as queries:
            shown = Client().get(page(town)).content.decode()
        assert read_records(queries) == []
        assert public in shown
        differs += public != partner_body
    assert differs, "a partner-level record changes the dashboard a partner sees"

    # The partner's page, rendered: the persona is created now, so this transaction has
    # written and nothing is read from or kept in the kept rows any more.
    partner_client = build_persona(get_user_model(), "partner").client
    for town in towns:
        with CaptureQueriesContext(connection) as queries:
            shown = partner_client.get(page(town)).content.decode()
        assert read_records(queries), "rendered, not read from the kept row"
        assert kept_page(town, level=Viewer.PARTNER) in shown


def test_a_committed_write_makes_its_towns_page_and_its_regions_sections_stale(commit):
    """A published value of one town, changed and committed elsewhere: the indicators'
    sections of its region are stale (they show the town's rank and the region's median), the
    rest of the page only for the town itself; another region's dashboards are served as they
    were. The town's page shows the new figure, and a neighbour's page computes only its
    section again."""
    population = IndicatorValue.objects.visible_to(None).filter(
        indicator__code="population", quarter=0
    )
    here = Town.objects.get(slug="turau")
    neighbour = Town.objects.filter(region=here.region).exclude(pk=here.pk).first()
    far = Town.objects.exclude(region=here.region).filter(pk__in=population.values("town")).first()
    assert neighbour is not None and far is not None
    client = Client()
    before = client.get(page(here)).content.decode()
    for town in (neighbour, far):
        client.get(page(town))
    assert dashboards(town__in=[here, neighbour, far]).count() == 3
    assert sections(town__in=[here, neighbour, far]).count() == 3
    assert stale_parts(here, neighbour, far) == set()

    ids = list(population.filter(town=here).values_list("pk", flat=True))
    assert ids, "the demo town has a population series"
    commit(
        "UPDATE towns_indicatorvalue SET value = value + 1000000 WHERE id = ANY(%s)",
        [ids],
        revert=(
            "UPDATE towns_indicatorvalue SET value = value - 1000000 WHERE id = ANY(%s)",
            [ids],
        ),
    )
    assert stale_parts(here, neighbour, far) == {
        ("dashboard", here.pk),
        ("indicators", here.pk),
        ("indicators", neighbour.pk),
    }
    with CaptureQueriesContext(connection) as queries:
        after = client.get(page(here)).content.decode()
    assert read_records(queries, NOT_VALUES), "the town's page rendered again"
    assert after != before
    with CaptureQueriesContext(connection) as queries:
        client.get(page(neighbour))
    assert read_records(queries, ("towns_indicatorvalue",)), "its section rendered again"
    assert read_records(queries, NOT_VALUES) == [], "the rest of its page is the kept one"
    with CaptureQueriesContext(connection) as queries:
        client.get(page(far))
    assert read_records(queries) == [], "another region's dashboard is still the kept one"


def test_a_value_the_profile_does_not_read_makes_only_the_regions_sections_stale(commit, settings):
    """A published value of an indicator the profile does not read (not a criterion's): the
    indicators' sections of its region are stale, the rest of the town's page and its profile
    are not (the "facts" scope). The town's page shows the new figure, from its section, and
    is byte for byte the page rendered whole."""
    here = Town.objects.get(slug="turau")
    neighbour = Town.objects.filter(region=here.region).exclude(pk=here.pk).first()
    value = (
        IndicatorValue.objects.visible_to(None)
        .filter(town=here, quarter=0)
        .exclude(indicator__code__in=CRITERIA_CODES)
        .order_by("-year", "pk")
        .first()
    )
    assert neighbour is not None and value is not None
    client = Client()
    before = client.get(page(here)).content.decode()
    client.get(page(neighbour))
    assert client.get(f"/api/v1/towns/{here.slug}/profile/").status_code == 200
    assert KeptProfile.objects.filter(town=here, kind=kept.PROFILE.name).exists()
    assert stale_parts(here, neighbour) == set()
    set_value(commit, value, "987654.321")
    assert stale_parts(here, neighbour) == {("indicators", here.pk), ("indicators", neighbour.pk)}
    stale_profiles = kept.stale(kinds=[kept.PROFILE])
    assert [e for e in stale_profiles if (e.town_id, e.level) == (here.pk, Viewer.PUBLIC)] == []
    # The neighbour first: the first page after a write also asks whether the site still shows
    # the demonstration banner (a query of every kind of record, once per state).
    client.get(page(neighbour))
    with CaptureQueriesContext(connection) as queries:
        after = client.get(page(here)).content.decode()
    assert read_records(queries, ("towns_indicatorvalue",)), "its section rendered again"
    assert read_records(queries, NOT_VALUES) == [], "the rest of its page is the kept one"
    assert after != before
    settings.KEPT_PROFILES = False
    assert Client().get(page(here)).content.decode() == after


def stale_parts(*towns: Town) -> set[tuple[str, int]]:
    ids = {town.pk for town in towns}
    return {
        (e.kind.name, e.town_id)
        for e in kept.stale(kinds=[kept.DASHBOARD, kept.INDICATORS])
        if e.town_id in ids
    }


def test_kept_per_language_and_never_for_research():
    """A page in another language is kept by its first reader, in that language; a
    research reader's page (logged field by field) is rendered and never kept."""
    town = Town.objects.get(slug="olshany")
    shown = Client().get(page(town, "be"))
    assert shown.status_code == 200
    assert dashboards(town=town).get().language == sections(town=town).get().language == "be"
    assembled = kept_page(town)
    assert assembled in shown.content.decode()
    with translation.override("en"):
        english = kept.render_dashboard(town, Viewer.PUBLIC)
    assert dashboards(town=town).get().body != english and 'href="/be/' not in english

    researcher = build_persona(get_user_model(), "researcher").client
    assert researcher.get(page(town)).status_code == 200
    assert list(dashboards(town=town).values_list("language", flat=True)) == ["be"]
    assert list(sections(town=town).values_list("language", flat=True)) == ["be"]


def test_a_keeper_pass_takes_the_profiles_first_and_fewer_towns_of_a_dearer_kind(monkeypatch):
    """A pass of the keeper's loop (``--batch`` towns) computes the stale profiles first; a
    pass of a dashboard's part, which costs about ``cost`` profiles, takes that many times
    fewer towns, so a profile made stale meanwhile does not wait behind a long pass."""
    from towns.management.commands.keep_profiles import Command

    command = Command()
    command.kinds, command.map, command.share = list(kept.KINDS), False, 1.0
    computed: list[kept.Stale] = []
    monkeypatch.setattr(kept, "refresh", lambda entries, **_: computed.extend(entries) or 0)
    command._pass((0, 1), limit=10)
    assert {e.kind for e in computed} == {kept.PROFILE}
    assert len({e.town_id for e in computed}) == 10
    assert len(computed) == 20  # both levels of each town

    every = kept.stale
    for kind in (kept.DASHBOARD, kept.INDICATORS):
        assert kind.cost > 1
        computed.clear()
        monkeypatch.setattr(
            kept, "stale", lambda *, part, kinds, kind=kind: every(part=part, kinds=[kind])
        )
        command._pass((0, 1), limit=10)
        assert {e.kind for e in computed} == {kind}
        assert len({e.town_id for e in computed}) == 10 // kind.cost


def test_an_approval_that_changes_a_typology_makes_only_its_towns_rows_stale(commit):
    """An approved influence claim changes its town's stored typology (a write of the town's
    row, in the approval's transaction): that town's kept profile, page and section are stale,
    and the kept map (it shows the typology); another town's, of its region or not, are not.
    Before the towns' own aggregates were scoped, every kept row of every town was."""
    from tests.governance.test_scoped_reads import other_typology
    from tests.towns.test_kept_profiles import stale_public
    from towns.models import Influence

    claim = Influence.objects.filter(state="published", deleted_at__isnull=True).first()
    here = claim.town
    neighbour = Town.objects.filter(region=here.region).exclude(pk=here.pk).first()
    far = Town.objects.exclude(region=here.region).first()
    assert neighbour is not None and far is not None
    client = Client()
    for town in (here, neighbour, far):
        assert client.get(page(town)).status_code == 200
        assert client.get(f"/api/v1/towns/{town.slug}/profile/").status_code == 200
    assert kept.refresh_map() and kept.map_current()
    assert stale_parts(here, neighbour, far) == set()
    assert stale_public(here, neighbour, far) == set()
    typology = other_typology(here)
    commit(
        "UPDATE towns_influence SET state = state WHERE id = %s; "
        "UPDATE towns_town SET typology = %s, updated_at = now() WHERE id = %s",
        [claim.pk, typology, here.pk],
        revert=(
            "UPDATE towns_town SET typology = %s, updated_at = %s WHERE id = %s",
            [here.typology, here.updated_at, here.pk],
        ),
    )
    assert stale_parts(here, neighbour, far) == {("dashboard", here.pk), ("indicators", here.pk)}
    assert stale_public(here, neighbour, far) == {here.pk}
    assert not kept.map_current()
    shown = client.get(page(here)).content.decode()
    assert str(Typology(typology).label) in shown
