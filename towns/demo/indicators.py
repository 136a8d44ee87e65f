"""The indicator catalogue of both systems, and generated demo values for every town.

The catalogue is real: each indicator is described as Belarusian official statistics (Belstat)
define it, with its unit, its direction and a national standard only where a legal act sets
one. The VALUES are not: no town-level series is at hand, so every value is generated,
marked ``is_synthetic`` and cited to the "synthetic demo values" source, so that nobody
mistakes it for a fact. A researcher who enters a real figure for a period keeps it: the loader
only ever rewrites rows that it generated itself.

Generation is deterministic (``random.Random`` seeded with the town's slug and the indicator
code, so the same town gets the same series on every machine) and plausible: the population
series passes through the town's census figure with a small yearly drift; the migration figure
closes the gap between that drift and natural increase; counts scale with population; rates
follow rough national paths of the years 2014-2023, scaled by a few traits of each town (size,
prosperity, a "trouble" factor) and yearly noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, When
from django.utils import timezone

from governance.access import AccessLevel, PublicationState
from governance.bulk import immediate_constraints, insert_rows
from governance.loading import LoadReport
from governance.models import Confidence, Source
from governance.services import audit_context
from towns.demo.research import upsert
from towns.models import (
    Direction,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    StandardKind,
    Town,
    TownKind,
)

YEARS = tuple(range(2014, 2024))
UNKNOWN_POPULATION = 1500
SYNTHETIC_NOTE = "Generated for the demo: not a fact."

BELSTAT_CITATION = (
    "National Statistical Committee of the Republic of Belarus (Belstat): methodological "
    "notes to the statistical compendia «Regions of the Republic of Belarus» and «Offences in "
    "the Republic of Belarus» (definitions of indicators)"
)
SOCIAL_STANDARDS_CITATION = (
    "Council of Ministers of the Republic of Belarus, Resolution No. 724 of 30 May 2003 «On "
    "measures to introduce the system of state social standards for servicing the population "
    "of the republic» (as amended)"
)
SOCIAL_STANDARDS_URL = "https://etalonline.by/document/?regnum=c20300724"

S1, S2 = IndicatorSystem.NATIONAL, IndicatorSystem.PROBLEM_FREE
UP, DOWN = Direction.HIGHER_BETTER, Direction.HIGHER_WORSE


@dataclass(frozen=True)
class Spec:
    code: str
    system: int
    name_en: str
    name_be: str
    name_ru: str
    unit: str
    direction: str
    description: str
    standard: Decimal | None = None
    standard_kind: str = ""
    defined_by: str = "belstat"
    decimals: int = 1


CATALOGUE: tuple[Spec, ...] = (
    # --- System 1: national social standards, economic and development indicators ---------
    Spec(
        "population",
        S1,
        "Population (average annual)",
        "Сярэднегадовая колькасць насельніцтва",
        "Среднегодовая численность населения",
        "persons",
        UP,
        "Average annual population: the mean of the population at the beginning and at the end "
        "of the year (Belstat, demographic statistics). A town of regional subordination needs "
        "over 6,000 inhabitants and prospects of population growth.",
        decimals=0,
    ),
    Spec(
        "natural_increase",
        S1,
        "Natural increase (decrease) per 1,000 population",
        "Натуральны прырост (змяншэнне) насельніцтва на 1 000 чалавек",
        "Естественный прирост (убыль) населения на 1 000 человек",
        "per 1,000 population",
        UP,
        "Live births minus deaths registered in the year, per 1,000 of the average annual "
        "population; negative values are a natural decrease (Belstat, demographic statistics).",
    ),
    Spec(
        "net_migration",
        S1,
        "Migration increase (decrease) per 1,000 population",
        "Міграцыйны прырост (змяншэнне) насельніцтва на 1 000 чалавек",
        "Миграционный прирост (убыль) населения на 1 000 человек",
        "per 1,000 population",
        UP,
        "Persons arriving minus persons leaving, as registered at the place of residence in the "
        "year, per 1,000 of the average annual population (Belstat, migration statistics).",
    ),
    Spec(
        "industrial_enterprises",
        S1,
        "Industrial organisations",
        "Колькасць прамысловых арганізацый",
        "Число промышленных организаций",
        "organisations",
        UP,
        "Legal entities whose main kind of economic activity is industry — sections B to E of "
        "the national classifier OKRB 005 (mining and quarrying; manufacturing; electricity, "
        "gas, steam and air-conditioning supply; water supply, sewerage and waste management) — "
        "located in the town at the end of the year (Belstat, industry statistics). A town of "
        "regional subordination has industrial enterprises.",
        decimals=0,
    ),
    Spec(
        "industrial_production_index",
        S1,
        "Index of industrial production",
        "Індэкс прамысловай вытворчасці",
        "Индекс промышленного производства",
        "% of previous year",
        UP,
        "Volume of industrial output (sections B to E) in comparable prices, as a percentage "
        "of the previous year (Belstat, industry statistics). A key target of the annual "
        "socio-economic development plans of districts.",
    ),
    Spec(
        "average_monthly_wage",
        S1,
        "Average monthly nominal gross wage",
        "Намінальная налічаная сярэднямесячная заработная плата",
        "Номинальная начисленная среднемесячная заработная плата",
        "BYN",
        UP,
        "The wage fund accrued to employees, before taxes and deductions, divided by the "
        "average number of employees and by the months of the period, in Belarusian roubles; "
        "figures before the redenomination of 1 July 2016 are in new roubles (10,000 : 1) "
        "(Belstat, labour statistics).",
    ),
    Spec(
        "retail_turnover_per_capita",
        S1,
        "Retail turnover per capita",
        "Рознічны тавараабарот на душу насельніцтва",
        "Розничный товарооборот на душу населения",
        "BYN per capita",
        UP,
        "Revenue from the sale of consumer goods to the population for personal, family and "
        "household use through all channels (shops, markets, individual entrepreneurs), in "
        "current prices, divided by the average annual population (Belstat, trade statistics).",
        decimals=0,
    ),
    Spec(
        "investment_per_capita",
        S1,
        "Investment in fixed capital per capita",
        "Інвестыцыі ў асноўны капітал на душу насельніцтва",
        "Инвестиции в основной капитал на душу населения",
        "BYN per capita",
        UP,
        "Expenditure on the construction, reconstruction, expansion and modernisation of fixed "
        "assets, on machinery, equipment and vehicles, and other investment in fixed capital, "
        "from all sources of finance, in current prices, divided by the average annual "
        "population (Belstat, investment statistics).",
        decimals=0,
    ),
    Spec(
        "housing_commissioned",
        S1,
        "Housing commissioned per 1,000 population",
        "Увод у эксплуатацыю жылля на 1 000 чалавек",
        "Ввод в эксплуатацию жилья на 1 000 человек",
        "m² per 1,000 population",
        UP,
        "Total area of the dwellings of residential buildings put into operation in the year, "
        "from all sources of finance and including individual builders, per 1,000 of the "
        "population (Belstat, construction statistics).",
        decimals=0,
    ),
    Spec(
        "housing_area_per_person",
        S1,
        "Housing provision: total area per inhabitant",
        "Забяспечанасць насельніцтва жыллём (агульная плошча на аднаго жыхара)",
        "Обеспеченность населения жильём (общая площадь на одного жителя)",
        "m² per inhabitant",
        UP,
        "Total area of the housing stock at the end of the year divided by the population "
        "(Belstat, housing statistics). The Housing Code of the Republic of Belarus (art. 36) "
        "treats a household with less than 15 m² of total area per person (10 m² in Minsk) as "
        "needing better housing; that threshold is recorded as the minimum.",
        standard=Decimal("15.000"),
        standard_kind=StandardKind.MINIMUM,
    ),
    Spec(
        "water_supply_access",
        S1,
        "Population with access to centralised water supply",
        "Доля насельніцтва з доступам да цэнтралізаваных сістэм водазабеспячэння",
        "Доля населения, имеющего доступ к централизованным системам водоснабжения",
        "% of population",
        UP,
        "Share of the population with access to centralised water supply systems at the end "
        "of the year. A state social standard (Council of Ministers Resolution No. 724 of "
        "30 May 2003, as amended) sets 85 % for towns and urban settlements for 2021-2025 "
        "(70 % for agro-towns from 2023), recorded here as the minimum; district executive "
        "committees report on it.",
        standard=Decimal("85.000"),
        standard_kind=StandardKind.MINIMUM,
        defined_by="social_standards",
    ),
    Spec(
        "doctors_per_10000",
        S1,
        "Doctors of all specialities per 10,000 population",
        "Колькасць урачоў усіх спецыяльнасцей на 10 000 чалавек",
        "Численность врачей всех специальностей на 10 000 человек населения",
        "per 10,000 population",
        UP,
        "Doctors of all specialities with higher medical education working in health "
        "organisations at the end of the year, per 10,000 population (Belstat, health "
        "statistics, from Ministry of Health data). Provision with medical care is one of the "
        "areas of the state social standards.",
    ),
    Spec(
        "hospital_beds_per_10000",
        S1,
        "Hospital beds per 10,000 population",
        "Колькасць бальнічных ложкаў на 10 000 чалавек",
        "Число больничных коек на 10 000 человек населения",
        "per 10,000 population",
        UP,
        "Beds in health organisations providing inpatient care at the end of the year, per "
        "10,000 population (Belstat, health statistics).",
    ),
    Spec(
        "preschool_places_per_100",
        S1,
        "Places in pre-school institutions per 100 children",
        "Забяспечанасць дзяцей месцамі ва ўстановах дашкольнай адукацыі",
        "Обеспеченность детей местами в учреждениях дошкольного образования",
        "places per 100 children",
        UP,
        "Places in institutions of pre-school education per 100 children of pre-school age "
        "living in the area, at the end of the year (Belstat, education statistics). The state "
        "social standards include a norm of provision with such places, which each regional "
        "executive committee sets for its districts.",
    ),
    Spec(
        "cultural_institutions",
        S1,
        "Cultural institutions (clubs, public libraries, museums)",
        "Установы культуры (клубы, публічныя бібліятэкі, музеі)",
        "Учреждения культуры (клубы, публичные библиотеки, музеи)",
        "institutions",
        UP,
        "Club-type institutions (houses and centres of culture, clubs), public libraries and "
        "museums at the end of the year (Belstat, culture statistics). A town of regional "
        "subordination has a set of socio-cultural institutions.",
        decimals=0,
    ),
    Spec(
        "individual_entrepreneurs_per_1000",
        S1,
        "Individual entrepreneurs per 1,000 population",
        "Колькасць індывідуальных прадпрымальнікаў на 1 000 чалавек",
        "Число индивидуальных предпринимателей на 1 000 человек",
        "per 1,000 population",
        UP,
        "Individual entrepreneurs registered in the Unified State Register of Legal Entities "
        "and Individual Entrepreneurs at the end of the year, per 1,000 population (Belstat, "
        "small and medium business statistics).",
    ),
    # --- System 2: "problem-free" indicators of undesirable socio-economic activity --------
    Spec(
        "registered_unemployment_rate",
        S2,
        "Registered unemployment rate",
        "Узровень зарэгістраванага беспрацоўя",
        "Уровень зарегистрированной безработицы",
        "% of labour force",
        DOWN,
        "Unemployed persons registered with the bodies for labour, employment and social "
        "protection at the end of the period, as a percentage of the economically active "
        "population (Belstat, labour statistics).",
        decimals=2,
    ),
    Spec(
        "wage_arrears",
        S2,
        "Overdue wage arrears",
        "Пратэрмінаваная запазычанасць па заработнай плаце",
        "Просроченная задолженность по заработной плате",
        "thousand BYN",
        DOWN,
        "Wages accrued but not paid to employees by the date set for payment, at the end of "
        "the period, in organisations of the town (Belstat, labour statistics).",
    ),
    Spec(
        "loss_making_share",
        S2,
        "Share of loss-making organisations",
        "Удзельная вага стратных арганізацый",
        "Удельный вес убыточных организаций",
        "% of organisations",
        DOWN,
        "Organisations whose net financial result for the year is a loss, as a percentage of "
        "the organisations reporting their financial results (Belstat, finances of "
        "organisations; banks, insurers and budget organisations are not included).",
    ),
    Spec(
        "crimes_per_10000",
        S2,
        "Registered crimes per 10,000 population",
        "Колькасць зарэгістраваных злачынстваў на 10 000 чалавек",
        "Число зарегистрированных преступлений на 10 000 человек населения",
        "per 10,000 population",
        DOWN,
        "Crimes registered in the year by the internal affairs, investigative and other law "
        "enforcement bodies, per 10,000 population (Belstat, «Offences in the Republic of "
        "Belarus»).",
    ),
    Spec(
        "juvenile_crimes_per_10000",
        S2,
        "Crimes by minors per 10,000 population",
        "Злачынствы, учыненыя непаўналетнімі або пры іх саўдзеле, на 10 000 чалавек",
        "Преступления, совершённые несовершеннолетними или при их соучастии, на 10 000 человек",
        "per 10,000 population",
        DOWN,
        "Crimes registered in the year that were committed by minors (under 18) or with their "
        "participation, per 10,000 population (Belstat, «Offences in the Republic of Belarus»).",
        decimals=2,
    ),
    Spec(
        "alcohol_crimes_per_10000",
        S2,
        "Crimes committed while drunk per 10,000 population",
        "Злачынствы, учыненыя ў стане алкагольнага ап'янення, на 10 000 чалавек",
        "Преступления, совершённые в состоянии алкогольного опьянения, на 10 000 человек",
        "per 10,000 population",
        DOWN,
        "Crimes committed by persons in a state of alcohol intoxication, registered in the "
        "year, per 10,000 population (Belstat, «Offences in the Republic of Belarus»).",
    ),
    Spec(
        "alcohol_sales_per_capita",
        S2,
        "Sales of alcoholic beverages per capita (absolute alcohol)",
        "Продаж алкагольных напояў на душу насельніцтва (у абсалютным алкаголі)",
        "Продажа алкогольных напитков на душу населения (в абсолютном алкоголе)",
        "litres of absolute alcohol per capita",
        DOWN,
        "Alcoholic beverages and beer sold through retail trade and catering in the year, "
        "converted to absolute (100 %) alcohol, in litres per inhabitant (Belstat, trade "
        "statistics).",
    ),
    Spec(
        "alcoholism_registered_per_100000",
        S2,
        "Persons registered with alcoholism per 100,000 population",
        "Асобы на ўліку з алкагалізмам і алкагольнымі псіхозамі на 100 000 чалавек",
        "Лица, состоящие на учёте с алкоголизмом и алкогольными психозами, на 100 000 человек",
        "per 100,000 population",
        DOWN,
        "Patients under dispensary observation with chronic alcoholism and alcoholic psychoses "
        "at the end of the year, per 100,000 population (Belstat, health statistics, from "
        "Ministry of Health data).",
        decimals=0,
    ),
    Spec(
        "administrative_offences_per_1000",
        S2,
        "Administrative offences per 1,000 population",
        "Адміністрацыйныя правапарушэнні на 1 000 чалавек",
        "Административные правонарушения на 1 000 человек",
        "per 1,000 population",
        DOWN,
        "Administrative offences recorded in the year under the Code of Administrative "
        "Offences of the Republic of Belarus, road traffic included, per 1,000 population "
        "(Belstat, «Offences in the Republic of Belarus»).",
    ),
    Spec(
        "public_drunkenness_per_1000",
        S2,
        "Drinking or appearing drunk in public per 1,000 population",
        "Распіццё алкагольных напояў або з'яўленне ў грамадскім месцы ў стане ап'янення",
        "Распитие алкогольных напитков или появление в общественном месте в состоянии опьянения",
        "per 1,000 population",
        DOWN,
        "Administrative offences of drinking alcoholic beverages in public places or appearing "
        "in public drunk (Code of Administrative Offences: art. 17.3 until 1 March 2021, "
        "art. 19.3 since), per 1,000 population (Belstat, «Offences in the Republic of "
        "Belarus»).",
    ),
)


def load_indicator_sources(report: LoadReport) -> dict[str, Source]:
    published = {"access_level": AccessLevel.PUBLIC, "state": PublicationState.PUBLISHED}
    return {
        "belstat": upsert(
            Source,
            {"kind": Source.Kind.DOCUMENT, "citation": BELSTAT_CITATION},
            {"reliability": Source.Reliability.A, "is_synthetic": False},
            report,
            on_create=published,
        ),
        "social_standards": upsert(
            Source,
            {"kind": Source.Kind.DOCUMENT, "citation": SOCIAL_STANDARDS_CITATION},
            {
                "url": SOCIAL_STANDARDS_URL,
                "reliability": Source.Reliability.A,
                "is_synthetic": False,
            },
            report,
            on_create=published,
        ),
    }


#: Each unit of the catalogue in Belarusian and Russian (Indicator.unit_be, unit_ru).
UNIT_TRANSLATIONS = {
    "% of labour force": ("% ад працоўнай сілы", "% от рабочей силы"),
    "% of organisations": ("% ад колькасці арганізацый", "% от числа организаций"),
    "% of population": ("% насельніцтва", "% населения"),
    "% of previous year": ("% да папярэдняга года", "% к предыдущему году"),
    "BYN": ("BYN", "BYN"),
    "BYN per capita": ("BYN на душу насельніцтва", "BYN на душу населения"),
    "institutions": ("установы", "учреждения"),
    "litres of absolute alcohol per capita": (
        "літраў абсалютнага алкаголю на душу насельніцтва",
        "литров абсолютного алкоголя на душу населения",
    ),
    "m² per 1,000 population": ("м² на 1 000 чалавек", "м² на 1 000 человек"),
    "m² per inhabitant": ("м² на аднаго жыхара", "м² на одного жителя"),
    "organisations": ("арганізацый", "организаций"),
    "per 1,000 population": ("на 1 000 чалавек", "на 1 000 человек"),
    "per 10,000 population": ("на 10 000 чалавек", "на 10 000 человек"),
    "per 100,000 population": ("на 100 000 чалавек", "на 100 000 человек"),
    "persons": ("чалавек", "человек"),
    "places per 100 children": ("месцаў на 100 дзяцей", "мест на 100 детей"),
    "thousand BYN": ("тыс. BYN", "тыс. BYN"),
}


def load_catalogue(report: LoadReport) -> dict[str, Indicator]:
    sources = load_indicator_sources(report)
    return {
        spec.code: upsert(
            Indicator,
            {"code": spec.code},
            {
                "system": spec.system,
                "name_en": spec.name_en,
                "name_be": spec.name_be,
                "name_ru": spec.name_ru,
                "unit": spec.unit,
                "unit_be": UNIT_TRANSLATIONS[spec.unit][0],
                "unit_ru": UNIT_TRANSLATIONS[spec.unit][1],
                "direction": spec.direction,
                "standard": spec.standard,
                "standard_kind": spec.standard_kind,
                "description": spec.description,
                "definition_source": sources[spec.defined_by],
            },
            report,
        )
        for spec in CATALOGUE
    }


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

# Rough national paths 2014-2023 that the generated series follow (scaled per town, with
# noise). They only shape plausible synthetic values and are not presented as statistics.
NATIONAL = {
    "natural_increase": (0.2, 0.2, 0.1, -1.7, -2.6, -3.4, -5.2, -7.9, -5.8, -5.2),
    "industrial_production_index": (
        101.9,
        93.4,
        99.6,
        106.1,
        105.7,
        101.0,
        99.3,
        106.5,
        94.7,
        107.7,
    ),
    "average_monthly_wage": (671, 715, 723, 823, 971, 1093, 1254, 1435, 1668, 1970),
    "retail_turnover_per_capita": (2060, 2150, 2200, 2380, 2650, 2900, 3150, 3500, 4000, 4700),
    "investment_per_capita": (2260, 1980, 1850, 2050, 2400, 2760, 2800, 2880, 3010, 3700),
    "housing_commissioned": (550, 485, 420, 390, 430, 465, 450, 440, 455, 480),
    "individual_entrepreneurs_per_1000": (26, 25, 24, 25, 25, 26, 26, 25, 23, 22),
    "registered_unemployment_rate": (0.5, 1.0, 0.8, 0.5, 0.3, 0.3, 0.2, 0.2, 0.2, 0.15),
    "loss_making_share": (14, 20, 21, 18, 16, 19, 21, 16, 20, 13),
    "crimes_per_10000": (100, 103, 93, 90, 90, 103, 95, 92, 83, 85),
    "juvenile_crimes_per_10000": (2.4, 2.2, 2.1, 2.0, 1.9, 1.8, 1.7, 1.7, 1.6, 1.6),
    "alcohol_crimes_per_10000": (18, 18, 16, 15, 15, 15, 14, 14, 13, 13),
    "alcohol_sales_per_capita": (9.9, 9.2, 8.7, 8.7, 9.1, 9.2, 9.4, 9.3, 9.1, 9.0),
    "alcoholism_registered_per_100000": (
        1750,
        1720,
        1690,
        1650,
        1610,
        1580,
        1540,
        1500,
        1470,
        1440,
    ),
    "administrative_offences_per_1000": (320, 310, 300, 290, 285, 280, 270, 265, 260, 255),
    "public_drunkenness_per_1000": (22, 20, 18, 17, 16, 15, 14, 13, 12, 12),
}


@dataclass(frozen=True)
class Traits:
    """What the series of one town share: its size and a few dispositions."""

    population: int
    size: float  # log10(population / 5,000): 0 for a small district centre, ~2.6 for Minsk
    kind: str
    prosperity: float  # wages, trade, investment
    trouble: float  # crime, alcohol, unemployment
    growth: float  # yearly population drift


def _rng(town: Town, salt: str) -> random.Random:
    # Seeded by strings (hashed with SHA-512 by random), so the series is the same everywhere;
    # this is demo data, not cryptography.
    return random.Random(f"{town.slug}:{salt}")  # noqa: S311


def town_traits(town: Town) -> Traits:
    rng = _rng(town, "traits")
    # GeoNames gives 0 for a few places whose figure it lacks: assume a small town there.
    population = town.population or UNKNOWN_POPULATION
    size = math.log10(population / 5000)
    if population > 200_000:
        growth = rng.gauss(0.002, 0.003)
    elif population > 50_000:
        growth = rng.gauss(-0.002, 0.004)
    else:
        growth = rng.gauss(-0.009, 0.006)
    return Traits(
        population=population,
        size=size,
        kind=town.kind,
        prosperity=min(1.5, max(0.55, 0.78 + 0.09 * size + rng.gauss(0, 0.07))),
        trouble=math.exp(rng.gauss(0, 0.22)),
        growth=growth,
    )


def population_series(town: Town, traits: Traits, rng: random.Random) -> dict[int, float]:
    """Through the town's census figure in its year, drifting by ``growth`` a year."""
    anchor = town.population_year or 2019
    return {
        year: traits.population
        * (1 + traits.growth) ** (year - anchor)
        * (1 if year == anchor else 1 + rng.gauss(0, 0.002))
        for year in YEARS
    }


def _scaled(code: str, factor: float, rng: random.Random, noise: float) -> dict[int, float]:
    return {
        # Multiplicative, log-normal noise: a positive path never turns negative.
        year: base * factor * math.exp(rng.gauss(0, noise))
        for year, base in zip(YEARS, NATIONAL[code], strict=True)
    }


def _level(
    low: float, high: float, rng: random.Random, trend: float, noise: float, cap: float
) -> dict[int, float]:
    start = rng.uniform(low, high)
    return {
        year: min(cap, max(0.0, start + trend * i + rng.gauss(0, noise)))
        for i, year in enumerate(YEARS)
    }


def _count(start: float, rng: random.Random, change: float) -> dict[int, float]:
    """A small count that changes by one now and then, never below zero."""
    value, out = max(0, round(start)), {}
    for year in YEARS:
        if rng.random() < change:
            value = max(0, value + rng.choice((-1, 1)))
        out[year] = value
    return out


BY_KIND = {
    # kind: (doctors per 10,000, hospital beds per 10,000, water access %, housing m²/person)
    TownKind.CAPITAL: ((70, 85), (85, 100), (99, 100), (22, 24)),
    TownKind.REGIONAL_CITY: ((45, 75), (80, 120), (96, 100), (23, 27)),
    TownKind.DISTRICT_CENTRE: ((22, 40), (60, 100), (84, 97), (27, 31)),
    TownKind.URBAN_SETTLEMENT: ((8, 20), (10, 45), (70, 92), (29, 33)),
    TownKind.AGROTOWN: ((4, 12), (0, 25), (55, 85), (30, 35)),
}


def generate_series(town: Town) -> dict[str, dict[int, float]]:
    """Every indicator's yearly series for ``town`` (floats, rounded later)."""
    t = town_traits(town)
    doctors, beds, water, housing = BY_KIND.get(t.kind, BY_KIND[TownKind.DISTRICT_CENTRE])
    small = max(0.0, -t.size)  # how far below a small district centre the town is
    series: dict[str, dict[int, float]] = {}
    generators: dict[str, Callable[[random.Random], dict[int, float]]] = {
        "population": lambda r: population_series(town, t, r),
        "natural_increase": lambda r: {
            y: v + r.gauss(0, 1.0 + small) for y, v in _scaled("natural_increase", 1, r, 0).items()
        },
        "industrial_enterprises": lambda r: _count(
            t.population / 1800 * math.exp(r.gauss(0, 0.35)), r, 0.25
        ),
        "industrial_production_index": lambda r: _scaled("industrial_production_index", 1, r, 0.05),
        "average_monthly_wage": lambda r: _scaled("average_monthly_wage", t.prosperity, r, 0.03),
        "retail_turnover_per_capita": lambda r: _scaled(
            "retail_turnover_per_capita", t.prosperity**1.5, r, 0.05
        ),
        "investment_per_capita": lambda r: _scaled(
            "investment_per_capita", t.prosperity * math.exp(r.gauss(0, 0.4)), r, 0.25
        ),
        "housing_commissioned": lambda r: _scaled(
            "housing_commissioned", math.exp(r.gauss(-0.2, 0.35)), r, 0.3
        ),
        "housing_area_per_person": lambda r: _level(*housing, r, 0.3, 0.1, 60),
        "water_supply_access": lambda r: _level(*water, r, 0.6, 0.3, 100),
        "doctors_per_10000": lambda r: _level(*doctors, r, 0.2, 0.8, 200),
        "hospital_beds_per_10000": lambda r: _level(*beds, r, -0.6, 1.5, 200),
        "preschool_places_per_100": lambda r: _level(72, 102, r, 0.6, 1.2, 130),
        "cultural_institutions": lambda r: _count(
            1 + t.population / 2500 if t.population < 15_000 else 6 + t.population / 15_000,
            r,
            0.15,
        ),
        "individual_entrepreneurs_per_1000": lambda r: _scaled(
            "individual_entrepreneurs_per_1000", t.prosperity**0.8, r, 0.06
        ),
        "registered_unemployment_rate": lambda r: _scaled(
            "registered_unemployment_rate", t.trouble * (1 + 0.3 * small), r, 0.15
        ),
        "loss_making_share": lambda r: {
            y: min(60, max(0, v + r.gauss(0, 6)))
            for y, v in _scaled("loss_making_share", t.trouble, r, 0).items()
        },
        "crimes_per_10000": lambda r: _scaled("crimes_per_10000", t.trouble, r, 0.08),
        "juvenile_crimes_per_10000": lambda r: _scaled(
            "juvenile_crimes_per_10000", t.trouble, r, 0.35
        ),
        "alcohol_crimes_per_10000": lambda r: _scaled(
            "alcohol_crimes_per_10000", t.trouble * (1 + 0.15 * small), r, 0.15
        ),
        "alcohol_sales_per_capita": lambda r: _scaled(
            "alcohol_sales_per_capita", t.trouble**0.5 * (1 + 0.1 * small), r, 0.04
        ),
        "alcoholism_registered_per_100000": lambda r: _scaled(
            "alcoholism_registered_per_100000", t.trouble * (1 + 0.2 * small), r, 0.05
        ),
        "administrative_offences_per_1000": lambda r: _scaled(
            "administrative_offences_per_1000", t.trouble, r, 0.08
        ),
        "public_drunkenness_per_1000": lambda r: _scaled(
            "public_drunkenness_per_1000", t.trouble * (1 + 0.2 * small), r, 0.12
        ),
    }
    for code, generate in generators.items():
        series[code] = generate(_rng(town, code))

    # Migration closes the gap between the population's drift and natural increase.
    people = series["population"]
    rng = _rng(town, "wage_arrears")
    series["net_migration"] = {
        year: ((people[year] / people.get(year - 1, people[year] / (1 + t.growth))) - 1) * 1000
        - series["natural_increase"][year]
        for year in YEARS
    }
    # Arrears are rare, more so outside the crisis years 2015-2016, and scale with the town.
    series["wage_arrears"] = {
        year: (
            t.population / 10_000 * rng.uniform(5, 60)
            if rng.random() < (0.25 if year in (2015, 2016) else 0.05) * t.trouble
            else 0.0
        )
        for year in YEARS
    }
    return series


def _decimal(value: float, decimals: int) -> Decimal:
    return Decimal(f"{value:.{decimals}f}")


#: The columns that differ between generated rows; every other column is the template's.
VARYING = ("town", "indicator", "year", "value")


def insert_values(template: IndicatorValue, rows: list[tuple[int, int, int, Decimal]]) -> None:
    """Insert ``rows`` of (town id, indicator id, year, value), each otherwise like ``template``."""
    insert_rows(IndicatorValue, template, VARYING, rows)


def load_values(report: LoadReport, indicators: dict[str, Indicator], synthetic: Source) -> None:
    """Generated values for every town, indicator and year, written in bulk.

    Only missing rows are inserted and only differing generated rows rewritten, so a second
    run writes nothing (and leaves no history rows). A row that is not a generated one (not
    synthetic or citing another source) is a researcher's figure and is never touched.
    """
    label = str(IndicatorValue._meta.verbose_name_plural)
    decimals = {spec.code: spec.decimals for spec in CATALOGUE}
    owned = ("source_id", "is_synthetic", "state", "access_level", "confidence", "note")
    template = IndicatorValue(
        quarter=0,
        source=synthetic,
        is_synthetic=True,
        state=PublicationState.PUBLISHED,
        access_level=AccessLevel.PUBLIC,
        confidence=Confidence.LOW,
        note=SYNTHETIC_NOTE,
    )
    wanted = tuple(getattr(template, name) for name in owned)
    # A key is unique among published rows only (a draft may repeat it): the published row,
    # read last, is the one a key maps to.
    existing = {
        (town, indicator, year): (pk, value, rest)
        for pk, town, indicator, year, value, *rest in IndicatorValue._base_manager.filter(
            indicator__in=indicators.values(), quarter=0, year__in=YEARS
        )
        .order_by(Case(When(state=PublicationState.PUBLISHED, then=1), default=0))
        .values_list("pk", "town_id", "indicator_id", "year", "value", *owned)
    }
    to_create: list[tuple[int, int, int, Decimal]] = []
    to_update: list[IndicatorValue] = []
    now = timezone.now()
    unchanged = 0
    for town in Town.objects.only("pk", "slug", "kind", "population", "population_year"):
        for code, years in generate_series(town).items():
            indicator_id = indicators[code].pk
            for year, raw in years.items():
                value = _decimal(raw, decimals[code])
                current = existing.get((town.pk, indicator_id, year))
                if current is None:
                    to_create.append((town.pk, indicator_id, year, value))
                    continue
                pk, old_value, rest = current
                generated = rest[0] == synthetic.pk and rest[1] is True
                if not generated or (old_value, *rest) == (value, *wanted):
                    unchanged += 1
                    continue
                row = IndicatorValue(pk=pk, updated_at=now)
                for name in ("value", *owned):
                    setattr(row, name, value if name == "value" else getattr(template, name))
                to_update.append(row)
    with audit_context(via="load_demo"), immediate_constraints():
        insert_values(template, to_create)
        IndicatorValue._base_manager.bulk_update(
            to_update,
            ["value", *(name.removesuffix("_id") for name in owned), "updated_at"],
            batch_size=5000,
        )
    for bucket, count in (
        ("created", len(to_create)),
        ("updated", len(to_update)),
        ("unchanged", unchanged),
    ):
        if count:
            getattr(report, bucket)[label] = getattr(report, bucket).get(label, 0) + count


def load_indicators(report: LoadReport, synthetic: Source) -> dict[str, Indicator]:
    indicators = load_catalogue(report)
    load_values(report, indicators, synthetic)
    return indicators
