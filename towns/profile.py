"""A town's profile: its research records, as one viewer may see them, turned into scores.

:func:`town_profile` reads what ``user`` may see (every query goes through
``Model.objects.visible_to(user)``) and hands it to the pure functions of
:mod:`towns.scoring`. It runs a fixed number of queries (six at most, whatever the amount of
data) so that pages, the API and the admin can show a profile cheaply.

:func:`refresh_town_aggregates` stores the typology and the share of "our own" on the town,
for lists that filter and sort on them; it is called by ``towns.services`` on every write that
affects them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.access import PublicationState, Viewer, viewer_level
from towns.models import (
    Activity,
    Appointment,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    ResearchSettings,
    Town,
    TownKind,
)
from towns.scoring import (
    Balance,
    CriterionResult,
    InfluenceInput,
    Thresholds,
    TownFacts,
    TypologyResult,
    VentureAssessment,
    classify_typology,
    influence_balance,
    regional_subordination_check,
    typology_label,
    venture_assessment,
)

#: Indicator codes the regional-subordination criteria read (the demo catalogue defines them).
CRITERIA_CODES = ("population", "industrial_enterprises", "cultural_institutions")
#: Years between the two population figures of the "prospects" criterion.
TREND_YEARS = 5
#: Appended to a flag computed from generated figures: it may say nothing about the town.
SYNTHETIC_NOTE = gettext_lazy("(computed from synthetic demonstration figures)")


@dataclass
class TownProfile:
    """Everything a town profile shows, computed for one viewer and one date."""

    town: Town
    as_of: date
    balance: Balance
    typology: TypologyResult
    facts: TownFacts
    criteria: list[CriterionResult]
    ventures: list[tuple[Activity, VentureAssessment]]
    appointments: list[Appointment]
    influences: list[Influence]
    flags: list[str]

    @property
    def synthetic_inputs(self) -> list[str]:
        """The parts of the profile computed from synthetic (generated) records, by name:
        "balance", "typology", "criteria", "ventures", "flags". Empty when all are real."""
        parts = {
            "balance": self.balance.derived_from_synthetic,
            "typology": self.typology.derived_from_synthetic,
            "criteria": any(c.derived_from_synthetic for c in self.criteria),
            "ventures": any(a.is_synthetic for a, _v in self.ventures),
            "flags": bool(self.flags)
            and (
                any(c.derived_from_synthetic for c in self.criteria)
                or any(a.is_synthetic for a, v in self.ventures if v.contradicts_stance)
            ),
        }
        return [name for name, synthetic in parts.items() if synthetic]

    @property
    def derived_from_synthetic(self) -> bool:
        return bool(self.synthetic_inputs)

    @property
    def partial_view(self) -> bool:
        """Whether the viewer's balance or type differs from the stored aggregates, which count
        every published claim whatever its access level (the typology on lists and maps and
        the strategy advice read those): the page then says what each is computed from."""
        stored = None if self.town.own_share is None else float(self.town.own_share)
        mine = self.balance.own_share
        same_share = (stored is None and mine is None) or (
            stored is not None and mine is not None and round(stored * 100) == round(mine * 100)
        )
        return not same_share or self.typology.label != self.town.typology


def research_thresholds() -> Thresholds:
    """The thresholds reviewers keep in the database (one small query)."""
    return Thresholds.from_settings(ResearchSettings.current())


def active_on(day: date) -> Q:
    """Records whose ``start_date``/``end_date`` period covers ``day`` (open ends cover)."""
    return (Q(start_date__isnull=True) | Q(start_date__lte=day)) & (
        Q(end_date__isnull=True) | Q(end_date__gte=day)
    )


def group_name(group: InfluenceGroup) -> str:
    """The group's name in the active language, English when that one is empty."""
    return group.name


def influence_inputs(influences: list[Influence]) -> list[InfluenceInput]:
    """Scoring inputs from influence claims (their ``group`` must be loaded)."""
    return [
        InfluenceInput(
            group=group_name(i.group),
            origin=i.group.origin,
            kind=i.group.kind,
            strength=i.strength,
            confidence=i.confidence,
            synthetic=i.is_synthetic or i.group.is_synthetic,
            sources=frozenset(pk for pk in getattr(i, "source_ids", None) or () if pk),
        )
        for i in influences
    ]


def town_facts(town: Town, values: list[IndicatorValue]) -> TownFacts:
    """The criteria's facts from annual indicator values of ``town`` (indicator loaded).

    The latest year of each indicator counts; the population falls back to the town's own
    figure (GeoNames or census) when no indicator value is visible. ``population_change_5y`` is
    ``(P[latest] − P[latest − 5]) / P[latest − 5]`` from the population series, None when either
    year is missing.
    """
    series: dict[str, dict[int, Decimal]] = defaultdict(dict)
    generated: dict[str, set[int]] = defaultdict(set)
    for value in values:
        series[value.indicator.code][value.year] = value.value
        if value.is_synthetic:
            generated[value.indicator.code].add(value.year)

    def latest(code: str) -> tuple[Decimal | None, bool]:
        years = series.get(code)
        if not years:
            return None, False
        year = max(years)
        return years[year], year in generated[code]

    synthetic: set[str] = set()
    population_value, population_generated = latest("population")
    if population_value is not None and not (population_generated and town.population):
        population: int | None = int(population_value.to_integral_value())
        if population_generated:
            synthetic.add("population")
    else:
        # One number per fact: a generated population figure never overrides the town's own
        # (census or GeoNames) figure shown in its key facts.
        population = town.population

    change: float | None = None
    people = series.get("population")
    if people:
        last_year = max(people)
        before = people.get(last_year - TREND_YEARS)
        if before:
            change = float((people[last_year] - before) / before)
            if {last_year, last_year - TREND_YEARS} & generated["population"]:
                synthetic.add("population_change_5y")

    industrial, industrial_generated = latest("industrial_enterprises")
    cultural, cultural_generated = latest("cultural_institutions")
    if industrial_generated:
        synthetic.add("industrial_enterprises")
    if cultural_generated:
        synthetic.add("cultural_institutions")
    return TownFacts(
        population=population,
        industrial_enterprises=None if industrial is None else float(industrial),
        cultural_institutions=None if cultural is None else float(cultural),
        population_change_5y=change,
        synthetic=frozenset(synthetic),
    )


def town_profile(town: Town, *, user=None, as_of: date | None = None) -> TownProfile:
    """The profile of ``town`` as ``user`` may see it, as of ``as_of`` (default: today).

    Only records ``visible_to(user)`` count, so an anonymous visitor's balance is computed
    from published public claims alone. A claim about a group or person the viewer may not see
    is left out with it, so that no explanation names a hidden group. Influences and
    appointments count when their period covers ``as_of``; activities and indicator values up
    to its year. Person names still follow ``Person.names_access_level`` where shown.
    """
    day = as_of or timezone.localdate()
    visible_groups = InfluenceGroup.objects.visible_to(user)
    visible_persons = Person.objects.visible_to(user)

    influences = list(
        Influence.objects.visible_to(user)
        .filter(active_on(day), town=town, group__in=visible_groups)
        .select_related("group")
        .annotate(source_ids=ArrayAgg("sources", distinct=True))
        .order_by("-strength", "group__name_en", "pk")
    )
    thresholds = research_thresholds()
    # An appointment the viewer may see stays even when its holder may not be seen: the post,
    # the holder's origin, who shaped it and the dates are shown, the name withheld.
    appointments = list(
        Appointment.objects.visible_to(user)
        .filter(active_on(day), town=town)
        .select_related("person", "post")
        .prefetch_related(
            Prefetch("influenced_by_groups", queryset=visible_groups),
            Prefetch("influenced_by_persons", queryset=visible_persons),
        )
        .order_by("post__name_en", "-start_date", "pk")
    )
    activities = list(
        Activity.objects.visible_to(user)
        .filter(Q(year__isnull=True) | Q(year__lte=day.year), town=town)
        .order_by("title", "pk")
    )
    values = list(
        IndicatorValue.objects.visible_to(user)
        .filter(
            town=town,
            indicator__code__in=CRITERIA_CODES,
            quarter=0,
            year__lte=day.year,
        )
        .select_related("indicator")
    )

    inputs = influence_inputs(influences)
    balance = influence_balance(inputs)
    typology = classify_typology(inputs, thresholds)
    facts = town_facts(town, values)
    criteria = regional_subordination_check(facts, thresholds)
    ventures = [
        (
            activity,
            venture_assessment(
                benefit=activity.benefit,
                cost=activity.cost,
                threat=activity.threat,
                stance=activity.la_stance,
                thresholds=thresholds,
            ),
        )
        for activity in activities
    ]
    # Flags ask a researcher to check a record: they are for researchers, never the public.
    research = viewer_level(user) == Viewer.RESEARCH
    flags = profile_flags(town, criteria, ventures) if research else []
    if not research:
        ventures = [(a, replace(v, contradicts_stance=False, flag="")) for a, v in ventures]
    return TownProfile(
        town=town,
        as_of=day,
        balance=balance,
        typology=typology,
        facts=facts,
        criteria=criteria,
        ventures=ventures,
        appointments=appointments,
        influences=influences,
        flags=flags,
    )


def profile_flags(
    town: Town,
    criteria: list[CriterionResult],
    ventures: list[tuple[Activity, VentureAssessment]],
) -> list[str]:
    """What a researcher should look at: contradicted predictions and a doubtful town kind."""
    flags = [
        f"{activity.title}: {assessment.flag}"
        + (f" {SYNTHETIC_NOTE}" if activity.is_synthetic else "")
        for activity, assessment in ventures
        if assessment.contradicts_stance
    ]
    failing = [c for c in criteria if c.holds is False]
    if town.kind == TownKind.REGIONAL_CITY and failing:
        flag = _(
            "The town is recorded as a city of regional subordination, but these criteria "
            "do not hold: %(criteria)s. Check the kind or the figures."
        ) % {"criteria": "; ".join(str(c.label) for c in failing)}
        if any(c.derived_from_synthetic for c in failing):
            flag += f" {SYNTHETIC_NOTE}"
        flags.append(flag)
    return flags


def refresh_town_aggregates(town: Town) -> None:
    """Store the typology and the share of "our own" of ``town``, as of today, and whether
    either rests on a synthetic claim (``aggregates_synthetic``, marked wherever shown).

    Computed from every PUBLISHED influence claim whatever its access level: the aggregate is
    public while the claims behind it may stay hidden. Drafts, claims in review and
    soft-deleted claims do not count. Written with a queryset ``update()`` (audited by the
    history triggers) only when a value changes, and mirrored on ``town`` so that the
    caller's instance is current.
    """
    influences = list(
        Influence.objects.filter(
            active_on(timezone.localdate()),
            town=town,
            state=PublicationState.PUBLISHED,
            deleted_at__isnull=True,
        )
        .select_related("group")
        .annotate(source_ids=ArrayAgg("sources", distinct=True))
    )
    inputs = influence_inputs(influences)
    typology = typology_label(inputs, research_thresholds())
    share = influence_balance(inputs).own_share
    own_share = None if share is None else Decimal(str(round(share, 3)))
    synthetic = any(i.synthetic for i in inputs)
    Town.objects.filter(pk=town.pk).exclude(
        typology=typology, own_share=own_share, aggregates_synthetic=synthetic
    ).update(
        typology=typology,
        own_share=own_share,
        aggregates_synthetic=synthetic,
        # A partner syncing with ?updated_since= must learn that the town's type changed.
        updated_at=timezone.now(),
    )
    town.typology = typology
    town.own_share = own_share
    town.aggregates_synthetic = synthetic
