"""The demo research data: indicator catalogue and values, who governs the case towns, the gap.

The demo data is loaded once per session by tests/conftest.py; each test runs in a transaction
rolled back after it, so the tests that change a row or run ``load_demo`` again leave no trace.
"""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count, F

from governance.access import AccessLevel, PublicationState
from governance.models import Source
from towns.demo.indicators import CATALOGUE, SYNTHETIC_NOTE, YEARS, generate_series
from towns.demo.research import (
    DOMINANT_KIND,
    PRESENTATION_CITATION,
    SYNTHETIC_CITATION,
    case_towns,
)
from towns.models import (
    Activity,
    ActivityStatus,
    Appointment,
    GroupMembership,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    RecruitedFrom,
    Tie,
    Town,
)
from towns.profile import influence_inputs, town_profile
from towns.scoring import classify_typology

pytestmark = pytest.mark.django_db

#: Every label the towns demo reports; a second run must report none of them as created.
OWN_LABELS = (
    "sources",
    "indicators",
    "indicator values",
    "influence groups",
    "influences",
    "persons",
    "posts",
    "appointments",
    "group memberships",
    "ties",
    "activities",
)
CLAIMS = (Influence, Appointment, Tie, GroupMembership, Activity)
#: The case towns whose authorities the presentation calls "aliens".
ALIEN_TOWNS = {"Turov", "Mstislavl", "Chavusy", "Shchuchin", "Lepel", "Kamjanets"}


def synthetic_source() -> Source:
    return Source.objects.get(kind=Source.Kind.DATASET, citation=SYNTHETIC_CITATION)


def presentation_source() -> Source:
    return Source.objects.get(kind=Source.Kind.PRESENTATION, citation=PRESENTATION_CITATION)


def demo_counts() -> dict[str, int]:
    models = (Source, Indicator, IndicatorValue, InfluenceGroup, Person, Post, *CLAIMS)
    return {m.__name__: m._base_manager.count() for m in models}


def report_lines(out: str) -> dict[str, str]:
    return {line.split(":")[0]: line for line in out.splitlines() if ":" in line}


# --- Indicator catalogue ----------------------------------------------------------------------


def test_catalogue_has_at_least_20_indicators_in_both_systems():
    indicators = Indicator.objects.all()
    assert indicators.count() >= 20
    by_system = dict(indicators.order_by().values_list("system").annotate(n=Count("id")))
    assert by_system[IndicatorSystem.NATIONAL] >= 10
    assert by_system[IndicatorSystem.PROBLEM_FREE] >= 8
    for code in ("population", "industrial_enterprises", "cultural_institutions"):
        assert indicators.get(code=code).system == IndicatorSystem.NATIONAL


def test_every_indicator_is_described_with_unit_direction_names_and_a_published_definition():
    for indicator in Indicator.objects.select_related("definition_source"):
        assert indicator.unit and indicator.direction, indicator.code
        assert indicator.name_be and indicator.name_ru, indicator.code
        assert len(indicator.description) > 60, indicator.code
        source = indicator.definition_source
        assert source.kind == Source.Kind.DOCUMENT
        assert (source.state, source.access_level) == ("published", "public")
        assert not source.is_synthetic


def test_the_definitions_cite_belstat_and_standards_name_their_legal_basis():
    belstat = Indicator.objects.get(code="crimes_per_10000").definition_source
    assert "Belstat" in belstat.citation
    with_standard = Indicator.objects.filter(standard__isnull=False)
    assert with_standard.exists()
    for indicator in with_standard:
        assert indicator.standard_kind
        assert "Resolution No. 724" in indicator.description or "Housing Code" in (
            indicator.description
        )


def test_problem_free_indicators_are_higher_is_worse():
    assert not Indicator.objects.filter(
        system=IndicatorSystem.PROBLEM_FREE, direction="higher_better"
    ).exists()


# --- Indicator values -------------------------------------------------------------------------


def test_every_town_has_every_indicator_for_at_least_ten_years():
    towns, indicators = Town.objects.count(), Indicator.objects.count()
    per_pair = IndicatorValue.objects.filter(quarter=0).order_by().values("town", "indicator")
    pairs = per_pair.annotate(years=Count("year"))
    assert pairs.count() == towns * indicators
    assert not pairs.filter(years__lt=10).exists()
    assert len(YEARS) >= 10


def test_every_generated_value_is_synthetic_published_public_and_cites_the_dataset():
    source = synthetic_source()
    assert source.is_synthetic
    assert (source.state, source.access_level) == ("published", "public")
    values = IndicatorValue.objects.all()
    assert values.count() == Town.objects.count() * len(CATALOGUE) * len(YEARS)
    assert not values.filter(is_synthetic=False).exists()
    assert not values.exclude(source=source).exists()
    assert not values.exclude(state="published", access_level="public").exists()
    assert not values.exclude(note=SYNTHETIC_NOTE).exists()


def test_the_population_series_passes_through_each_towns_census_figure():
    known = Town.objects.filter(population_year__in=YEARS, population__gt=0)
    population = IndicatorValue.objects.filter(
        indicator__code="population", year=F("town__population_year"), town__in=known
    )
    assert population.count() == known.count() > 250
    assert not population.exclude(value=F("town__population")).exists()
    # Where GeoNames has no figure (0), the series assumes a small town instead of zero people.
    unknown = IndicatorValue.objects.filter(indicator__code="population", town__population=0)
    assert unknown.exists() and not unknown.filter(value__lte=0).exists()


def test_only_demographic_balances_can_be_negative():
    negative = IndicatorValue.objects.filter(value__lt=0)
    codes = set(negative.values_list("indicator__code", flat=True))
    assert codes <= {"natural_increase", "net_migration"}


def test_rates_stay_in_plausible_ranges():
    def extremes(code: str) -> tuple[float, float]:
        values = IndicatorValue.objects.filter(indicator__code=code).values_list("value", flat=True)
        return float(min(values)), float(max(values))

    low, high = extremes("registered_unemployment_rate")
    assert low > 0 and high < 5
    low, high = extremes("water_supply_access")
    assert low > 40 and high <= 100
    low, high = extremes("industrial_production_index")
    assert low > 70 and high < 140


def test_generation_is_deterministic_and_differs_between_towns():
    glubokoe, postavy = Town.objects.get(slug="hlybokaye"), Town.objects.get(slug="pastavy")
    assert generate_series(glubokoe) == generate_series(glubokoe)
    assert (
        generate_series(glubokoe)["crimes_per_10000"]
        != generate_series(postavy)["crimes_per_10000"]
    )


# --- Idempotence ------------------------------------------------------------------------------


def test_load_demo_twice_creates_and_changes_nothing():
    events = apps.get_model("towns", "IndicatorValueEvent")
    before, history = demo_counts(), events.objects.count()
    out = StringIO()
    call_command("load_demo", stdout=out)
    lines = report_lines(out.getvalue())
    for label in OWN_LABELS:
        assert " 0 created, 0 updated," in lines[label], lines[label]
    assert demo_counts() == before
    assert events.objects.count() == history  # no write, so no history row either


def test_load_demo_restores_a_generated_value_but_keeps_a_researchers_figure():
    glubokoe = Town.objects.get(slug="hlybokaye")
    generated = IndicatorValue.objects.get(
        town=glubokoe, indicator__code="crimes_per_10000", year=2020
    )
    original = generated.value
    IndicatorValue.objects.filter(pk=generated.pk).update(value=1)
    researched = IndicatorValue.objects.get(town=glubokoe, indicator__code="population", year=2023)
    belstat = Indicator.objects.get(code="population").definition_source
    IndicatorValue.objects.filter(pk=researched.pk).update(
        value=17_000, is_synthetic=False, source=belstat
    )

    out = StringIO()
    call_command("load_demo", stdout=out)

    generated.refresh_from_db()
    researched.refresh_from_db()
    assert generated.value == original
    assert (researched.value, researched.is_synthetic) == (17_000, False)
    assert "indicator values: 0 created, 1 updated" in out.getvalue()


# --- Who governs the case towns ---------------------------------------------------------------


@pytest.mark.parametrize(("town_name", "kind"), sorted(DOMINANT_KIND.items()))
def test_each_case_town_has_its_dominant_group_kind_and_typology(town_name, kind):
    town = case_towns()[town_name]
    published = Influence.objects.filter(town=town, state="published").select_related("group")
    strongest = published.order_by("-strength").first()
    assert strongest.strength == 5
    assert strongest.group.kind == kind
    assert presentation_source() in strongest.sources.all()
    assert (strongest.group.state, strongest.group.access_level) == ("published", "public")
    # The stored aggregate, the public profile and the pure function all agree.
    assert town.typology == kind
    assert town_profile(town).typology.label == kind
    assert classify_typology(influence_inputs(list(published))).label == kind


def test_every_case_town_has_a_counter_influence_so_the_balance_is_not_trivial():
    for name, town in case_towns().items():
        counter = Influence.objects.filter(town=town, state="published", strength__lte=2)
        assert counter.exists(), name
        assert 0 < town.own_share < 1, name
        assert (town.own_share < 0.5) == (name in ALIEN_TOWNS), name


def test_inferred_details_are_marked_synthetic():
    # The presentation lists the corporate sectors without assigning one to each town.
    corporate = InfluenceGroup.objects.filter(
        kind="outside_corporate", influences__strength=5
    ).exclude(sector="")
    assert corporate.count() == 4
    assert not corporate.filter(is_synthetic=False).exists()
    assert all("illustrative" in group.description for group in corporate)
    weak = Influence.objects.filter(strength__lte=2)
    assert not weak.filter(is_synthetic=False).exists()


def test_every_published_claim_cites_a_source():
    for model in CLAIMS:
        published = model.objects.filter(state=PublicationState.PUBLISHED)
        assert published.exists(), model.__name__
        assert not published.filter(sources__isnull=True).exists(), model.__name__
    assert not IndicatorValue.objects.filter(state="published", source__isnull=True).exists()


def test_appointments_recruit_outsiders_in_alien_towns_and_locals_in_our_own():
    outsiders = {
        RecruitedFrom.OTHER_REGION,
        RecruitedFrom.REGIONAL_ADMIN,
        RecruitedFrom.SECURITY,
        RecruitedFrom.CENTRAL_ADMIN,
    }
    for name, town in case_towns().items():
        chairman = Appointment.objects.get(
            town=town, post__kind="executive_chairman", end_date__isnull=True
        )
        if name in ALIEN_TOWNS:
            assert chairman.recruited_from in outsiders, name
        else:
            assert chairman.recruited_from == RecruitedFrom.THIS_TOWN, name
        assert chairman.influenced_by_groups.filter(kind=DOMINANT_KIND[name]).exists(), name


# --- Nobody sees more than they may -----------------------------------------------------------


def test_no_real_person_is_in_a_sensitive_role():
    persons = Person.objects.all()
    assert persons.count() >= 36
    assert not persons.filter(is_synthetic=False).exists()
    assert not persons.exclude(names_access_level=AccessLevel.RESTRICTED).exists()
    assert all(p.name_en.startswith("Fictional ") for p in persons)


def test_ties_and_persons_are_never_public_but_a_researcher_sees_them(
    django_user_model, researcher_user
):
    donor = django_user_model.objects.create_user(username="donor-h3", password="x" * 20)
    donor.groups.add(Group.objects.get_or_create(name="donor")[0])
    ties = Tie.objects.all()
    assert ties.count() >= 6
    assert not ties.exclude(access_level=AccessLevel.RESTRICTED).exists()
    assert ties.filter(state="draft").exists() and ties.filter(state="published").exists()
    for viewer in (None, donor):
        assert not Tie.objects.visible_to(viewer).exists()
        assert not Person.objects.visible_to(viewer).exists()
        assert not Source.objects.visible_to(viewer).filter(kind="interview").exists()
    assert Tie.objects.visible_to(researcher_user).count() == ties.count()
    assert Person.objects.visible_to(researcher_user).count() == Person.objects.count()
    interviews = Source.objects.visible_to(researcher_user).filter(kind="interview")
    assert interviews.filter(state="draft").exists()
    assert not interviews.filter(is_synthetic=False).exists()


def test_the_public_sees_posts_and_recruitment_but_no_draft():
    public = Appointment.objects.visible_to(None)
    assert public.exists()
    assert not public.exclude(state="published").exists()
    assert Appointment.objects.filter(state="draft").exists()
    assert Appointment.objects.filter(access_level=AccessLevel.PARTNER).exists()


# --- The gap ----------------------------------------------------------------------------------


def test_activities_in_every_case_town_cover_all_statuses():
    activities = Activity.objects.filter(town__in=case_towns().values())
    per_town = activities.order_by().values("town").annotate(n=Count("id"))
    assert per_town.count() == 9 and all(row["n"] >= 2 for row in per_town)
    assert set(activities.values_list("status", flat=True)) == set(ActivityStatus.values)
    assert not activities.filter(is_synthetic=False).exists()
    published = activities.filter(state="published")
    assert not published.filter(benefit__isnull=True).exists()
    cucumbers = activities.get(town__slug="olshany", title__icontains="cucumber")
    assert presentation_source() in cucumbers.sources.all()
    assert (
        Activity.objects.visible_to(None).count() == published.filter(access_level="public").count()
    )
