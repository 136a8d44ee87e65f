"""Kept town dashboards (towns/kept.py, kind "dashboard"): the HTML of a town's page between
its header and footer, computed once per change of its *region's* data (the page shows the
regional ranks and medians), byte for byte what the page renders, never behind the data,
never kept for a research reader, and off with ``KEPT_PROFILES=false``.

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
from tests.personas import build_persona
from tests.towns.test_kept_profiles import towns_with_partner_records
from towns import kept
from towns.models import IndicatorValue, KeptProfile, Town

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
    return KeptProfile.objects.filter(kind=kept.DASHBOARD.name, **filters)


def read_records(queries) -> list[str]:
    """The queries of a dashboard's own records (what a kept dashboard spares)."""
    tables = ("towns_influence", "towns_indicatorvalue", "csos_cso", "towns_activity")
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in tables)]


def test_a_kept_dashboard_is_the_rendered_page_and_spares_its_queries(settings):
    """The first anonymous visit renders and keeps the dashboard; the next is the same page,
    with the dashboard read from the kept row in one query and none of its records read; with
    the kept reads off the page is rendered again, the same bytes."""
    town = Town.objects.get(slug="olshany")
    client = Client()
    first = client.get(page(town))
    assert first.status_code == 200
    row = dashboards(town=town).get()
    assert (row.level, row.language, row.as_of) == (Viewer.PUBLIC, "en", timezone.localdate())
    assert row.body in first.content.decode()
    assert "Ольшаны" in row.body  # the page's content, not only its frame
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
    entries = [e for e in kept.stale(kinds=[kept.DASHBOARD]) if e.town_id in ids]
    # The keeper fills the public's dashboards (a partner's is kept by its first reader).
    assert {(e.town_id, e.level) for e in entries} == {(pk, Viewer.PUBLIC) for pk in ids}
    partner = [kept.Stale(kept.DASHBOARD, pk, Viewer.PARTNER, "en") for pk in ids]
    assert kept.refresh(entries + partner) == 2 * len(ids)
    assert not [e for e in kept.stale(kinds=[kept.DASHBOARD]) if e.town_id in ids]

    differs = 0
    for town in towns:
        public = dashboards(town=town, level=Viewer.PUBLIC).get().body
        partner_body = dashboards(town=town, level=Viewer.PARTNER).get().body
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
        assert dashboards(town=town, level=Viewer.PARTNER).get().body in shown


def test_a_committed_write_makes_its_regions_dashboards_stale_and_no_other(commit):
    """A published value of one town, changed and committed elsewhere: the dashboards of its
    region are stale (they show the town's rank and the region's median), the others are
    served as they were, and the town's page shows the new figure."""
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
    assert stale_dashboards(here, neighbour, far) == set()

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
    assert stale_dashboards(here, neighbour, far) == {here.pk, neighbour.pk}
    with CaptureQueriesContext(connection) as queries:
        after = client.get(page(here)).content.decode()
    assert read_records(queries), "rendered again"
    assert after != before
    with CaptureQueriesContext(connection) as queries:
        client.get(page(far))
    assert read_records(queries) == [], "another region's dashboard is still the kept one"


def stale_dashboards(*towns: Town) -> set[int]:
    ids = {town.pk for town in towns}
    return {e.town_id for e in kept.stale(kinds=[kept.DASHBOARD]) if e.town_id in ids}


def test_kept_per_language_and_never_for_research():
    """A page in another language is kept by its first reader, in that language; a
    research reader's page (logged field by field) is rendered and never kept."""
    town = Town.objects.get(slug="olshany")
    shown = Client().get(page(town, "be"))
    assert shown.status_code == 200
    row = dashboards(town=town).get()
    assert row.language == "be"
    assert row.body in shown.content.decode()
    with translation.override("en"):
        english = kept.render_dashboard(town, Viewer.PUBLIC)
    assert row.body != english and 'href="/be/' not in english

    researcher = build_persona(get_user_model(), "researcher").client
    assert researcher.get(page(town)).status_code == 200
    assert list(dashboards(town=town).values_list("language", flat=True)) == ["be"]


def test_a_keeper_pass_takes_the_profiles_first_and_a_fifth_as_many_dashboards(monkeypatch):
    """A pass of the keeper's loop (``--batch`` towns) computes the stale profiles first; a
    pass of dashboards, which cost about five profiles each, takes a fifth as many towns, so
    a profile made stale meanwhile does not wait behind a long pass."""
    from towns.management.commands.keep_profiles import Command

    command = Command()
    command.kinds, command.map, command.share = list(kept.KINDS), False, 1.0
    computed: list[kept.Stale] = []
    monkeypatch.setattr(kept, "refresh", lambda entries, **_: computed.extend(entries) or 0)
    command._pass((0, 1), limit=10)
    assert {e.kind for e in computed} == {kept.PROFILE}
    assert len({e.town_id for e in computed}) == 10
    assert len(computed) == 20  # both levels of each town

    computed.clear()
    every = kept.stale
    monkeypatch.setattr(
        kept, "stale", lambda *, part, kinds: every(part=part, kinds=[kept.DASHBOARD])
    )
    command._pass((0, 1), limit=10)
    assert {e.kind for e in computed} == {kept.DASHBOARD}
    assert len({e.town_id for e in computed}) == 2
