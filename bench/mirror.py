"""The SQLite mirror of the atlas's public rows that Datasette serves in the benchmark.

``export(path)`` copies from PostgreSQL what an anonymous visitor may see: place data (regions,
districts, towns, indicators) and the research records that are published, public and not
deleted (indicator values, influence groups, influences, activities, CSOs, CSO links), each
with the columns the public API shows and none of the sensitive ones (notes, contacts,
leaders, person names). It adds the indexes the benchmark's queries need.

The file carries a fingerprint of the source rows (counts and latest change): ``ensure`` only
exports again when the fingerprint differs, so repeated benchmark runs are quick.

    .venv/bin/python -m bench.mirror var/bench/mirror.db   (with DJANGO_SETTINGS_MODULE set)
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path

from django.db import connection

PUBLIC = "{t}.deleted_at IS NULL AND {t}.state = 'published' AND {t}.access_level = 'public'"
CHUNK = 50_000

# name: (SQLite definition, PostgreSQL SELECT of the same columns in the same order)
TABLES: dict[str, tuple[str, str]] = {
    "regions": (
        "id INTEGER PRIMARY KEY, code TEXT, slug TEXT, name_en TEXT, name_be TEXT, name_ru TEXT",
        "SELECT id, code, slug, name_en, name_be, name_ru FROM towns_region",
    ),
    "districts": (
        "id INTEGER PRIMARY KEY, slug TEXT, region_id INTEGER, name_en TEXT, name_be TEXT, "
        "name_ru TEXT",
        "SELECT id, slug, region_id, name_en, name_be, name_ru FROM towns_district",
    ),
    "towns": (
        "id INTEGER PRIMARY KEY, slug TEXT, name_en TEXT, name_be TEXT, name_ru TEXT, "
        "alternate_names TEXT, region_id INTEGER, district_id INTEGER, kind TEXT, "
        "latitude REAL, longitude REAL, population INTEGER, population_year INTEGER, "
        "population_source TEXT, geonames_id INTEGER, typology TEXT, own_share REAL, "
        "is_synthetic INTEGER, updated_at TEXT, search_text TEXT",
        # alternate_names as a JSON array, as the API shows them.
        """SELECT id, slug, name_en, name_be, name_ru,
            array_to_json(array_remove(array(SELECT btrim(n)
                FROM unnest(string_to_array(alternate_names, E'\\n')) n), ''))::text,
            region_id, district_id, kind, latitude::float8, longitude::float8, population,
            population_year, population_source, geonames_id, typology, own_share::float8,
            is_synthetic::int, to_char(updated_at AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), search_text
        FROM towns_town""",
    ),
    "indicators": (
        "id INTEGER PRIMARY KEY, code TEXT, system INTEGER, name_en TEXT, name_be TEXT, "
        "name_ru TEXT, unit TEXT, direction TEXT",
        "SELECT id, code, system, name_en, name_be, name_ru, unit, direction FROM towns_indicator",
    ),
    "indicator_values": (
        "id INTEGER PRIMARY KEY, town_id INTEGER, indicator_id INTEGER, year INTEGER, "
        "quarter INTEGER, value REAL, confidence TEXT, is_synthetic INTEGER",
        "SELECT v.id, v.town_id, v.indicator_id, v.year, v.quarter, v.value::float8, "  # noqa: S608 (fixed SQL)
        "v.confidence, v.is_synthetic::int FROM towns_indicatorvalue v WHERE "
        + PUBLIC.format(t="v"),
    ),
    "influence_groups": (
        "id INTEGER PRIMARY KEY, name_en TEXT, name_be TEXT, name_ru TEXT, origin TEXT, kind TEXT",
        "SELECT g.id, g.name_en, g.name_be, g.name_ru, g.origin, g.kind "
        "FROM towns_influencegroup g WHERE " + PUBLIC.format(t="g"),
    ),
    "influences": (
        "id INTEGER PRIMARY KEY, town_id INTEGER, group_id INTEGER, strength INTEGER, "
        "confidence TEXT, start_date TEXT, end_date TEXT",
        "SELECT i.id, i.town_id, i.group_id, i.strength, i.confidence, i.start_date::text, "  # noqa: S608 (fixed SQL)
        "i.end_date::text FROM towns_influence i WHERE " + PUBLIC.format(t="i"),
    ),
    "activities": (
        "id INTEGER PRIMARY KEY, town_id INTEGER, title TEXT, field TEXT, status TEXT, "
        "la_stance TEXT, benefit INTEGER, cost INTEGER, threat INTEGER, year INTEGER",
        "SELECT a.id, a.town_id, a.title, a.field, a.status, a.la_stance, a.benefit, a.cost, "  # noqa: S608 (fixed SQL)
        "a.threat, a.year FROM towns_activity a WHERE " + PUBLIC.format(t="a"),
    ),
    "csos": (
        "id INTEGER PRIMARY KEY, slug TEXT, name_en TEXT, character TEXT, status TEXT, "
        "founding_year INTEGER, liquidation_date TEXT",
        "SELECT c.id, c.slug, c.name_en, c.character, c.status, c.founding_year, "  # noqa: S608 (fixed SQL)
        "c.liquidation_date::text FROM csos_cso c WHERE " + PUBLIC.format(t="c"),
    ),
    "cso_towns": (
        "cso_id INTEGER, town_id INTEGER",
        "SELECT ct.cso_id, ct.town_id FROM csos_cso_towns ct JOIN csos_cso c ON c.id = ct.cso_id "  # noqa: S608 (fixed SQL)
        "WHERE " + PUBLIC.format(t="c"),
    ),
    "cso_links": (
        "id INTEGER PRIMARY KEY, source_cso_id INTEGER, target_cso_id INTEGER, kind TEXT, "
        "start_date TEXT, end_date TEXT",
        # A public link between CSOs that are both public (a link must not reveal a hidden CSO).
        "SELECT l.id, l.source_cso_id, l.target_cso_id, l.kind, l.start_date::text, "  # noqa: S608 (fixed SQL)
        "l.end_date::text FROM csos_csolink l "
        "JOIN csos_cso s ON s.id = l.source_cso_id JOIN csos_cso t ON t.id = l.target_cso_id "
        "WHERE " + " AND ".join(PUBLIC.format(t=x) for x in ("l", "s", "t")),
    ),
}

INDEXES = [
    "CREATE UNIQUE INDEX regions_slug ON regions (slug)",
    "CREATE UNIQUE INDEX towns_slug ON towns (slug)",
    "CREATE INDEX towns_name ON towns (name_en, id)",
    "CREATE INDEX towns_region ON towns (region_id, name_en, id)",
    "CREATE UNIQUE INDEX indicators_code ON indicators (code)",
    "CREATE INDEX values_town ON indicator_values (town_id, indicator_id, year, quarter)",
    "CREATE INDEX values_indicator_year ON indicator_values (indicator_id, year)",
    # The atlas's covering index of a region's yearly values (indicator_value_yearly), as far
    # as SQLite has one: the peers get every index the atlas uses.
    "CREATE INDEX values_yearly ON indicator_values (indicator_id, year, town_id, value) "
    "WHERE quarter = 0",
    "CREATE INDEX influences_town ON influences (town_id)",
    "CREATE INDEX activities_town ON activities (town_id)",
    "CREATE INDEX cso_towns_town ON cso_towns (town_id, cso_id)",
    "CREATE INDEX cso_towns_cso ON cso_towns (cso_id)",
    "CREATE INDEX cso_links_source ON cso_links (source_cso_id, target_cso_id)",
]

FINGERPRINT_SQL = f"""
    SELECT json_build_array(
        (SELECT count(*) FROM towns_town), (SELECT max(updated_at) FROM towns_town),
        (SELECT count(*) FROM towns_indicator),
        (SELECT count(*) FROM towns_indicatorvalue v WHERE {PUBLIC.format(t="v")}),
        (SELECT max(updated_at) FROM towns_indicatorvalue),
        (SELECT count(*) FROM towns_influence i WHERE {PUBLIC.format(t="i")}),
        (SELECT count(*) FROM towns_activity a WHERE {PUBLIC.format(t="a")}),
        (SELECT count(*) FROM csos_cso c WHERE {PUBLIC.format(t="c")}),
        (SELECT count(*) FROM csos_cso_towns),
        (SELECT count(*) FROM csos_csolink l WHERE {PUBLIC.format(t="l")}),
        (SELECT max(updated_at) FROM csos_csolink))::text
"""  # noqa: S608


def fingerprint() -> str:
    """Counts and latest changes of the exported rows, and the mirror's indexes: equal
    fingerprints, equal mirror."""
    with connection.cursor() as cursor:
        cursor.execute(FINGERPRINT_SQL)
        rows = cursor.fetchone()[0]
    return rows + "|" + hashlib.sha256("\n".join(INDEXES).encode()).hexdigest()[:12]


def stored_fingerprint(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT value FROM bench_meta WHERE key = 'fingerprint'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def export(path: Path | str) -> dict[str, int]:
    """Write the mirror to ``path`` (replacing it atomically); returns the rows per table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    mark = fingerprint()
    db = sqlite3.connect(partial)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        for name, (definition, select) in TABLES.items():
            db.execute(f"CREATE TABLE {name} ({definition})")
            placeholders = ", ".join("?" * len(definition.split(",")))
            counts[name] = 0
            # A server-side cursor: millions of values never sit in memory at once.
            with connection.chunked_cursor() as cursor:
                cursor.execute(select)
                while rows := cursor.fetchmany(CHUNK):
                    db.executemany(f"INSERT INTO {name} VALUES ({placeholders})", rows)  # noqa: S608
                    counts[name] += len(rows)
        for statement in INDEXES:
            db.execute(statement)
        db.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO bench_meta VALUES ('fingerprint', ?)", [mark])
        db.commit()
        db.execute("ANALYZE")
    finally:
        db.close()
    os.replace(partial, path)
    return counts


def ensure(path: Path | str) -> dict[str, int] | None:
    """Export unless ``path`` already mirrors the current rows; the counts when exported."""
    path = Path(path)
    if stored_fingerprint(path) == fingerprint():
        return None
    return export(path)


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    django.setup()
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var/bench/mirror.db")
    print(json.dumps(export(target)))
