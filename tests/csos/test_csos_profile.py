"""Network and advice from the database: only what the viewer may see, in a fixed number of queries.

The data is built here, in a town of its own, so that the demo data cannot change the counts.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from csos.advisor import MISSING_INFLUENCE
from csos.models import (
    CSO,
    CooperationCase,
    CSOLeadership,
    CSOLink,
    CulturalAsset,
)
from csos.network import leader_label
from csos.profile import region_network, town_advice, town_advisor_inputs, town_network
from governance.access import AccessLevel, PublicationState
from towns.models import Activity, Person, Region, Town

pytestmark = pytest.mark.django_db

PUBLISHED, DRAFT = PublicationState.PUBLISHED, PublicationState.DRAFT
PUBLIC, PARTNER, RESTRICTED = AccessLevel.PUBLIC, AccessLevel.PARTNER, AccessLevel.RESTRICTED


@pytest.fixture
def region():
    return Region.objects.get(code="01")


def make_town(region, slug):
    return Town.objects.create(
        slug=slug,
        name_en=slug.title(),
        region=region,
        kind="district_centre",
        latitude=Decimal("52.1"),
        longitude=Decimal("27.3"),
        is_synthetic=True,
    )


@pytest.fixture
def own_region():
    """A region of its own, so that no demo CSO can enter the regional counts."""
    return Region.objects.create(code="H4", slug="h4-region", name_en="H4 Region")


@pytest.fixture
def town(region):
    return make_town(region, "h4-testville")


def make_cso(slug, towns, *, state=PUBLISHED, level=PUBLIC, character="independent", **extra):
    cso = CSO.objects.create(
        slug=slug,
        name_en=f"CSO {slug}",
        legal_form="public_association",
        character=character,
        state=state,
        access_level=level,
        is_synthetic=True,
        **extra,
    )
    cso.towns.set(towns)
    return cso


def link(a, b, *, state=PUBLISHED, level=PUBLIC, kind="partnership", **extra):
    return CSOLink.objects.create(
        source_cso=a,
        target_cso=b,
        kind=kind,
        state=state,
        access_level=level,
        is_synthetic=True,
        **extra,
    )


def lead(cso, person, *, state=PUBLISHED, level=PUBLIC):
    return CSOLeadership.objects.create(
        cso=cso, person=person, state=state, access_level=level, is_synthetic=True
    )


def person(letter, *, level=PUBLIC):
    return Person.objects.create(
        name_en=f"Fictional Person {letter}.",
        state=PUBLISHED,
        access_level=level,
        is_synthetic=True,
    )


@pytest.fixture
def partner_user(django_user_model):
    user = django_user_model.objects.create_user(
        username="partner-h4", password="a-long-test-password-2"
    )
    user.groups.add(Group.objects.get_or_create(name="partner")[0])
    return user


@pytest.fixture
def path_network(town):
    """a - b - c published and public; d a draft linked to c; e linked to a by a draft link."""
    a, b, c = (make_cso(s, [town]) for s in ("a", "b", "c"))
    d = make_cso("d", [town], state=DRAFT)
    e = make_cso("e", [town])
    link(a, b)
    link(b, c)
    link(c, d)
    link(a, e, state=DRAFT)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def test_anonymous_sees_no_unpublished_cso_or_link(town, path_network):
    metrics = town_network(town, user=AnonymousUser())
    # d is a draft; the a-e link is a draft, so e is isolated.
    assert (metrics.csos, metrics.links, metrics.components) == (4, 2, 2)
    assert metrics.isolated_share == pytest.approx(1 / 4)
    assert metrics.brokers == ["b"]


def test_researcher_sees_drafts(town, path_network, researcher_user):
    metrics = town_network(town, user=researcher_user)
    assert (metrics.csos, metrics.links, metrics.components) == (5, 4, 1)
    # The path e-a-b-c-d: every inner CSO holds it together.
    assert metrics.brokers == ["a", "b", "c"]


def test_partner_level_link_is_seen_by_partners_only(town, path_network, partner_user):
    link(path_network["c"], path_network["e"], level=PARTNER)
    assert town_network(town, user=None).links == 2
    assert town_network(town, user=partner_user).links == 3


def test_cso_of_another_town_is_not_in_the_network(region, town, path_network):
    elsewhere = make_town(region, "h4-elsewhere")
    far = make_cso("far", [elsewhere])
    link(path_network["a"], far)
    metrics = town_network(town)
    assert metrics.csos == 4
    assert "far" not in metrics.brokers


def test_leaders_join_the_network_only_for_viewers_allowed_to_see_them(
    town, researcher_user, partner_user
):
    a = make_cso("a", [town], leaders_access_level=PARTNER)
    b = make_cso("b", [town], leaders_access_level=PARTNER)
    shared = person("A")
    lead(a, shared)
    lead(b, shared)
    assert town_network(town, user=None).components == 2
    for user in (partner_user, researcher_user):
        metrics = town_network(town, user=user)
        assert metrics.components == 1
        assert metrics.brokers == [leader_label(str(shared.pk))]


def test_restricted_leaders_stay_hidden_from_partners(town, partner_user, researcher_user):
    a = make_cso("a", [town])  # leaders restricted by default
    b = make_cso("b", [town])
    shared = person("B")
    lead(a, shared)
    lead(b, shared)
    assert town_network(town, user=partner_user).brokers == []
    assert town_network(town, user=researcher_user).brokers == [leader_label(str(shared.pk))]


def test_draft_leadership_or_hidden_person_does_not_join(town, partner_user):
    a = make_cso("a", [town], leaders_access_level=PUBLIC)
    b = make_cso("b", [town], leaders_access_level=PUBLIC)
    shared = person("C")
    lead(a, shared)
    lead(b, shared, state=DRAFT)
    assert town_network(town, user=partner_user).components == 2
    hidden = person("D", level=RESTRICTED)
    lead(a, hidden)
    lead(b, hidden)
    assert town_network(town, user=partner_user).components == 2


def test_liquidated_cso_and_ended_link_leave_the_current_network(town):
    a, b, c = (make_cso(s, [town]) for s in ("a", "b", "c"))
    gone = make_cso(
        "gone",
        [town],
        status="liquidated",
        liquidation_date=dt.date(2021, 8, 1),
        liquidation_grounds="Court decision (fictional).",
    )
    link(a, gone)
    link(b, c, end_date=dt.date(2020, 12, 31))
    now = town_network(town)
    assert (now.csos, now.links) == (3, 0)
    then = town_network(town, as_of=dt.date(2020, 6, 1))
    assert (then.csos, then.links) == (4, 2)


def test_region_network_counts_a_cso_serving_two_towns_once(own_region):
    one, two = make_town(own_region, "h4-one"), make_town(own_region, "h4-two")
    a = make_cso("a", [one, two])
    b = make_cso("b", [two])
    c = make_cso("c", [one], state=DRAFT)
    link(a, b)
    link(a, c)
    metrics = region_network(own_region)
    assert (metrics.csos, metrics.links, metrics.components) == (2, 1, 1)
    assert region_network(own_region, user=None).brokers == []


def test_advisor_inputs_use_only_visible_records(town, researcher_user):
    Town.objects.filter(pk=town.pk).update(typology="superior_state", own_share=Decimal("0.200"))
    town.refresh_from_db()
    make_cso("g1", [town], character="gongo")
    make_cso("i1", [town])
    make_cso("i2", [town], state=DRAFT)
    make_cso("c1", [town], character="church")
    for title, status, stance, state in [
        ("Covered", "covered", "supported", PUBLISHED),
        ("Gap one", "gap", "tolerated", PUBLISHED),
        ("Gap two", "gap", "supported", PUBLISHED),
        ("Gap draft", "gap", "suppressed", DRAFT),
    ]:
        Activity.objects.create(
            town=town,
            title=title,
            field="culture",
            status=status,
            la_stance=stance,
            state=state,
            access_level=PUBLIC,
            is_synthetic=True,
        )
    for strategy, outcome, state in [(1, "success", PUBLISHED), (2, "failed", DRAFT)]:
        CooperationCase.objects.create(
            town=town,
            la_body="District executive committee",
            start_year=2019,
            subject=f"Case {strategy}",
            strategy=strategy,
            outcome=outcome,
            state=state,
            access_level=PUBLIC,
            is_synthetic=True,
        )
    CulturalAsset.objects.create(
        town=town, kind="heritage_site", name_en="Old church", state=PUBLISHED, access_level=PUBLIC
    )
    CulturalAsset.objects.create(town=town, kind="artefact", name_en="Hidden hoard", state=DRAFT)

    public = town_advisor_inputs(town)
    assert (public.typology, public.own_share) == ("superior_state", 0.2)
    assert (public.activities_total, public.activities_in_gap) == (3, 2)
    assert public.gap_stances == {"tolerated": 1, "supported": 1}
    assert (public.independent_csos, public.gongo_csos, public.other_csos) == (1, 1, 1)
    assert public.network is not None and public.network.csos == 3
    assert public.past_cases == [(1, "success")]
    assert public.cultural_assets == 1

    full = town_advisor_inputs(town, user=researcher_user)
    assert (full.activities_total, full.activities_in_gap) == (4, 3)
    assert full.independent_csos == 2
    assert sorted(full.past_cases) == [(1, "success"), (2, "failed")]
    assert full.cultural_assets == 2

    advice = town_advice(town)
    assert [a.status for a in advice] == ["promising", "open", "promising"]
    assert all(a.reasons for a in advice)


def test_town_without_influence_claims_names_them_missing(town):
    advice = town_advice(town)
    assert MISSING_INFLUENCE in advice[0].missing
    assert all(a.status == "open" for a in advice[:2])


def build_network(town, size, offset=0):
    people = [person(f"P{offset + i}") for i in range(size)]
    csos = [
        make_cso(f"n{offset + i}", [town], leaders_access_level=PUBLIC, character="gongo")
        for i in range(size)
    ]
    for i in range(size - 1):
        link(csos[i], csos[i + 1])
    for i, cso in enumerate(csos):
        lead(cso, people[i])
        lead(cso, people[(i + 1) % size])
    for i in range(size):
        Activity.objects.create(
            town=town,
            title=f"Activity {offset + i}",
            field="civic",
            status="gap",
            la_stance="tolerated",
            state=PUBLISHED,
            access_level=PUBLIC,
        )


def count_queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("user_fixture", [None, "partner_user", "researcher_user"])
def test_query_count_does_not_grow_with_the_network(region, user_fixture, request):
    small, large = make_town(region, "h4-small"), make_town(region, "h4-large")
    build_network(small, 3)
    build_network(large, 30, offset=100)
    user = request.getfixturevalue(user_fixture) if user_fixture else None
    # Warm the viewer's level, cached on the user after one query.
    town_network(small, user=user)
    counts = {
        name: (
            count_queries(lambda t=t: town_network(t, user=user)),
            count_queries(lambda t=t: town_advice(t, user=user)),
        )
        for name, t in (("small", small), ("large", large))
    }
    assert counts["small"] == counts["large"]
    network_queries, advice_queries = counts["large"]
    assert network_queries <= 3
    assert advice_queries <= 6


def test_region_network_query_count_is_bounded(region, django_assert_max_num_queries):
    town = make_town(region, "h4-region-size")
    build_network(town, 25)
    with django_assert_max_num_queries(3):
        region_network(region)


@pytest.mark.django_db
def test_directory_shows_the_region_network_when_filtered_by_region(client):
    response = client.get("/csos/", {"region": "vitebsk"})
    assert response.status_code == 200
    metrics = response.context["region_network"]
    assert metrics is not None
    # The network counts the CSOs existing today; the directory also lists liquidated ones.
    listed = response.context["page"].paginator.object_list
    existing = [c for c in listed if c.status != "liquidated"]
    assert metrics.csos == len(existing) > 0
    assert "connected groups" in response.content.decode()


@pytest.mark.django_db
def test_directory_without_region_shows_no_region_network(client):
    response = client.get("/csos/")
    assert response.context["region_network"] is None


def test_the_evidence_of_a_verdict_counts_the_sources_of_csos_and_assets():
    """Issue 16: a verdict's "rests on … different sources" counted the sources of influence
    claims, activities and cases, but not those of the CSOs and heritage assets it reads."""
    from csos.models import CSO, CulturalAsset

    anonymous = AnonymousUser()
    for town in Town.objects.filter(slug__in=["pastavy", "hlybokaye", "olshany"]):
        inputs = town_advisor_inputs(town, user=anonymous)
        csos = CSO.objects.visible_to(anonymous).filter(towns=town)
        expected_csos = {pk for pk in csos.values_list("sources", flat=True) if pk}
        assets = CulturalAsset.objects.visible_to(anonymous).filter(town=town)
        expected_assets = {pk for pk in assets.values_list("sources", flat=True) if pk}
        assert inputs.source_ids["csos"] <= expected_csos  # current CSOs only: a subset
        assert inputs.source_ids["cultural_assets"] == expected_assets, town.slug
    # At least one case town's CSOs cite sources, so the count is exercised.
    pastavy = Town.objects.get(slug="pastavy")
    assert town_advisor_inputs(pastavy, user=anonymous).source_ids["csos"]
