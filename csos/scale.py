"""Reproducible synthetic data at scale, for the benchmark (``manage.py generate_scale_data``).

The reference size (2,000 towns × 60 indicators × 20 years = 2.4 million indicator values,
20,000 CSOs, 60,000 CSO links, 20,000 persons) loads in well under three minutes on two cores:

* **COPY.** Rows are generated in Python from one ``random.Random(seed)`` and streamed with
  ``COPY … FROM STDIN`` (:mod:`governance.copy`), naming every column, so a column added
  later with a database default (e.g. ``version``) is simply filled by it. Primary keys of
  the rows others refer to are reserved from the tables' own sequences first.
* **One transaction.** Everything, ``--replace`` included, runs in one ``transaction.atomic``:
  an interrupted or failed run leaves the database as it was.
* **History, set-based.** The pghistory row triggers of the tables written are silenced for
  the transaction (``pgtrigger.ignore``, transaction-local: other sessions keep theirs; on
  large tables they are disabled by name, see below), and
  the events they would have written are written afterwards with one ``INSERT … SELECT`` per
  table: one ``insert`` (or ``link.add``) event per row, with its full row image, under one
  pghistory context whose metadata says ``via="scale_data"``. The audit trail stays complete
  and uniform — every row of every audited table has its insert event, which is what the
  history views and restores expect — at the price of the event tables doubling the data
  (2.7 million event rows, about 600 MB; ten seconds of PostgreSQL CPU set-based).
  ``--replace`` likewise writes ``delete`` events for the rows it removes before removing them.
* **Large tables** (:data:`BULK_FROM` rows or more) are loaded with
  :func:`governance.copy.bulk_load`: their history triggers disabled by name, their foreign
  keys dropped and added back (PostgreSQL then checks all rows in one join instead of one
  lookup per row and key: 7 million for the indicator values), and — when the load is at least
  as large as the table, e.g. the indicator values and their events on a first run — their
  plain secondary indexes dropped and built again from their own definitions (one sort each
  instead of millions of random inserts; measured three times cheaper). Primary keys and
  unique constraints stay and are checked row by row. All of it is DDL inside the one
  transaction: a failure rolls it back. The tables written (and those they refer to) are
  locked until the commit, so run it when nobody works on the database (bench set-up).
  Measured at the reference size on the 2-core machine while other test suites kept its
  load average at 10-11: 136 s wall for a first load (Python 10 s CPU, PostgreSQL 28 s CPU);
  ``--replace`` of a reference dataset costs another ~90 s of PostgreSQL CPU (deleting and
  recording 2.7 million delete events).
* **Consistent with the app.** Search keys are computed with the functions the models'
  ``save()`` use (:func:`governance.text.search_key`); towns' stored aggregates (typology,
  share of "our own") are refreshed set-based from the published influence claims with the
  same pure scoring functions as :func:`towns.profile.refresh_town_aggregates`; claims that
  are published cite the synthetic source, as :func:`governance.services.claim_check`
  requires.

What is generated (all ``is_synthetic=True``, named so; persons "Fictional Person …" whose
names are restricted): towns (``scale-`` slugs, names in three languages) in the existing
regions and districts; indicator values for the existing indicator catalogue (completed with
``scale_`` indicators when more are asked for); influence groups, their influence on towns,
memberships; appointments to the existing key posts; CSOs (``scale-cso-`` slugs) with the towns
they serve and their fields of activity, leaders and links. Towns, indicator values, groups,
influences, CSOs and links are published at the public level, so anonymous pages and the API
show them; appointments of chairmen are public, of deputies partner-level, persons,
memberships and leaderships restricted (as in the demo data).

It lives in ``csos`` because it fills both sides (``csos`` may import ``towns``; the reverse is
not allowed).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pghistory
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.utils import timezone

from csos.models import (
    CSO,
    Character,
    CSOLeadership,
    CSOLink,
    CSOStatus,
    FieldOfActivity,
    LegalForm,
    LinkKind,
    SizeBand,
)
from governance.access import AccessLevel, PublicationState
from governance.copy import (
    bulk_load,
    context_id,
    copy_lines,
    copy_rows,
    copy_text,
    history_ignored,
    reserve_ids,
    write_history,
)
from governance.models import Confidence, Source
from governance.text import search_key
from towns.models import (
    Appointment,
    CorporateSector,
    Direction,
    District,
    GroupKind,
    GroupMembership,
    GroupOrigin,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Origin,
    Person,
    Post,
    PostKind,
    RecruitedFrom,
    Region,
    Town,
    TownKind,
    Typology,
)
from towns.models.power import TYPICAL_ORIGIN
from towns.profile import active_on, research_thresholds
from towns.scoring import InfluenceInput, influence_balance, typology_label

VIA = "scale_data"
SCALE_PREFIX = "scale-"
CSO_PREFIX = "scale-cso-"
INDICATOR_PREFIX = "scale_"
SCALE_SOURCE = "Synthetic scale data generated by the Local Governance Atlas benchmark — not facts"
#: Marks the rows without a slug (persons, groups, claims) as made by this module.
SCALE_NOTE = "Generated by generate_scale_data: synthetic, not a fact."
# Belarus' bounding box, so that generated towns land on the map.
LAT = (51.3, 56.1)
LON = (23.3, 32.7)
#: Limits of the arguments (slugs have five and six digits; values must fit the year range).
MAX_TOWNS = 99_999
MAX_CSOS = 999_999
MAX_INDICATORS = 999
FIRST_YEAR = 2004
MAX_YEAR = 2100
INFLUENCE_SINCE = date(2015, 1, 1)

# Fictional town names (English, Belarusian, Russian); a number makes each one unique.
TOWN_NAMES = [
    ("Novaborsk", "Навабарск", "Новоборск"),
    ("Dubrovichy", "Дубровічы", "Дубровичи"),
    ("Lyasnoye", "Лясное", "Лесное"),
    ("Zarechcha", "Зарэчча", "Заречье"),
    ("Kalinauka", "Калінаўка", "Калиновка"),
    ("Sasnovy Bor", "Сасновы Бор", "Сосновый Бор"),
    ("Krasnapolle", "Краснаполле", "Краснополье"),
    ("Vyalikaye Sela", "Вялікае Сяло", "Великое Село"),
    ("Azyorsk", "Азёрск", "Озёрск"),
    ("Rechytsa Novaya", "Рэчыца Новая", "Речица Новая"),
    ("Lipauka", "Ліпаўка", "Липовка"),
    ("Haradzishcha", "Гарадзішча", "Городище"),
]
KIND_WEIGHTS = [
    (TownKind.DISTRICT_CENTRE, 2),
    (TownKind.URBAN_SETTLEMENT, 3),
    (TownKind.AGROTOWN, 5),
]
GROUP_KIND_WEIGHTS = [
    (GroupKind.SUPERIOR_STATE, 4),
    (GroupKind.OUTSIDE_CORPORATE, 3),
    (GroupKind.CLAN_FAMILY, 3),
    (GroupKind.QUASI_COMMUNITY, 2),
    (GroupKind.ECCLESIAL, 1),
    (GroupKind.OTHER, 1),
]
GROUP_NAMES = {
    GroupKind.SUPERIOR_STATE: (
        "Executive vertical",
        "Выканаўчая вертыкаль",
        "Исполнительная вертикаль",
    ),
    GroupKind.OUTSIDE_CORPORATE: ("Outside holding", "Знешні холдынг", "Внешний холдинг"),
    GroupKind.CLAN_FAMILY: ("Family clan", "Сямейны клан", "Семейный клан"),
    GroupKind.QUASI_COMMUNITY: ("Old-timers' circle", "Кола старажылаў", "Круг старожилов"),
    GroupKind.ECCLESIAL: ("Parish community", "Парафіяльная супольнасць", "Приходская община"),
    GroupKind.OTHER: ("Informal network", "Нефармальная сетка", "Неформальная сеть"),
}
CONFIDENCES = [Confidence.LOW, Confidence.MEDIUM, Confidence.MEDIUM, Confidence.HIGH]
ROLES = [
    # The key posts filled in every town, and who may see the appointment (as in the demo).
    (PostKind.EXECUTIVE_CHAIRMAN, AccessLevel.PUBLIC),
    (PostKind.COUNCIL_CHAIRMAN, AccessLevel.PUBLIC),
    (PostKind.EXECUTIVE_DEPUTY, AccessLevel.PARTNER),
]
LEGAL_FORM_WEIGHTS = [
    (LegalForm.PUBLIC_ASSOCIATION, 6),
    (LegalForm.FOUNDATION, 1),
    (LegalForm.INSTITUTION, 1),
    (LegalForm.RELIGIOUS, 1),
    (LegalForm.NONE, 2),
]

PUBLISHED = PublicationState.PUBLISHED


class ScaleError(ValueError):
    """An argument outside what the generator can make (the command shows it as an error)."""


@dataclass
class ScaleReport:
    """Rows written and seconds spent, per phase, in the order they ran."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    town_ids: list[int] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def lines(self) -> list[str]:
        return [
            f"{name}: {self.counts[name]:,} rows in {self.seconds[name]:.1f} s"
            for name in self.counts
        ]


@dataclass
class _Run:
    """What the phases share: the RNG, the time stamp, the ids written, the vocabulary."""

    rng: random.Random
    now: str
    report: ScaleReport
    progress: Callable[[str], None]
    source_id: int = 0
    town_ids: list[int] = field(default_factory=list)
    town_regions: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)
    cso_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    claim_ids: dict[type, list[int]] = field(default_factory=lambda: defaultdict(list))

    def phase(self, name: str, fn: Callable[[], int]) -> int:
        start = time.perf_counter()
        count = fn()
        self.report.counts[name] = count
        self.report.seconds[name] = time.perf_counter() - start
        self.progress(f"{name}: {count:,} rows in {self.report.seconds[name]:.1f} s")
        return count


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def validate(
    *, towns: int, indicators: int, years: int, csos: int, links: int, persons: int
) -> None:
    """Raise :class:`ScaleError` naming the argument when the sizes cannot be generated."""
    checks = [
        ("towns", towns, 1, MAX_TOWNS),
        ("indicators", indicators, 1, MAX_INDICATORS),
        ("years", years, 1, MAX_YEAR - FIRST_YEAR + 1),
        ("csos", csos, 0, MAX_CSOS),
        ("persons", persons, 0, 10_000_000),
    ]
    for name, value, low, high in checks:
        if not low <= value <= high:
            raise ScaleError(f"--{name} must be from {low:,} to {high:,}, not {value:,}.")
    possible = csos * (csos - 1) * len(LinkKind.values)
    if not 0 <= links <= possible:
        raise ScaleError(
            f"--links must be from 0 to {possible:,} (distinct links between {csos:,} CSOs), "
            f"not {links:,}."
        )


def scale_data_exists() -> bool:
    return Town.objects.filter(slug__startswith=SCALE_PREFIX, is_synthetic=True).exists()


def generate(
    *,
    towns: int,
    indicators: int,
    years: int,
    csos: int,
    links: int | None = None,
    persons: int | None = None,
    seed: int = 42,
    replace: bool = True,
    analyze: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ScaleReport:
    """Generate the dataset in one transaction; the same rows for the same arguments.

    ``links`` defaults to three per CSO and ``persons`` to ten per town. With ``replace``
    (the default) an earlier scale dataset is removed first; without it, an existing one is
    an error. ``analyze`` refreshes the planner statistics of the tables written. Callable
    inside a test's transaction (it then nests as a savepoint); see :func:`make_towns`.
    """
    links = 3 * csos if links is None else links
    persons = 10 * towns if persons is None else persons
    validate(
        towns=towns, indicators=indicators, years=years, csos=csos, links=links, persons=persons
    )
    report = ScaleReport()
    run = _Run(
        rng=random.Random(seed),  # noqa: S311 (reproducible test data, not secrets)
        now=timezone.now().isoformat(),
        report=report,
        progress=progress or (lambda line: None),
    )
    with transaction.atomic(), pghistory.context(via=VIA):
        if scale_data_exists():
            if not replace:
                raise ScaleError("Scale data exists already: pass --replace to regenerate it.")
            run.phase("remove previous", remove_scale_data)
        context = context_id()
        with history_ignored(*_WRITTEN):
            catalogue = _vocabulary(run, indicators)
            run.phase("towns", lambda: _towns(run, towns))
            run.phase("indicator values", lambda: _values(run, catalogue, years))
            run.phase("persons", lambda: _persons(run, persons))
            run.phase("influence", lambda: _influence(run))
            run.phase("appointments", lambda: _appointments(run))
            run.phase("CSOs", lambda: _csos(run, csos))
            run.phase("CSO links", lambda: _links(run, links))
            run.phase("town aggregates", lambda: refresh_aggregates(run.town_ids))
        run.phase("history", lambda: _history(run, context))
        if analyze:
            run.phase("analyze", _analyze)
    report.town_ids = run.town_ids
    return report


def make_towns(
    count: int,
    *,
    indicators: int = 2,
    years: int = 2,
    csos: int = 0,
    persons: int | None = None,
    seed: int = 1,
) -> list[int]:
    """``count`` synthetic towns with their values, influence and officials, for tests.

    For tests that compare query counts at 200 and at 2,000 towns. ``persons`` defaults to
    three per town (the chairman, council chairman and deputy of each). Replaces an earlier
    scale dataset in the same transaction; returns the towns' ids (in slug order).
    """
    return generate(
        towns=count,
        indicators=indicators,
        years=years,
        csos=csos,
        persons=3 * count if persons is None else persons,
        seed=seed,
        analyze=False,
    ).town_ids


# ---------------------------------------------------------------------------------------------
# The tables written, and how to find what an earlier run wrote
# ---------------------------------------------------------------------------------------------

#: The many-to-many tables written, each with the model whose rows own its rows.
_M2M = [
    (Influence.sources.through, Influence),
    (GroupMembership.sources.through, GroupMembership),
    (Appointment.sources.through, Appointment),
    (Appointment.influenced_by_groups.through, Appointment),
    (CSO.towns.through, CSO),
    (CSO.fields_of_activity.through, CSO),
    (CSOLeadership.sources.through, CSOLeadership),
    (CSOLink.sources.through, CSOLink),
]
_WRITTEN = (
    Town,
    IndicatorValue,
    Person,
    InfluenceGroup,
    Influence,
    GroupMembership,
    Appointment,
    CSO,
    CSOLeadership,
    CSOLink,
    *(through for through, _owner in _M2M),
)


def _scale_ids(sql: str, params=()) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _owner_column(through, model) -> str:
    """The column of an auto-created many-to-many table that points at ``model``."""
    for f in through._meta.concrete_fields:
        if f.is_relation and f.related_model is model:
            return f.column
    raise LookupError(f"{through._meta.db_table} has no key to {model._meta.db_table}")


def _scale_rows() -> list[tuple[type, str, list]]:
    """(model, SQL condition, parameters) for every table, matching what a run wrote."""
    towns = _scale_ids(
        "SELECT id FROM towns_town WHERE slug LIKE %s AND is_synthetic",
        [SCALE_PREFIX + "%"],
    )
    csos = _scale_ids(
        "SELECT id FROM csos_cso WHERE slug LIKE %s AND is_synthetic", [CSO_PREFIX + "%"]
    )
    persons = _scale_ids(
        "SELECT id FROM towns_person WHERE note = %s AND is_synthetic", [SCALE_NOTE]
    )
    groups = _scale_ids(
        "SELECT id FROM towns_influencegroup WHERE description = %s AND is_synthetic",
        [SCALE_NOTE],
    )
    ids = {Town: towns, CSO: csos, Person: persons, InfluenceGroup: groups}
    for model, column, owners in [
        (Influence, "group_id", groups),
        (GroupMembership, "person_id", persons),
        (Appointment, "person_id", persons),
        (CSOLeadership, "person_id", persons),
        (CSOLink, "source_cso_id", csos),
    ]:
        ids[model] = _scale_ids(
            f"SELECT id FROM {model._meta.db_table} WHERE {column} = ANY(%s) AND is_synthetic",  # noqa: S608
            [owners],
        )
    rows: list[tuple[type, str, list]] = [
        (IndicatorValue, "town_id = ANY(%s) AND is_synthetic", [towns])
    ]
    for through, owner in _M2M:
        rows.append((through, f"{_owner_column(through, owner)} = ANY(%s)", [ids[owner]]))
    for model, keys in ids.items():
        rows.append((model, "id = ANY(%s)", [keys]))
    return rows


def remove() -> int:
    """Remove an earlier scale dataset in its own transaction (``--remove``); rows removed."""
    with transaction.atomic(), pghistory.context(via=VIA):
        return remove_scale_data() if scale_data_exists() else 0


def remove_scale_data() -> int:
    """Delete what an earlier run wrote (and nothing else), recording a delete event per row.

    Rows are matched by their markers: ``scale-`` slugs of synthetic towns and CSOs,
    :data:`SCALE_NOTE` on synthetic persons and groups, and what hangs from those. Foreign
    keys are checked at commit, so the order does not matter; a row of someone else's that
    still points at a scale row makes the whole run fail and roll back.
    """
    context = context_id()
    removed = 0
    rows = _scale_rows()
    with history_ignored(*_WRITTEN), connection.cursor() as cursor:
        for model, where, params in rows:
            write_history(model, operation="DELETE", where=where, params=params, context=context)
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE {where}", params)  # noqa: S608
            removed += cursor.rowcount
    Indicator.objects.filter(code__startswith=INDICATOR_PREFIX, values__isnull=True).delete()
    return removed


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


def _record(run: _Run, access: str, *, claim: bool = True) -> dict:
    """The columns every research record (and claim) shares, as COPY values."""
    values = {
        "created_at": run.now,
        "updated_at": run.now,
        "access_level": access,
        "state": PUBLISHED,
        "is_synthetic": True,
        "deleted_at": None,
    }
    if claim:
        values["confidence"] = Confidence.MEDIUM
    return values


#: Below this many rows a table is copied as it is: its history triggers are silenced by
#: :func:`history_ignored` for the whole run and its foreign keys checked row by row, which is
#: cheaper than the DDL of :func:`governance.copy.bulk_load` (and locks less, e.g. in tests).
BULK_FROM = 10_000


def _bulk(model, rows: int):
    """:func:`governance.copy.bulk_load` for a large table, nothing for a small one."""
    return bulk_load(model, rows=rows) if rows >= BULK_FROM else contextlib.nullcontext()


def _copy(model, rows: list[dict]) -> int:
    """COPY dict rows (field name → value; every row has the same keys) into ``model``."""
    if not rows:
        return 0
    names = list(rows[0])
    with _bulk(model, len(rows)):
        return copy_rows(model, names, ([row[n] for n in names] for row in rows))


def _copy_pairs(through, owner, target, pairs: list[tuple[int, int]]) -> int:
    """COPY (owner id, target id) pairs into an auto-created many-to-many table."""
    columns = [_owner_column(through, owner), _owner_column(through, target)]
    with _bulk(through, len(pairs)):
        return copy_lines(through._meta.db_table, columns, (f"{a}\t{b}\n" for a, b in pairs))


def _vocabulary(run: _Run, indicators: int) -> list[tuple[int, str]]:
    """The source, the indicator catalogue and the places the towns go to (existing ones)."""
    source, _created = Source.objects.get_or_create(
        citation=SCALE_SOURCE,
        defaults={
            "kind": Source.Kind.DATASET,
            "is_synthetic": True,
            "state": PUBLISHED,
            "access_level": AccessLevel.PUBLIC,
            "note": SCALE_NOTE,
        },
    )
    run.source_id = source.pk
    if not Region.objects.exists():
        from towns.demo.places import REGIONS

        for code, (slug, en, be, ru) in REGIONS.items():
            Region.objects.create(code=code, slug=slug, name_en=en, name_be=be, name_ru=ru)
    existing = list(
        Indicator.objects.exclude(code__startswith=INDICATOR_PREFIX)
        .order_by("system", "code")
        .values_list("pk", "code")
    )[:indicators]
    for k in range(indicators - len(existing)):
        code = f"{INDICATOR_PREFIX}{k:03d}"
        indicator, _created = Indicator.objects.get_or_create(
            code=code,
            defaults={
                "system": IndicatorSystem.NATIONAL if k % 3 else IndicatorSystem.PROBLEM_FREE,
                "name_en": f"Synthetic indicator {k:03d}",
                "name_be": f"Сінтэтычны паказчык {k:03d}",
                "name_ru": f"Синтетический показатель {k:03d}",
                "unit": "index",
                "direction": Direction.HIGHER_BETTER if k % 2 else Direction.HIGHER_WORSE,
                "description": "Generated for the benchmark: not an official indicator.",
            },
        )
        existing.append((indicator.pk, code))
    return existing


def _towns(run: _Run, count: int) -> int:
    rng = run.rng
    regions = list(Region.objects.order_by("code").values_list("pk", flat=True))
    districts: dict[int, list[int]] = defaultdict(list)
    for pk, region in District.objects.order_by("slug").values_list("pk", "region_id"):
        districts[region].append(pk)
    run.town_ids = reserve_ids(Town, count)
    rows = []
    for i, pk in enumerate(run.town_ids, start=1):
        en, be, ru = TOWN_NAMES[(i - 1) % len(TOWN_NAMES)]
        names = (f"{en} {i}", f"{be} {i}", f"{ru} {i}")
        region = rng.choice(regions)
        in_region = districts.get(region)
        run.town_regions.append(region)
        rows.append(
            {
                "id": pk,
                "created_at": run.now,
                "updated_at": run.now,
                "slug": f"{SCALE_PREFIX}{i:05d}",
                "name_en": names[0],
                "name_be": names[1],
                "name_ru": names[2],
                "alternate_names": "",
                "region": region,
                "district": rng.choice(in_region) if in_region and rng.random() < 0.5 else None,
                "kind": _weighted(rng, KIND_WEIGHTS),
                "latitude": f"{rng.uniform(*LAT):.5f}",
                "longitude": f"{rng.uniform(*LON):.5f}",
                "population": int(math.exp(rng.uniform(math.log(800), math.log(60_000)))),
                "population_year": 2019,
                "population_source": SCALE_SOURCE,
                "population_source_url": "",
                "geonames_id": None,
                "is_synthetic": True,
                # Generated names and kind: nobody confirmed them (the page marks them so).
                "names_verified": False,
                "kind_verified": False,
                # What Town.save() computes from the names (there are no alternate names).
                "search_text": search_key(names),
                "typology": Typology.INSUFFICIENT,
                "own_share": None,
                "aggregates_synthetic": False,
            }
        )
    return _copy(Town, rows)


def _values(run: _Run, catalogue: list[tuple[int, str]], years: int) -> int:
    """A random walk per town and indicator; the population series starts at the town's."""
    rng = run.rng
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, population FROM towns_town WHERE id = ANY(%s)", [run.town_ids])
        population = dict(cursor.fetchall())
    fields = ["town", "indicator", "year", "value"]
    constant = {
        **_record(run, AccessLevel.PUBLIC),
        "quarter": 0,
        "source": run.source_id,
        "note": "",
    }
    # The constant columns are formatted once; each line is then one f-string.
    suffix = "\t".join(copy_text(v) for v in constant.values())
    columns = [IndicatorValue._meta.get_field(n).column for n in [*fields, *constant]]
    year_range = range(FIRST_YEAR, FIRST_YEAR + years)
    uniform = rng.uniform

    def lines() -> Iterator[str]:
        for town in run.town_ids:
            for indicator, code in catalogue:
                level = population[town] if code == "population" else uniform(1, 1000)
                prefix = f"{town}\t{indicator}\t"
                for year in year_range:
                    level *= 1 + uniform(-0.05, 0.06)
                    yield f"{prefix}{year}\t{level:.2f}\t{suffix}\n"

    expected = len(run.town_ids) * len(catalogue) * years
    with _bulk(IndicatorValue, expected):
        return copy_lines(IndicatorValue._meta.db_table, columns, lines())


def _persons(run: _Run, count: int) -> int:
    rng = run.rng
    run.person_ids = reserve_ids(Person, count)
    origins = [Origin.THIS_TOWN, Origin.THIS_TOWN, Origin.REGION, Origin.OTHER_REGION]
    rows = []
    for i, pk in enumerate(run.person_ids, start=1):
        letter = chr(ord("A") + (i - 1) % 26)
        origin = rng.choice(origins)
        rows.append(
            {
                "id": pk,
                **_record(run, AccessLevel.RESTRICTED, claim=False),
                "name_en": f"Fictional Person {letter}. {i:06d}",
                "name_be": f"Выдуманая асоба {letter}. {i:06d}",
                "name_ru": f"Вымышленное лицо {letter}. {i:06d}",
                "given_name": "",
                "family_name": "",
                "patronymic_name": "",
                "origin": origin,
                "origin_town": rng.choice(run.town_ids) if origin == Origin.THIS_TOWN else None,
                "names_access_level": AccessLevel.RESTRICTED,
                "note": SCALE_NOTE,
            }
        )
    return _copy(Person, rows)


def _sources_of(run: _Run, through, model, ids: list[int]) -> int:
    """Every claim in ``ids`` cites the synthetic source (published claims must cite one)."""
    return _copy_pairs(through, model, Source, [(pk, run.source_id) for pk in ids])


def _influence(run: _Run) -> int:
    """Influence groups (one per four towns, at least six), 2-5 of them acting on each town."""
    rng = run.rng
    count = max(6, len(run.town_ids) // 4)
    run.group_ids = reserve_ids(InfluenceGroup, count)
    kinds: dict[int, str] = {}
    groups = []
    for i, pk in enumerate(run.group_ids, start=1):
        # The first six groups cover every kind, so that each type can occur.
        kind = GroupKind.values[i - 1] if i <= 6 else _weighted(rng, GROUP_KIND_WEIGHTS)
        kinds[pk] = kind
        en, be, ru = GROUP_NAMES[kind]
        origin = TYPICAL_ORIGIN.get(kind) or rng.choice(GroupOrigin.values)
        groups.append(
            {
                "id": pk,
                **_record(run, AccessLevel.PUBLIC, claim=False),
                "name_en": f"{en} {i} (synthetic)",
                "name_be": f"{be} {i} (сінтэтычная)",
                "name_ru": f"{ru} {i} (синтетическая)",
                "origin": origin,
                "kind": kind,
                "sector": (
                    rng.choice(CorporateSector.values)
                    if kind == GroupKind.OUTSIDE_CORPORATE
                    else ""
                ),
                "description": SCALE_NOTE,
            }
        )
    written = _copy(InfluenceGroup, groups)
    influences, memberships = [], []
    influence_ids = reserve_ids(Influence, 5 * len(run.town_ids))
    for town in run.town_ids:
        for group in rng.sample(run.group_ids, min(len(run.group_ids), rng.randint(2, 5))):
            influences.append(
                {
                    "id": influence_ids[len(influences)],
                    **_record(run, AccessLevel.PUBLIC),
                    "confidence": rng.choice(CONFIDENCES),
                    "start_date": INFLUENCE_SINCE,
                    "end_date": None,
                    "group": group,
                    "town": town,
                    "strength": rng.randint(1, 5),
                    "note": SCALE_NOTE,
                }
            )
    run.claim_ids[Influence] = [row["id"] for row in influences]
    written += _copy(Influence, influences)
    # Each group has a few members among the persons (the appointees come first).
    pool = run.person_ids
    for group in run.group_ids:
        for person in rng.sample(pool, min(len(pool), 3)):
            memberships.append(
                {
                    **_record(run, AccessLevel.RESTRICTED),
                    "confidence": Confidence.LOW,
                    "start_date": None,
                    "end_date": None,
                    "group": group,
                    "person": person,
                    "role": "member",
                }
            )
    run.claim_ids[GroupMembership] = ids = reserve_ids(GroupMembership, len(memberships))
    for row, pk in zip(memberships, ids, strict=True):
        row["id"] = pk
    written += _copy(GroupMembership, memberships)
    written += _sources_of(run, Influence.sources.through, Influence, run.claim_ids[Influence])
    written += _sources_of(run, GroupMembership.sources.through, GroupMembership, ids)
    return written


def _appointments(run: _Run) -> int:
    """The chairman, council chairman and deputy of each town, while persons last."""
    rng = run.rng
    posts = {}
    for pk, kind in Post.objects.filter(is_key=True).order_by("name_en").values_list("pk", "kind"):
        posts.setdefault(kind, pk)
    rows, links = [], []
    persons = iter(run.person_ids)
    for town in run.town_ids:
        for kind, access in ROLES:
            person = next(persons, None)
            if person is None or kind not in posts:
                continue
            start = date(rng.randint(2008, 2023), rng.randint(1, 12), 1)
            rows.append(
                {
                    **_record(run, access),
                    "start_date": start,
                    "end_date": None,
                    "person": person,
                    "post": posts[kind],
                    "town": town,
                    "recruited_from": rng.choice(RecruitedFrom.values),
                    "note": SCALE_NOTE,
                }
            )
    ids = reserve_ids(Appointment, len(rows))
    for row, pk in zip(rows, ids, strict=True):
        row["id"] = pk
        links.append((pk, rng.choice(run.group_ids)))
    run.claim_ids[Appointment] = ids
    written = _copy(Appointment, rows)
    written += _sources_of(run, Appointment.sources.through, Appointment, ids)
    written += _copy_pairs(
        Appointment.influenced_by_groups.through, Appointment, InfluenceGroup, links
    )
    return written


def _csos(run: _Run, count: int) -> int:
    """CSOs serving one to three towns, in one to three fields; half have a fictional leader."""
    rng = run.rng
    fields = list(
        FieldOfActivity.objects.order_by("code").values_list("pk", "name_en", "name_be", "name_ru")
    )
    run.cso_ids = reserve_ids(CSO, count)
    rows, served, active = [], [], []
    for i, pk in enumerate(run.cso_ids, start=1):
        main = rng.choice(fields) if fields else (None, "Civic", "Грамадзянская", "Гражданская")
        en = f"Synthetic {main[1].lower()} initiative {i:06d}"
        be = f"Сінтэтычная ініцыятыва «{main[2]}» {i:06d}"
        ru = f"Синтетическая инициатива «{main[3]}» {i:06d}"
        liquidated = rng.random() < 0.1
        rows.append(
            {
                "id": pk,
                **_record(run, AccessLevel.PUBLIC, claim=False),
                "slug": f"{CSO_PREFIX}{i:06d}",
                "name_en": en,
                "name_be": be,
                "name_ru": ru,
                "legal_form": _weighted(rng, LEGAL_FORM_WEIGHTS),
                "status": CSOStatus.LIQUIDATED if liquidated else CSOStatus.REGISTERED,
                "liquidation_date": date(rng.randint(2021, 2024), 6, 1) if liquidated else None,
                "liquidation_grounds": "Synthetic: liquidated by a court decision."
                if liquidated
                else "",
                "character": rng.choice(Character.values),
                "character_evidence": "",
                "founding_year": rng.randint(1990, 2023),
                "size_band": rng.choice(SizeBand.values),
                "description": SCALE_NOTE,
                "contacts": "",
                "contacts_access_level": AccessLevel.RESTRICTED,
                "leaders_access_level": AccessLevel.RESTRICTED,
                # What CSO.save() computes.
                "search_text": search_key([en, be, ru]),
            }
        )
        for town in rng.sample(run.town_ids, min(len(run.town_ids), rng.randint(1, 3))):
            served.append((pk, town))
        if fields:
            chosen = {main[0], *(f[0] for f in rng.sample(fields, rng.randint(0, 2)))}
            active.extend((pk, f) for f in sorted(chosen))
    written = _copy(CSO, rows)
    written += _copy_pairs(CSO.towns.through, CSO, Town, served)
    written += _copy_pairs(CSO.fields_of_activity.through, CSO, FieldOfActivity, active)
    # Leaders: the persons left after the appointments, one per CSO, every other CSO.
    appointed = len(run.claim_ids[Appointment])
    free = run.person_ids[appointed:]
    leaders = []
    for cso, person in zip(run.cso_ids[::2], free, strict=False):
        leaders.append(
            {
                **_record(run, AccessLevel.RESTRICTED),
                "start_date": date(rng.randint(2000, 2023), 1, 1),
                "end_date": None,
                "cso": cso,
                "person": person,
                "role": "Chair",
            }
        )
    ids = reserve_ids(CSOLeadership, len(leaders))
    for row, pk in zip(leaders, ids, strict=True):
        row["id"] = pk
    run.claim_ids[CSOLeadership] = ids
    written += _copy(CSOLeadership, leaders)
    written += _sources_of(run, CSOLeadership.sources.through, CSOLeadership, ids)
    return written


def _links(run: _Run, count: int) -> int:
    """Distinct links (source, target, kind) between different CSOs."""
    rng = run.rng
    kinds = LinkKind.values
    seen: set[tuple[int, int, str]] = set()
    rows = []
    ids = run.cso_ids
    while len(rows) < count:
        a, b = rng.sample(ids, 2)
        key = (a, b, rng.choice(kinds))
        if key in seen:
            continue
        seen.add(key)
        rows.append(key)
    pks = reserve_ids(CSOLink, len(rows))
    run.claim_ids[CSOLink] = pks
    constant = _record(run, AccessLevel.PUBLIC)
    with _bulk(CSOLink, len(rows)):
        written = copy_rows(
            CSOLink,
            ["id", "source_cso", "target_cso", "kind", "start_date", "end_date", "note", *constant],
            (
                [pk, a, b, kind, None, None, SCALE_NOTE, *constant.values()]
                for pk, (a, b, kind) in zip(pks, rows, strict=True)
            ),
        )
    return written + _sources_of(run, CSOLink.sources.through, CSOLink, pks)


def refresh_aggregates(town_ids: list[int]) -> int:
    """Store typology and share of "our own" of ``town_ids``, in one read and one update.

    The same inputs and pure functions as :func:`towns.profile.refresh_town_aggregates`
    (published, not deleted influence claims active today, any access level, with their
    sources, whether they are synthetic, and the reviewers' thresholds), for all the towns at
    once instead of one query per town.
    """
    today = timezone.localdate()
    thresholds = research_thresholds()
    inputs: dict[int, list[InfluenceInput]] = {pk: [] for pk in town_ids}
    rows = (
        Influence.objects.filter(
            active_on(today), town_id__in=town_ids, state=PUBLISHED, deleted_at__isnull=True
        )
        .annotate(source_ids=ArrayAgg("sources", distinct=True))
        .order_by("pk")
        .values_list(
            "town_id",
            "group__name_en",
            "group__origin",
            "group__kind",
            "strength",
            "confidence",
            "is_synthetic",
            "group__is_synthetic",
            "source_ids",
        )
    )
    for town, name, origin, kind, strength, confidence, own, group, ids in rows.iterator(
        chunk_size=10_000
    ):
        inputs[town].append(
            InfluenceInput(
                name,
                origin,
                kind,
                strength,
                confidence,
                synthetic=own or group,
                sources=frozenset(pk for pk in ids or () if pk),
            )
        )
    typologies, shares, synthetic = [], [], []
    for pk in town_ids:
        share = influence_balance(inputs[pk]).own_share
        typologies.append(typology_label(inputs[pk], thresholds))
        shares.append(None if share is None else Decimal(str(round(share, 3))))
        synthetic.append(any(i.synthetic for i in inputs[pk]))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE towns_town t SET typology = u.typology, own_share = u.own_share, "
            "aggregates_synthetic = u.synthetic, updated_at = now() "
            "FROM unnest(%s::bigint[], %s::varchar[], %s::numeric[], %s::boolean[]) "
            "AS u(id, typology, own_share, synthetic) WHERE t.id = u.id",
            [list(town_ids), typologies, shares, synthetic],
        )
        return cursor.rowcount


def _history(run: _Run, context: str | None) -> int:
    """The insert events the silenced triggers would have written, one INSERT per table."""
    written = 0
    for model, where, params in _written_rows(run):
        # The indicator values' events are as many as the values: the event table's indexes
        # are rebuilt rather than maintained when that pays off (see bulk_load).
        big = model is IndicatorValue
        size = run.report.counts.get("indicator values", 0)
        with bulk_load(model.pgh_event_model, rows=size) if big else contextlib.nullcontext():
            written += write_history(model, where=where, params=params, context=context)
    return written


def _written_rows(run: _Run) -> list[tuple[type, str, list]]:
    ids = {
        Town: run.town_ids,
        Person: run.person_ids,
        InfluenceGroup: run.group_ids,
        CSO: run.cso_ids,
        **run.claim_ids,
    }
    rows: list[tuple[type, str, list]] = [(IndicatorValue, "town_id = ANY(%s)", [run.town_ids])]
    rows += [(model, "id = ANY(%s)", [keys]) for model, keys in ids.items()]
    for through, owner in _M2M:
        rows.append((through, f"{_owner_column(through, owner)} = ANY(%s)", [ids[owner]]))
    return rows


def _analyze() -> int:
    """Fresh planner statistics for the tables written, so the first queries plan well."""
    tables = sorted({model._meta.db_table for model in _WRITTEN})
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return len(tables)
