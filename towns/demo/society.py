"""Demo data of how power is implemented and of the society of the nine case towns.

What the research presentation says is entered as it says it, citing it (``is_synthetic`` is
False): that local authorities manage through the plan targets of the indicator systems (every
town), that the superior state structures of Turov and Mstislavl, the outside corporate
structures of Chavusy, Shchuchin, Lepel and Kamjanets and the clan of Glubokoe control the
appointments to key posts (the clan also conducts business), and that most of Olshany's
inhabitants belong to the Pentecostal community and grow and sell cucumbers.

Everything else is invented for the demo and marked synthetic, citing synthetic sources: every
society observation (the presentation only says that alienation from power is the normal
state), every self-organisation event, the other ways of life and every communication site
(generic names: "District central library", never a person). No person appears at all.

Some records are drafts or restricted, and the coordinates of the places run by independent
people are restricted, so that the access policy is visibly at work.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from governance.access import AccessLevel, PublicationState
from governance.loading import LoadReport
from governance.models import Confidence, Source
from towns.demo.research import PRESENTATION_CITATION, SYNTHETIC_CITATION, case_towns, upsert
from towns.models import (
    Activity,
    CommunicationSite,
    Indicator,
    InfluenceGroup,
    ManagementMechanism,
    MechanismKind,
    SelfOrganisationEvent,
    SocietyObservation,
    Town,
    WayOfLife,
)

PUBLIC, PARTNER, RESTRICTED = AccessLevel.PUBLIC, AccessLevel.PARTNER, AccessLevel.RESTRICTED
PUBLISHED, DRAFT = PublicationState.PUBLISHED, PublicationState.DRAFT
HIGH, MEDIUM, LOW = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW

SURVEY_CITATION = "Synthetic demo survey of residents of the case towns — not a real survey"
FIELD_CITATION = "Synthetic demo field observation notes — not real observations"

# --- Mechanisms --------------------------------------------------------------------------------
# (town, kind code, description, start year, indicator codes, group keys (research.GROUPS names),
#  suppressed activity titles, tolerated activity titles, from the presentation?)
PLAN = (
    "The town's authorities manage through the targets of the socio-economic development plans "
    "and the state system of social standards: what the indicators cover is what they run."
)
# fmt: off
MECHANISMS = [
    *[(town, "plan-targets", PLAN, 2010,
       ["industrial_production_index", "average_monthly_wage", "registered_unemployment_rate"],
       [], [], [], True)
      for town in ("Turov", "Mstislavl", "Chavusy", "Shchuchin", "Lepel", "Kamjanets",
                   "Glubokoe", "Postavy", "Olshany")],
    ("Turov", "appointments",
     "Key posts are filled by the district level of the vertical; the town carries out its "
     "regulations with minimal initiative of its own.",
     2010, [], ["District executive committee (Zhytkavichy)"], [], [], True),
    ("Mstislavl", "appointments",
     "Key posts are filled by the regional level of the vertical; the town carries out its "
     "regulations with minimal initiative of its own.",
     2010, [], ["Mogilev regional executive committee"], [], [], True),
    ("Mstislavl", "permits-inspections",
     "Permits for public events and inspections of the venues that host them.",
     2014, ["cultural_institutions"], [], ["Independent history club"], [], False),
    ("Chavusy", "permits-inspections",
     "Inspections of printers and distributors outside the district's official press.",
     2015, [], [], ["Independent local newspaper"],
     ["Youth street workout and clean-up days"], False),
    ("Glubokoe", "appointments",
     "A clan controls administrative appointments and conducts business in the town.",
     2010, [], ["Family clan (Glubokoe)"], [], [], True),
    ("Glubokoe", "co-opting-businesses",
     "Local businesses tied to the ruling family sponsor the town's festivals and plans.",
     2012, ["investment_per_capita"], ["Family clan (Glubokoe)"], [], ["Cherry festival"], False),
    ("Postavy", "informal-instructions",
     "Decisions agreed among long-standing colleagues are passed on by telephone, without a "
     "written act.",
     2011, [], [], [], ["Youth skate park built by volunteers"], False),
    ("Lepel", "ideological-work-gongos",
     "Youth and veterans' events organised through the local branches of GONGOs.",
     2013, [], [], ["Independent lake water monitoring"], [], False),
]
# fmt: on

# --- Society observations (all synthetic) ------------------------------------------------------
# (town, year, measure, value, unit, level, instrument, sample, source key, state, level)
# fmt: off
OBSERVATIONS = [
    ("Mstislavl", 2018, "trust", Decimal("18"), "% of respondents", 1, "survey", 400, "survey"),
    ("Mstislavl", 2018, "hearings", None, "", 1, "observation", None, "field"),
    ("Mstislavl", 2019, "petitions", Decimal("0"), "petitions", 2, "document", None, "synthetic"),
    ("Turov", 2018, "trust", Decimal("24"), "% of respondents", 2, "survey", 300, "survey"),
    ("Turov", 2019, "volunteers", Decimal("1"), "groups", 2, "observation", None, "field"),
    ("Turov", 2019, "elections", Decimal("1"), "candidates per seat", 1, "document", None,
     "synthetic"),
    ("Postavy", 2018, "initiatives", Decimal("11"), "% of respondents", 4, "survey", 350,
     "survey"),
    ("Postavy", 2019, "volunteers", Decimal("4"), "groups", 4, "observation", None, "field"),
    ("Postavy", 2019, "hearings", None, "", 3, "observation", None, "field"),
    ("Olshany", 2018, "initiatives", Decimal("23"), "% of respondents", 4, "survey", 250,
     "survey"),
    ("Olshany", 2019, "trust", None, "", 3, "interview", None, "field"),
    ("Olshany", 2019, "volunteers", Decimal("3"), "groups", 5, "observation", None, "field"),
    ("Glubokoe", 2018, "trust", Decimal("31"), "% of respondents", 3, "survey", 320, "survey"),
    ("Glubokoe", 2019, "petitions", Decimal("2"), "petitions", 2, "document", None, "synthetic"),
    # Too little for a verdict: one reading.
    ("Chavusy", 2019, "trust", Decimal("20"), "% of respondents", 2, "survey", 200, "survey"),
    ("Shchuchin", 2019, "petitions", Decimal("1"), "petitions", 3, "document", None,
     "synthetic"),
    ("Lepel", 2019, "volunteers", Decimal("2"), "groups", 3, "observation", None, "field"),
    ("Kamjanets", 2019, "trust", None, "", 2, "interview", None, "field"),
]
# A figure not yet read, still a draft: only researchers see it.
DRAFT_OBSERVATION = (
    "Postavy", 2020, "petitions", Decimal("3"), "petitions", None, "document", None, "synthetic"
)

# --- Self-organisation events (all synthetic) --------------------------------------------------
# (town, date, kind, title, outcome, description)
EVENTS = [
    ("Shchuchin", date(2018, 5, 12), "petition", "Petition for a playground", "achieved",
     "Parents collected signatures; the district added the playground to its plan."),
    ("Postavy", date(2017, 8, 20), "community_project", "Skate park built by volunteers",
     "achieved", "Young people and parents built the park with donated materials."),
    ("Postavy", date(2019, 4, 6), "initiative", "Neighbourhood clean-up days", "ongoing",
     "Monthly clean-ups organised by residents."),
    ("Olshany", date(2016, 3, 1), "initiative", "Cucumber growers' joint marketing", "partly",
     "Growers of the church community sell together and press for a market place."),
    ("Mstislavl", date(2016, 10, 2), "initiative", "Independent history club meetings",
     "suppressed", "The club lost its venue after an inspection."),
    ("Lepel", date(2016, 6, 15), "petition", "Appeal about the lake's water quality",
     "not_achieved", "Residents' measurements and appeal went unanswered."),
    ("Glubokoe", date(2018, 9, 9), "community_project", "Restoring a park fountain", "partly",
     "Residents raised part of the money; the rest is awaited."),
    ("Chavusy", date(2017, 7, 1), "initiative", "Youth clean-up days", "ongoing",
     "Volunteers clean the river bank each summer."),
]

# --- Ways of life ------------------------------------------------------------------------------
# (town, category, name, availability, barriers, from the presentation?)
WAYS = [
    ("Olshany", "work", "Cucumber growing in greenhouses", "open", "", True),
    ("Olshany", "faith", "Pentecostal community", "open", "", True),
    ("Olshany", "enterprise", "Family agricultural business", "open",
     "Land and credit come through the community.", True),
    ("Olshany", "faith", "Orthodox parish", "limited", "A small minority in the village.", False),
    ("Olshany", "education", "Vocational college (in the district centre)", "limited",
     "Daily travel to Stolin.", False),
    ("Olshany", "culture", "Secular youth leisure", "marginal",
     "No club outside the church community.", False),
    ("Postavy", "work", "Manufacturing", "open", "", False),
    ("Postavy", "culture", "Folk art and crafts scene", "open", "", False),
    ("Postavy", "education", "Agricultural college", "open", "", False),
    ("Postavy", "faith", "Catholic and Orthodox parishes", "open", "", False),
    ("Postavy", "enterprise", "Small shops and services", "limited",
     "Permits and inspections.", False),
    ("Glubokoe", "work", "Food processing", "open", "", False),
    ("Glubokoe", "culture", "Festival scene", "open", "", False),
    ("Glubokoe", "enterprise", "Independent business", "limited",
     "Markets dominated by businesses tied to the ruling family.", False),
    ("Lepel", "work", "Tourism around the lakes", "limited", "Seasonal.", False),
    ("Lepel", "work", "Military service", "open", "", False),
    ("Lepel", "culture", "Outdoor and cycling scene", "open", "", False),
    ("Mstislavl", "work", "Public sector jobs", "open", "", False),
    ("Mstislavl", "culture", "Historical re-enactment", "limited",
     "Only within the official festival.", False),
    ("Mstislavl", "enterprise", "Independent business", "marginal",
     "Few customers; frequent inspections.", False),
    ("Chavusy", "work", "Industrial plant", "open", "", False),
    ("Chavusy", "education", "General secondary school only", "limited",
     "Further education means leaving.", False),
    ("Turov", "work", "Forestry", "open", "", False),
    ("Turov", "enterprise", "Eco-tourism guest houses", "limited", "Seasonal, permits.", False),
    ("Turov", "faith", "Orthodox pilgrimage", "open", "", False),
    ("Shchuchin", "work", "Military garrison and services", "open", "", False),
    ("Shchuchin", "culture", "Palace restoration volunteers", "limited",
     "Tolerated, not supported.", False),
    ("Kamjanets", "work", "Agriculture and the national park", "open", "", False),
    ("Kamjanets", "culture", "Local history", "limited", "No venue.", False),
]

# --- Communication sites (all synthetic) -------------------------------------------------------
# (town, name, kind, operator, open, dialogue, offset (lat, lon) or None, coordinates level)
SITES = [
    ("Olshany", "Pentecostal prayer house", "church", "church", "partly", False,
     (0.002, 0.003), PUBLIC),
    ("Olshany", "Village library", "library", "state", "no", False, (-0.001, 0.001), PUBLIC),
    ("Olshany", "Market square", "park", "state", "partly", True, (0.0, -0.002), PUBLIC),
    ("Olshany", "Growers' chat group", "online", "independent", "yes", False, None, RESTRICTED),
    ("Postavy", "District central library", "library", "state", "partly", True,
     (0.001, 0.002), PUBLIC),
    ("Postavy", "House of culture", "club", "state", "partly", False, (-0.002, 0.001), PUBLIC),
    ("Postavy", "Book café", "cafe", "private", "yes", True, (0.002, -0.001), PARTNER),
    ("Postavy", "Skate park", "park", "independent", "yes", False, (-0.001, -0.003), RESTRICTED),
    ("Postavy", "Town neighbours' group", "online", "independent", "yes", False, None,
     RESTRICTED),
    ("Glubokoe", "House of culture", "club", "state", "no", False, (0.001, 0.001), PUBLIC),
    ("Glubokoe", "Town park", "park", "state", "partly", True, (-0.002, 0.002), PUBLIC),
    ("Glubokoe", "Catholic church hall", "church", "church", "partly", False, (0.002, -0.002),
     PUBLIC),
    ("Mstislavl", "House of culture", "club", "state", "no", False, (0.001, 0.0), PUBLIC),
    ("Mstislavl", "District library", "library", "state", "no", False, (-0.001, 0.002), PUBLIC),
    ("Mstislavl", "Youth union club", "club", "gongo", "no", False, (0.0, -0.002), PUBLIC),
    ("Lepel", "Lakeside promenade", "park", "state", "partly", True, (0.002, 0.001), PUBLIC),
    ("Lepel", "House of officers", "club", "state", "no", False, (-0.001, -0.001), PUBLIC),
    ("Turov", "House of culture", "club", "state", "no", False, (0.001, 0.001), PUBLIC),
    ("Turov", "Cathedral square", "church", "church", "partly", True, (-0.001, 0.001), PUBLIC),
    ("Chavusy", "District library", "library", "state", "no", False, (0.001, -0.001), PUBLIC),
    ("Chavusy", "Riverside park", "park", "state", "partly", False, (-0.002, 0.001), PUBLIC),
    ("Shchuchin", "Palace park", "park", "state", "partly", True, (0.002, 0.002), PUBLIC),
    ("Shchuchin", "Youth union club", "club", "gongo", "no", False, (-0.001, 0.0), PUBLIC),
    ("Kamjanets", "Tower square", "park", "state", "partly", True, (0.001, 0.001), PUBLIC),
    ("Kamjanets", "District library", "library", "state", "no", False, (-0.001, -0.002), PUBLIC),
]
# fmt: on


def load_society_sources(report: LoadReport) -> dict[str, Source]:
    sources = {
        "presentation": Source.objects.get(citation=PRESENTATION_CITATION),
        "synthetic": Source.objects.get(citation=SYNTHETIC_CITATION),
    }
    for key, kind, citation in (
        ("survey", Source.Kind.DATASET, SURVEY_CITATION),
        ("field", Source.Kind.OBSERVATION, FIELD_CITATION),
    ):
        sources[key] = upsert(
            Source,
            {"kind": kind, "citation": citation},
            {
                "reliability": Source.Reliability.D,
                "is_synthetic": True,
                "note": "Invented for the demo: nothing citing this source is a fact.",
            },
            report,
            on_create={"access_level": PUBLIC, "state": PUBLISHED},
        )
    return sources


def _published(level=PUBLIC) -> dict:
    return {"access_level": level, "state": PUBLISHED}


def load_mechanisms(report, towns: dict[str, Town], sources: dict[str, Source]) -> None:
    kinds = {k.code: k for k in MechanismKind.objects.all()}
    indicators = {i.code: i for i in Indicator.objects.all()}
    for town_name, code, text, year, codes, groups, suppresses, tolerates, real in MECHANISMS:
        town = towns[town_name]
        activities = {a.title: a for a in Activity.objects.filter(town=town)}
        upsert(
            ManagementMechanism,
            {"town": town, "kind": kinds[code]},
            {
                "description": text,
                "start_date": date(year, 1, 1),
                "confidence": MEDIUM if real else LOW,
                "is_synthetic": not real,
            },
            report,
            on_create=_published(),
            m2m={
                "sources": [sources["presentation" if real else "synthetic"]],
                "indicators": [indicators[c] for c in codes if c in indicators],
                "groups": list(InfluenceGroup.objects.filter(name_en__in=groups)),
                "suppresses": [activities[t] for t in suppresses if t in activities],
                "tolerates": [activities[t] for t in tolerates if t in activities],
            },
        )


def load_observations(report, towns: dict[str, Town], sources: dict[str, Source]) -> None:
    for spec in [*OBSERVATIONS, DRAFT_OBSERVATION]:
        town_name, year, measure, value, unit, level, instrument, sample, source = spec
        draft = spec is DRAFT_OBSERVATION
        upsert(
            SocietyObservation,
            {"town": towns[town_name], "year": year, "measure": measure},
            {
                "value": value,
                "unit": unit,
                "level": level,
                "instrument": instrument,
                "sample_size": sample,
                "confidence": LOW if draft else MEDIUM,
                "is_synthetic": True,
            },
            report,
            on_create={"access_level": RESTRICTED, "state": DRAFT} if draft else _published(),
            m2m={"sources": [] if draft else [sources[source]]},
        )


def load_events(report, towns: dict[str, Town], sources: dict[str, Source]) -> None:
    for town_name, day, kind, title, outcome, text in EVENTS:
        upsert(
            SelfOrganisationEvent,
            {"town": towns[town_name], "title": title},
            {
                "date": day,
                "kind": kind,
                "outcome": outcome,
                "description": text,
                "confidence": MEDIUM,
                "is_synthetic": True,
            },
            report,
            on_create=_published(),
            m2m={"sources": [sources["synthetic"]]},
        )


def load_ways(report, towns: dict[str, Town], sources: dict[str, Source]) -> None:
    for town_name, category, name, availability, barriers, real in WAYS:
        upsert(
            WayOfLife,
            {"town": towns[town_name], "category": category, "name": name},
            {
                "availability": availability,
                "barriers": barriers,
                "confidence": MEDIUM if real else LOW,
                "is_synthetic": not real,
            },
            report,
            on_create=_published(),
            m2m={"sources": [sources["presentation"] if real else sources["synthetic"]]},
        )


def load_sites(report, towns: dict[str, Town], sources: dict[str, Source]) -> None:
    for town_name, name, kind, operator, openness, dialogue, offset, coords_level in SITES:
        town = towns[town_name]
        lat = lon = None
        if offset is not None:
            lat = (town.latitude + Decimal(str(offset[0]))).quantize(Decimal("0.00001"))
            lon = (town.longitude + Decimal(str(offset[1]))).quantize(Decimal("0.00001"))
        # An independent online group is known to researchers only.
        level = RESTRICTED if kind == "online" else PUBLIC
        upsert(
            CommunicationSite,
            {"town": town, "name": name},
            {
                "kind": kind,
                "operator": operator,
                "open_to_independent": openness,
                "dialogue_place": dialogue,
                "latitude": lat,
                "longitude": lon,
                "coordinates_access_level": coords_level,
                "confidence": MEDIUM,
                "is_synthetic": True,
            },
            report,
            on_create=_published(level),
            m2m={"sources": [sources["synthetic"]]},
        )


def load_society(report: LoadReport) -> None:
    """Mechanisms, observations, events, ways of life and sites of the nine case towns."""
    towns = case_towns()
    sources = load_society_sources(report)
    load_mechanisms(report, towns, sources)
    load_observations(report, towns, sources)
    load_events(report, towns, sources)
    load_ways(report, towns, sources)
    load_sites(report, towns, sources)
