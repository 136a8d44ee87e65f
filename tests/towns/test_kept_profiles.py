"""Kept town profiles (towns/kept.py): computed once per change, byte for byte the computed
answer, never behind the data, never kept for a research reader or another day, and off with
``KEPT_PROFILES=false``.

Rows are kept only under a state that no transaction of its own has written to (a writing
transaction's state names it): the tests that compare levels create their personas *after*
the keeper has run, and the write that must make a row stale is committed on a connection of
its own and put back afterwards (as in tests/governance/test_scoped_reads.py).
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from csos.models import CSO, CooperationCase
from governance.access import AccessLevel, PublicationState, Viewer
from tests.personas import build_persona
from towns import kept
from towns.models import IndicatorValue, KeptDocument, KeptProfile, Town

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def read_cache_off(settings):
    """The read cache off, as in the benchmark's cold column: every answer here is the kept
    profile's or a computed one, never a cached response."""
    settings.READ_CACHE_TIMEOUT = 0


def profile_path(town: Town) -> str:
    return f"/api/v1/towns/{town.slug}/profile/"


def towns_with_partner_records() -> list[Town]:
    """Towns whose profile differs between the public and a partner: a published cooperation
    case or CSO at partner level (the advice's past cases, the network)."""
    partner = {
        "state": PublicationState.PUBLISHED,
        "access_level": AccessLevel.PARTNER,
        "deleted_at__isnull": True,
    }
    ids = {
        *CooperationCase.objects.filter(**partner).values_list("town", flat=True),
        *CSO.objects.filter(**partner).values_list("towns", flat=True),
    }
    return list(Town.objects.filter(pk__in=ids).order_by("slug")[:3])


def test_a_kept_profile_is_the_computed_answer_and_costs_one_query(settings):
    """The first anonymous read computes and keeps the profile; the next is read from the
    kept row in one query, with the same bytes and ETag as with the kept profiles off."""
    town = Town.objects.get(slug="turau")
    client = Client()
    first = client.get(profile_path(town))
    assert first.status_code == 200
    row = KeptProfile.objects.get(town=town)
    assert (row.level, row.language, row.as_of) == (Viewer.PUBLIC, "en", timezone.localdate())
    with CaptureQueriesContext(connection) as queries:
        second = client.get(profile_path(town))
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    reads = [q["sql"] for q in queries.captured_queries if "towns_keptprofile" in q["sql"]]
    assert len(reads) == 1
    # Nothing of the profile's own records is read: the kept row answered.
    assert not [q for q in queries.captured_queries if "towns_influence" in q["sql"]]

    # Found by its slug in the same query: the town itself is not loaded.
    assert not [q for q in queries.captured_queries if 'FROM "towns_town"' in q["sql"]]
    assert client.get("/api/v1/towns/no-such-town/profile/").status_code == 404

    settings.KEPT_PROFILES = False
    with CaptureQueriesContext(connection) as queries:
        computed = client.get(profile_path(town))
    assert computed.content == first.content
    assert computed["ETag"] == first["ETag"]
    assert not [q for q in queries.captured_queries if "towns_keptprofile" in q["sql"]]
    assert [q for q in queries.captured_queries if "towns_influence" in q["sql"]]


def ordered(text: str | bytes):
    """JSON with its members' order (a dict compares without it)."""
    return json.loads(text, object_pairs_hook=list)


def test_the_keeper_computes_what_each_level_is_answered(settings):
    """Rows made by the keeper are what the public and a partner are answered, members in
    the same order, and the two levels differ where a claim is at partner level."""
    towns = towns_with_partner_records()
    assert towns, "the demo data has published records at partner level"
    ids = {town.pk for town in towns}
    entries = [entry for entry in kept.stale(kinds=[kept.PROFILE]) if entry.town_id in ids]
    assert {(e.town_id, e.level) for e in entries} == {
        (pk, level) for pk in ids for level in (Viewer.PUBLIC, Viewer.PARTNER)
    }
    assert kept.refresh(entries) == len(entries)
    assert not [entry for entry in kept.stale(kinds=[kept.PROFILE]) if entry.town_id in ids]

    differs = 0
    for town in towns:
        public = KeptProfile.objects.get(town=town, level=Viewer.PUBLIC).body
        partner = KeptProfile.objects.get(town=town, level=Viewer.PARTNER).body
        with CaptureQueriesContext(connection) as queries:
            served = Client().get(profile_path(town))
        assert not [q for q in queries.captured_queries if "towns_influence" in q["sql"]]
        assert ordered(served.content) == ordered(public)
        differs += ordered(public) != ordered(partner)
    assert differs, "a partner-level record changes the profile a partner sees"

    # The partner's answer, computed: the persona is created now, so this transaction has
    # written and nothing in it is read from or kept in the kept rows any more.
    partner_client = build_persona(get_user_model(), "partner").api_client()
    settings.KEPT_PROFILES = False
    for town in towns:
        answered = partner_client.get(profile_path(town))
        assert answered.status_code == 200
        row = KeptProfile.objects.get(town=town, level=Viewer.PARTNER)
        assert ordered(answered.content) == ordered(row.body)


def test_a_committed_write_makes_the_town_stale_and_only_that_town(commit, settings):
    """A published value of one town, changed and committed elsewhere: that town's kept
    profile is not served any more (the answer shows the new figure) and the keeper lists
    only that town's rows; the other town's row is still served."""
    here = Town.objects.get(slug="turau")
    other = Town.objects.exclude(pk=here.pk).filter(pk__in=towns_with_values()).first()
    client = Client()
    before = client.get(profile_path(here)).json()
    client.get(profile_path(other))
    assert KeptProfile.objects.filter(town__in=[here, other]).count() == 2
    assert stale_public(here, other) == set()
    population = IndicatorValue.objects.visible_to(None).filter(
        town=here, indicator__code="population", quarter=0
    )
    ids = list(population.values_list("pk", flat=True))
    assert len(ids) >= 2, "the demo town has a population series"
    # Every published population figure of the town, moved: its facts (the latest figure or
    # the five-year change) cannot stay the same.
    commit(
        "UPDATE towns_indicatorvalue SET value = value + 1000 WHERE id = ANY(%s)",
        [ids],
        revert=("UPDATE towns_indicatorvalue SET value = value - 1000 WHERE id = ANY(%s)", [ids]),
    )
    # Of the two kept rows (the public's), only the written town's is out of date.
    assert stale_public(here, other) == {here.pk}
    with CaptureQueriesContext(connection) as queries:
        after = client.get(profile_path(here)).json()
    assert after["facts"] != before["facts"]
    assert [q for q in queries.captured_queries if "towns_indicatorvalue" in q["sql"]]
    settings.KEPT_PROFILES = False
    assert Client().get(profile_path(here)).json() == after
    settings.KEPT_PROFILES = True
    with CaptureQueriesContext(connection) as queries:
        client.get(profile_path(other))
    assert not [q for q in queries.captured_queries if "towns_indicatorvalue" in q["sql"]]


def stale_public(*towns: Town) -> set[int]:
    ids = {town.pk for town in towns}
    stale = kept.stale(kinds=[kept.PROFILE])
    return {e.town_id for e in stale if e.town_id in ids and e.level == Viewer.PUBLIC}


def towns_with_values():
    return (
        IndicatorValue.objects.visible_to(None)
        .filter(indicator__code="population", quarter=0)
        .values("town")
    )


def test_never_kept_for_research_a_given_day_or_another_language_state():
    """A research reader's profile (logged field by field) and a profile ``as_of`` a given day
    are computed and never kept."""
    town = Town.objects.get(slug="turau")
    kept.profile_for(town, user=kept.viewer(Viewer.RESEARCH))
    assert not KeptProfile.objects.exists()
    day = timezone.localdate().isoformat()
    assert Client().get(profile_path(town) + f"?as_of={day}").status_code == 200
    assert not KeptProfile.objects.exists()
    kept.profile_for(town, user=kept.viewer(Viewer.PARTNER))
    assert list(KeptProfile.objects.values_list("level", flat=True)) == [Viewer.PARTNER]


def test_a_row_of_another_day_or_state_is_not_served_and_the_switch_turns_reads_off(settings):
    """The lookup serves a row only under today's date and the current state; with
    ``KEPT_PROFILES=false`` not even a current row is read."""
    town = Town.objects.get(slug="turau")
    client = Client()
    computed = client.get(profile_path(town)).content
    row = KeptProfile.objects.get(town=town)
    # A row that says something else under the current state is what is served: the answer
    # comes from the row, not from the records.
    KeptProfile.objects.filter(pk=row.pk).update(body='{"kept": true}')
    assert client.get(profile_path(town)).json() == {"kept": True}
    KeptProfile.objects.filter(pk=row.pk).update(as_of=timezone.localdate() - timedelta(days=1))
    assert client.get(profile_path(town)).content == computed
    KeptProfile.objects.filter(pk=row.pk).update(
        body='{"kept": true}', as_of=timezone.localdate(), state=row.state + "x"
    )
    assert client.get(profile_path(town)).content == computed
    KeptProfile.objects.filter(pk=row.pk).update(body='{"kept": true}', state=row.state)
    settings.KEPT_PROFILES = False
    assert client.get(profile_path(town)).content == computed
    with pytest.raises(CommandError, match="KEPT_PROFILES"):
        call_command("keep_profiles", "--once")


def test_the_api_answers_in_the_language_the_keeper_computes():
    """The keeper computes the API's language only (``kept.languages``): the API is outside
    the language prefixes, so it answers in LANGUAGE_CODE whatever the client asks for. If it
    ever negotiates, this fails and the keeper must compute every language."""
    town = Town.objects.get(slug="turau")
    client = Client(HTTP_ACCEPT_LANGUAGE="be")
    client.cookies["django_language"] = "ru"
    response = client.get(profile_path(town))
    assert response["Content-Language"] == "en"
    assert kept.languages() == ["en"]


def test_the_command_fills_a_part_and_then_has_nothing_to_do():
    KeptDocument.objects.all().delete()
    out = io.StringIO()
    call_command("keep_profiles", "--once", "--part=0/80", stdout=out)
    first = int(out.getvalue().split("kept profiles: ")[1].split()[0])
    # Each town's profile at both levels and its public dashboard's two parts, and the
    # public's map (the first part keeps it).
    expected = 4 * sum(1 for pk in Town.objects.values_list("pk", flat=True) if pk % 80 == 0) + 1
    assert first == expected > 0
    out = io.StringIO()
    call_command("keep_profiles", "--once", "--part=0/80", stdout=out)
    assert "kept profiles: 0 rows" in out.getvalue()
    for bad in ("--part=2/2", "--part=x", "--jobs=0", "--share=0", "--share=1.5"):
        with pytest.raises(CommandError):
            call_command("keep_profiles", "--once", bad, stdout=io.StringIO())


def test_the_keeper_gives_way_by_its_share(monkeypatch):
    """With ``share`` below 1 the keeper waits after each town, so that computing takes at
    most that share of its time: after a town that took t, it waits t * (1/share - 1)."""
    waits: list[float] = []
    monkeypatch.setattr(kept.time, "sleep", waits.append)
    ticks = iter(range(0, 1000, 1))  # each reading of the clock one second later
    monkeypatch.setattr(kept.time, "monotonic", lambda: float(next(ticks)))
    towns = list(Town.objects.order_by("pk").values_list("pk", flat=True)[:2])
    entries = [e for e in kept.stale(kinds=[kept.PROFILE]) if e.town_id in towns]
    assert kept.refresh(entries, share=0.25) == 4
    assert len(waits) == 2
    assert all(wait > 0 and wait % 3 == 0 for wait in waits)  # 3 = 1/0.25 - 1 times t
    waits.clear()
    KeptProfile.objects.all().delete()
    assert kept.refresh(entries) == 4
    assert waits == []
