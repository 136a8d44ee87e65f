"""A town profile counts only what the viewer may see, as of a date, in a fixed number of queries.

Each test builds its own small town (the demo towns may carry demo research data).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.access import AccessLevel, PublicationState
from governance.models import Source
from towns.models import (
    Activity,
    Appointment,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    PostKind,
    Region,
    ResearchSettings,
    Town,
    TownKind,
    Typology,
)
from towns.profile import refresh_town_aggregates, town_profile
from towns.services import research_record_save

pytestmark = pytest.mark.django_db

PUBLISHED = PublicationState.PUBLISHED
DRAFT = PublicationState.DRAFT
PUBLIC = AccessLevel.PUBLIC
PARTNER = AccessLevel.PARTNER
RESTRICTED = AccessLevel.RESTRICTED
ORIGIN = {
    "superior_state": "alien",
    "outside_corporate": "alien",
    "clan_family": "our_own",
    "quasi_community": "our_own",
    "ecclesial": "our_own",
}


# ---------------------------------------------------------------------------------------------
# Builders: every published claim cites a source, and all writes go through the service.
# ---------------------------------------------------------------------------------------------


def make_town(slug, *, kind=TownKind.DISTRICT_CENTRE, population=None):
    return Town.objects.create(
        name_en=slug.replace("-", " ").title(),
        slug=slug,
        region=Region.objects.get(code="05"),
        kind=kind,
        latitude=Decimal("54.1"),
        longitude=Decimal("27.5"),
        population=population,
        population_year=2019 if population else None,
    )


@pytest.fixture
def town():
    return make_town("testville-h1")


@pytest.fixture
def source():
    return Source.objects.create(
        kind=Source.Kind.PRESENTATION,
        citation="Test presentation on local governance",
        state=PUBLISHED,
        access_level=PUBLIC,
    )


def save(instance, source=None, **m2m):
    if source is not None:
        m2m["sources"] = [source]
    return research_record_save(instance=instance, m2m=m2m)


def make_group(name, kind, source, *, state=PUBLISHED, access=PUBLIC):
    return save(
        InfluenceGroup(
            name_en=name, kind=kind, origin=ORIGIN[kind], state=state, access_level=access
        ),
        source,
    )


def make_influence(town, group, strength, source, **fields):
    """A claim citing ``source`` and a document of its own: a type needs claims from at least
    two different sources (the research settings), as researched claims have."""
    fields = {"confidence": "high", "state": PUBLISHED, "access_level": PUBLIC, **fields}
    own = Source.objects.create(
        kind=Source.Kind.DOCUMENT,
        citation=f"Document on {group.name_en} in {town.name_en} (test)",
        state=PUBLISHED,
        access_level=PUBLIC,
    )
    claim = Influence(town=town, group=group, strength=strength, **fields)
    return research_record_save(instance=claim, m2m={"sources": [source, own]})


def make_person(name, source, *, state=PUBLISHED, access=PUBLIC):
    return save(Person(name_en=name, is_synthetic=True, state=state, access_level=access), source)


def chairman_post():
    post, _created = Post.objects.get_or_create(
        name_en="Chairman of the district executive committee (test)",
        defaults={"kind": PostKind.EXECUTIVE_CHAIRMAN},
    )
    return post


def make_appointment(town, person, source, groups=(), **fields):
    fields = {"state": PUBLISHED, "access_level": PUBLIC, **fields}
    return save(
        Appointment(town=town, person=person, post=chairman_post(), **fields),
        source,
        influenced_by_groups=list(groups),
    )


def make_activity(town, title, source, **fields):
    fields = {
        "field": "culture",
        "status": "gap",
        "state": PUBLISHED,
        "access_level": PUBLIC,
        **fields,
    }
    return save(Activity(town=town, title=title, **fields), source)


def indicator(code):
    found, _created = Indicator.objects.get_or_create(
        code=code,
        defaults={
            "name_en": code.replace("_", " "),
            "system": 1,
            "unit": "number",
            "direction": "higher_better",
            "description": "Test definition.",
        },
    )
    return found


def make_value(town, code, year, value, source, **fields):
    fields = {"state": PUBLISHED, "access_level": PUBLIC, **fields}
    return save(
        IndicatorValue(
            town=town,
            indicator=indicator(code),
            year=year,
            value=Decimal(value),
            source=source,
            **fields,
        )
    )


@pytest.fixture
def donor(django_user_model):
    user = django_user_model.objects.create_user(username="donor-h1", password="x" * 20)
    user.groups.add(Group.objects.get_or_create(name="donor")[0])
    return user


@pytest.fixture
def researcher(researcher_user):
    return researcher_user


# ---------------------------------------------------------------------------------------------
# Visibility
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def layered_town(town, source):
    """Public: aliens 5 and our own 1.5 (2 at medium); partner-only 4 and a draft 5 of our own."""
    make_influence(town, make_group("District EC (test)", "superior_state", source), 5, source)
    make_influence(
        town,
        make_group("Plant veterans (test)", "quasi_community", source),
        2,
        source,
        confidence="medium",
    )
    make_influence(
        town, make_group("Family A (test)", "clan_family", source), 4, source, access_level=PARTNER
    )
    make_influence(
        town,
        make_group("Family B (test)", "clan_family", source),
        5,
        source,
        state=DRAFT,
        access_level=PUBLIC,
    )
    return town


@pytest.mark.parametrize("anonymous", [None, AnonymousUser()], ids=["none", "anonymous-user"])
def test_anonymous_balance_counts_only_published_public_claims(layered_town, anonymous):
    profile = town_profile(layered_town, user=anonymous)
    assert (profile.balance.own_weight, profile.balance.alien_weight) == (1.5, 5.0)
    assert profile.balance.own_share == pytest.approx(1.5 / 6.5)
    assert {i.group.name_en for i in profile.influences} == {
        "District EC (test)",
        "Plant veterans (test)",
    }
    assert "Family" not in profile.balance.explanation
    assert profile.typology.label == Typology.SUPERIOR_STATE


def test_unpublished_influence_does_not_change_the_anonymous_balance(layered_town, source):
    before = town_profile(layered_town).balance
    make_influence(
        layered_town,
        make_group("Family C (test)", "clan_family", source),
        5,
        source,
        state=PublicationState.IN_REVIEW,
    )
    assert town_profile(layered_town).balance == before


def test_donor_sees_partner_claims_but_not_drafts(layered_town, donor):
    profile = town_profile(layered_town, user=donor)
    assert (profile.balance.own_weight, profile.balance.alien_weight) == (5.5, 5.0)
    assert "Family A (test)" in profile.balance.explanation
    assert "Family B" not in profile.balance.explanation
    assert profile.typology.label == Typology.MIXED


def test_researcher_sees_drafts_too(layered_town, researcher):
    profile = town_profile(layered_town, user=researcher)
    assert (profile.balance.own_weight, profile.balance.alien_weight) == (10.5, 5.0)
    assert "Family B (test)" in profile.balance.explanation


def test_claim_about_a_hidden_group_is_left_out(town, source):
    make_influence(town, make_group("District EC (test)", "superior_state", source), 4, source)
    hidden = make_group("Secret circle (test)", "quasi_community", source, state=DRAFT)
    make_influence(town, hidden, 5, source)
    profile = town_profile(town)
    assert profile.balance.own_weight == 0.0
    assert "Secret circle" not in profile.balance.explanation
    assert "Secret circle" not in profile.typology.explanation


def test_appointment_hides_invisible_person_and_group(town, source):
    shown = make_person("Fictional Person A. Shown", source)
    hidden = make_person("Fictional Person B. Hidden", source, access=RESTRICTED)
    secret = make_group("Secret circle (test)", "quasi_community", source, state=DRAFT)
    known = make_group("District EC (test)", "superior_state", source)
    make_appointment(town, shown, source, groups=[secret, known], start_date=date(2015, 1, 1))
    make_appointment(town, hidden, source, start_date=date(2016, 1, 1))
    first, second = sorted(town_profile(town).appointments, key=lambda a: a.start_date)
    assert first.person == shown
    assert [g.name_en for g in first.influenced_by_groups.all()] == ["District EC (test)"]
    # The appointment of a hidden person stays (post, origin, dates); only the name is withheld.
    assert second.person == hidden
    assert second.start_date == date(2016, 1, 1)


def test_a_hidden_holder_keeps_the_appointment_on_the_page_without_the_name(client):
    from towns.demo.research import case_towns

    for town in case_towns().values():
        public = Appointment.objects.visible_to(None).filter(town=town)
        body = client.get(town.get_absolute_url()).content.decode()
        if public.exists():
            assert "No appointment to a key post is public" not in body
            assert "(name not public)" in body
            for appointment in public:
                assert appointment.post.name_en in body
        for name in Person.objects.filter(appointments__town=town).values_list(
            "name_en", flat=True
        ):
            assert name not in body


# ---------------------------------------------------------------------------------------------
# As of a date
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def one_claim_types():
    """Tests of dates and of the stored aggregates type a town on one claim: the reviewers'
    research settings (towns.models.ResearchSettings) allow it here; the minimum itself is
    tested in tests/towns/test_scoring.py and below."""
    settings = ResearchSettings.current()
    settings.min_typology_claims = 1
    settings.save()
    return settings


@pytest.fixture
def changing_town(town, source, one_claim_types):
    """Superior state structures until 2009, a clan from 2010; two chairmen in turn."""
    make_influence(
        town,
        make_group("Regional EC (test)", "superior_state", source),
        5,
        source,
        start_date=date(2000, 1, 1),
        end_date=date(2009, 12, 31),
    )
    make_influence(
        town,
        make_group("Family A (test)", "clan_family", source),
        4,
        source,
        start_date=date(2010, 1, 1),
    )
    make_appointment(
        town,
        make_person("Fictional Person A. First", source),
        source,
        start_date=date(2001, 3, 1),
        end_date=date(2009, 12, 31),
    )
    make_appointment(
        town,
        make_person("Fictional Person B. Second", source),
        source,
        start_date=date(2010, 1, 15),
    )
    return town


@pytest.mark.parametrize(
    ("as_of", "typology", "chairmen"),
    [
        (date(1999, 6, 1), Typology.INSUFFICIENT, []),
        (date(2005, 6, 1), Typology.SUPERIOR_STATE, ["Fictional Person A. First"]),
        (date(2009, 12, 31), Typology.SUPERIOR_STATE, ["Fictional Person A. First"]),
        (date(2010, 1, 10), Typology.CLAN_FAMILY, []),
        (date(2020, 1, 1), Typology.CLAN_FAMILY, ["Fictional Person B. Second"]),
    ],
)
def test_as_of_counts_what_covered_that_date(changing_town, as_of, typology, chairmen):
    profile = town_profile(changing_town, as_of=as_of)
    assert profile.as_of == as_of
    assert profile.typology.label == typology
    assert [a.person.name_en for a in profile.appointments] == chairmen


def test_default_date_is_today(changing_town):
    profile = town_profile(changing_town)
    assert profile.as_of == timezone.localdate()
    assert profile.typology.label == Typology.CLAN_FAMILY


def test_activities_observed_after_the_date_are_left_out(town, source):
    make_activity(town, "Old festival", source, year=2008)
    make_activity(town, "New market", source, year=2019)
    make_activity(town, "Undated club", source)
    titles = [a.title for a, _assessment in town_profile(town, as_of=date(2010, 1, 1)).ventures]
    assert titles == ["Old festival", "Undated club"]


# ---------------------------------------------------------------------------------------------
# Criteria facts from indicator values
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def measured_town(source):
    town = make_town("measured-h1", population=7000)
    for year, people in [(2014, "10000"), (2015, "9900"), (2019, "9600"), (2020, "9405")]:
        make_value(town, "population", year, people, source)
    make_value(town, "industrial_enterprises", 2019, "1", source)
    make_value(town, "industrial_enterprises", 2020, "2", source)
    make_value(town, "cultural_institutions", 2020, "4", source)
    # A quarter is not a year, and a draft is not visible to the public.
    make_value(town, "population", 2020, "9999", source, quarter=2)
    make_value(town, "cultural_institutions", 2021, "1", source, state=DRAFT)
    return town


def test_criteria_facts_from_the_latest_visible_values(measured_town):
    profile = town_profile(measured_town, as_of=date(2024, 5, 1))
    facts = profile.facts
    assert facts.population == 9405
    assert facts.industrial_enterprises == 2.0
    assert facts.cultural_institutions == 4.0
    assert facts.population_change_5y == pytest.approx(9405 / 9900 - 1)
    assert [c.holds for c in profile.criteria] == [True, True, True, False]


def test_real_figures_are_not_marked_synthetic(measured_town):
    profile = town_profile(measured_town, as_of=date(2024, 5, 1))
    assert profile.facts.synthetic == frozenset()
    assert not any(c.derived_from_synthetic for c in profile.criteria)
    assert profile.synthetic_inputs == []


def test_criteria_from_generated_figures_say_so_and_keep_the_census_population(source):
    town = make_town("generated-h1", population=3100)
    for year, people in [(2015, "3050"), (2020, "3000")]:
        make_value(town, "population", year, people, source, is_synthetic=True)
    make_value(town, "industrial_enterprises", 2020, "0", source, is_synthetic=True)
    make_value(town, "cultural_institutions", 2020, "5", source)
    profile = town_profile(town, as_of=date(2024, 5, 1))
    # One number per fact: the generated 3,000 never overrides the census 3,100 of the key facts.
    assert profile.facts.population == 3100
    assert profile.facts.synthetic == {"industrial_enterprises", "population_change_5y"}
    marked = {c.code: c.derived_from_synthetic for c in profile.criteria}
    assert marked == {
        "population": False,
        "industrial_enterprises": True,
        "cultural_institutions": False,
        "prospects": True,
    }
    assert profile.synthetic_inputs == ["criteria"]


def test_a_synthetic_claim_marks_balance_and_typology(town, source):
    group = make_group("Invented EC (test)", "superior_state", source)
    make_influence(town, group, 5, source, is_synthetic=True)
    profile = town_profile(town)
    assert profile.balance.derived_from_synthetic
    assert profile.typology.derived_from_synthetic
    assert profile.synthetic_inputs == ["balance", "typology"]


def test_researcher_sees_the_draft_value(measured_town, researcher):
    facts = town_profile(measured_town, user=researcher, as_of=date(2024, 5, 1)).facts
    assert facts.cultural_institutions == 1.0


def test_criteria_as_of_an_earlier_year(measured_town):
    facts = town_profile(measured_town, as_of=date(2016, 1, 1)).facts
    assert facts.population == 9900
    assert facts.industrial_enterprises is None
    # 2010 is not recorded, so the five-year trend is unknown.
    assert facts.population_change_5y is None
    missing = [
        name
        for c in town_profile(measured_town, as_of=date(2016, 1, 1)).criteria
        for name in c.missing
    ]
    assert missing == ["industrial_enterprises", "cultural_institutions", "population_change_5y"]


def test_population_falls_back_to_the_town_figure(source):
    town = make_town("fallback-h1", population=5200)
    profile = town_profile(town)
    assert profile.facts.population == 5200
    assert profile.criteria[0].holds is False
    assert profile.facts.population_change_5y is None


# ---------------------------------------------------------------------------------------------
# Ventures and flags
# ---------------------------------------------------------------------------------------------


def test_contradicted_venture_is_flagged_for_the_researcher(town, source, researcher):
    make_activity(town, "Craft fair", source, benefit=1, cost=5, threat=5, la_stance="supported")
    make_activity(town, "Youth club", source, benefit=5, cost=1, threat=1, la_stance="supported")
    profile = town_profile(town, user=researcher)
    assert [(a.title, v.likelihood) for a, v in profile.ventures] == [
        ("Craft fair", "unlikely"),
        ("Youth club", "likely"),
    ]
    assert profile.flags == [
        "Craft fair: Predicted unlikely (score -4) but the LA supported it: check the "
        "assessment of benefit, cost and threat, or look for a patron or group that backed it."
    ]


def test_regional_city_failing_a_criterion_is_flagged(source, researcher):
    town = make_town("small-city-h1", kind=TownKind.REGIONAL_CITY, population=5000)
    [flag] = town_profile(town, user=researcher).flags
    assert "recorded as a city of regional subordination" in flag
    assert "Population over 6,000" in flag
    assert "synthetic" not in flag  # the town's own census figure, not a generated one


@pytest.mark.parametrize("viewer", ["anonymous", "donor"])
def test_flags_are_for_researchers_only(town, source, viewer, donor):
    make_activity(town, "Craft fair", source, benefit=1, cost=5, threat=5, la_stance="supported")
    small = make_town("small-city-h1b", kind=TownKind.REGIONAL_CITY, population=5000)
    user = donor if viewer == "donor" else None
    assert town_profile(small, user=user).flags == []
    profile = town_profile(town, user=user)
    assert profile.flags == []
    [(_activity, venture)] = profile.ventures
    assert (venture.likelihood, venture.contradicts_stance, venture.flag) == ("unlikely", False, "")


# ---------------------------------------------------------------------------------------------
# Stored aggregates
# ---------------------------------------------------------------------------------------------


def test_refresh_stores_typology_and_own_share_from_published_claims(town, source, one_claim_types):
    make_influence(town, make_group("Parish (test)", "ecclesial", source), 5, source)
    make_influence(
        town,
        make_group("District EC (test)", "superior_state", source),
        2,
        source,
        access_level=RESTRICTED,  # hidden claims still count in the published aggregate
    )
    make_influence(
        town, make_group("Regional EC (test)", "superior_state", source), 5, source, state=DRAFT
    )
    Town.objects.filter(pk=town.pk).update(typology=Typology.INSUFFICIENT, own_share=None)
    refresh_town_aggregates(town)
    stored = Town.objects.get(pk=town.pk)
    assert stored.typology == Typology.ECCLESIAL
    assert stored.own_share == Decimal("0.714")
    assert (town.typology, town.own_share) == (stored.typology, stored.own_share)


def test_refresh_without_published_claims_is_insufficient(town, source):
    make_influence(town, make_group("Family A (test)", "clan_family", source), 5, source)
    Influence.objects.filter(town=town).update(state=DRAFT)
    refresh_town_aggregates(town)
    stored = Town.objects.get(pk=town.pk)
    assert stored.typology == Typology.INSUFFICIENT
    assert stored.own_share is None


def test_saving_an_influence_through_the_service_refreshes_the_town(town, source, one_claim_types):
    make_influence(town, make_group("Air base (test)", "outside_corporate", source), 4, source)
    stored = Town.objects.get(pk=town.pk)
    assert stored.typology == Typology.OUTSIDE_CORPORATE
    assert stored.own_share == Decimal("0.000")


def test_refresh_writes_only_when_a_value_changes(
    town, source, one_claim_types, django_assert_num_queries
):
    events = apps.get_model("towns", "TownEvent").objects.filter(id=town.pk)
    make_influence(town, make_group("Family A (test)", "clan_family", source), 5, source)
    written = events.count()
    with django_assert_num_queries(3):  # the claims, the research settings, no write
        refresh_town_aggregates(town)
    assert events.count() == written  # already stored: no update, no audit row
    Influence.objects.filter(town=town).update(strength=1)
    refresh_town_aggregates(town)
    assert events.count() == written + 1
    assert Town.objects.get(pk=town.pk).typology == Typology.INSUFFICIENT


def test_soft_deleted_influence_does_not_count(town, source):
    influence = make_influence(
        town, make_group("Air base (test)", "outside_corporate", source), 4, source
    )
    Influence.objects.filter(pk=influence.pk).update(deleted_at=timezone.now())
    refresh_town_aggregates(town)
    assert Town.objects.get(pk=town.pk).typology == Typology.INSUFFICIENT


# ---------------------------------------------------------------------------------------------
# Queries: a fixed number whatever the amount of data
# ---------------------------------------------------------------------------------------------


def populate(town, source, n):
    for i in range(n):
        kind = "superior_state" if i % 2 else "clan_family"
        group = make_group(f"Group {i} of {town.slug}", kind, source)
        make_influence(town, group, 1 + i % 5, source)
        person = make_person(f"Fictional Person {i}. {town.slug}", source)
        make_appointment(town, person, source, groups=[group], start_date=date(2000 + i, 1, 1))
        make_activity(town, f"Activity {i}", source, benefit=3, cost=2, threat=i % 5 + 1)
    for year in range(2010, 2010 + n):
        make_value(town, "population", year, str(8000 + year), source)


def count_queries(town, user):
    if user is not None:
        # A fresh user object, as in a request: its viewer level is not cached yet.
        user = type(user).objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as captured:
        profile = town_profile(town, user=user)
        # Touch everything a page shows, so that lazy loading would be counted too.
        for appointment in profile.appointments:
            _ = (appointment.person.name_en, appointment.post.name_en)
            _ = [g.name_en for g in appointment.influenced_by_groups.all()]
            _ = [p.name_en for p in appointment.influenced_by_persons.all()]
        for influence in profile.influences:
            _ = influence.group.name_en
    return len(captured), profile


@pytest.mark.parametrize("persona", ["anonymous", "donor", "researcher"])
def test_profile_queries_do_not_grow_with_the_data(
    source, persona, donor, researcher, django_assert_max_num_queries
):
    user = {"anonymous": None, "donor": donor, "researcher": researcher}[persona]
    small, large = make_town("small-h1"), make_town("large-h1")
    populate(small, source, 2)
    populate(large, source, 20)
    small_count, small_profile = count_queries(small, user)
    large_count, large_profile = count_queries(large, user)
    assert len(small_profile.influences) == 2
    assert (len(large_profile.influences), len(large_profile.appointments)) == (20, 20)
    assert len(large_profile.ventures) == 20
    assert large_profile.facts.population_change_5y is not None
    assert large_count == small_count
    fresh = None if user is None else type(user).objects.get(pk=user.pk)
    with django_assert_max_num_queries(8):  # 7, and the research settings
        town_profile(large, user=fresh)


def test_one_number_per_fact_or_the_page_says_what_each_is_computed_from(client):
    """Turov's balance (claims the visitor sees) and its advice (every published claim) once
    said 23 % and 21 % without a word: now the page names both and their bases."""
    from csos.profile import town_advice
    from towns.demo.research import case_towns

    partial = 0
    for town in case_towns().values():
        profile = town_profile(town)
        stored = f"{round(float(town.own_share) * 100)}%"
        advice = " ".join(town_advice(town)[0].reasons)
        assert f"'our own' share {stored} of all published influence claims" in advice
        body = client.get(town.get_absolute_url()).content.decode()
        if profile.partial_view:
            partial += 1
            shown = f"{round(profile.balance.own_share * 100)}%"
            assert "data-partial-view" in body
            assert f"“our own” {shown}" in body and f"“our own” {stored}" in body
        else:
            assert "data-partial-view" not in body
            assert round(profile.balance.own_share * 100) == round(float(town.own_share) * 100)
    assert partial >= 1  # Turov at least: some of its claims are not public


def test_the_reviewers_minimum_of_claims_is_read_from_the_database(town, source):
    make_influence(town, make_group("Air base (test)", "outside_corporate", source), 4, source)
    assert Town.objects.get(pk=town.pk).typology == Typology.INSUFFICIENT  # one claim: refused
    assert "a type needs at least 2 claims" in town_profile(town).typology.explanation
    settings = ResearchSettings.current()
    settings.min_typology_claims = 1
    settings.save()
    refresh_town_aggregates(town)
    assert Town.objects.get(pk=town.pk).typology == Typology.OUTSIDE_CORPORATE
    assert ResearchSettings.pgh_event_model.objects.filter(pgh_obj_id=1).exists()  # history
