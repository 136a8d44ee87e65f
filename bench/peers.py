"""The PostgREST-style peer: the same public rows rendered to JSON inside PostgreSQL.

Each view runs ONE query that returns the whole response body as text (``json_agg`` /
``json_build_object``) and wraps it in a plain ``HttpResponse``: no DRF, no serializer, no
ORM objects. It is the physical limit of serving these rows from this database through
Django, and the benchmark measures every read scenario of the atlas against it.

The semantics follow the atlas for the anonymous public: towns are public place data; research
records count when published, public and not deleted (``visible_to`` of an anonymous viewer).

* ``/bench-peer/towns/`` — the town list (``?page=``, ``?page_size=``, ``?search=``,
  ``?region=``, ``?kind=``, ``?population_min=``), ordered by English name then id, with
  ``count`` and ``results`` as ``/api/v1/towns/``;
* ``/bench-peer/towns.geojson`` — every town as a GeoJSON FeatureCollection;
* ``/bench-peer/towns/<slug>/indicators/?indicator=…`` — the town's time series;
* ``/bench-peer/towns/<slug>/profile/`` — the rows the profile is computed from (influences
  with their groups, activities, the criteria indicators, the town's CSOs and their links);
* ``/bench-peer/towns/<slug>/dashboard/`` — the profile's rows plus the indicator table of the
  dashboard (latest value of each indicator, previous value, rank in the region).

The profile and dashboard peers return the rows, not the scores computed from them: the
atlas does more work there, which is exactly what its design has to pay for.
"""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseBadRequest

from governance.text import fold

PUBLIC = "{t}.deleted_at IS NULL AND {t}.state = 'published' AND {t}.access_level = 'public'"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
CRITERIA_CODES = ["population", "industrial_enterprises", "cultural_institutions"]

TOWN_JSON = """json_build_object(
    'slug', t.slug, 'name_en', t.name_en, 'name_be', t.name_be, 'name_ru', t.name_ru,
    'alternate_names', array_remove(
        array(SELECT btrim(n) FROM unnest(string_to_array(t.alternate_names, E'\\n')) n),
        ''),
    'region', r.slug, 'district', d.slug, 'kind', t.kind,
    'latitude', t.latitude::float8, 'longitude', t.longitude::float8,
    'population', t.population, 'population_year', t.population_year,
    'population_source', t.population_source, 'geonames_id', t.geonames_id,
    'typology', t.typology, 'own_share', t.own_share::float8,
    'is_synthetic', t.is_synthetic, 'updated_at', t.updated_at)"""

TOWN_FROM = """towns_town t JOIN towns_region r ON r.id = t.region_id
    LEFT JOIN towns_district d ON d.id = t.district_id"""


def _json(sql: str, params: list) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _respond(text: str | None, content_type: str = "application/json") -> HttpResponse:
    if text is None:
        raise Http404
    return HttpResponse(text, content_type=content_type)


def _positive(value: str | None, default: int) -> int:
    if value in (None, ""):
        return default
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def town_filters(params) -> tuple[str, list]:
    """The WHERE clause of the town list's filters and search, with its parameters."""
    where, args = ["TRUE"], []
    if params.get("region"):
        where.append("r.slug = %s")
        args.append(params["region"])
    if params.get("kind"):
        where.append("t.kind = %s")
        args.append(params["kind"])
    if params.get("population_min"):
        where.append("t.population >= %s")
        args.append(int(params["population_min"]))
    key = fold(params.get("search", "")[:100])
    if key:
        # The atlas's ``search_text__contains``: LIKE with the term's wildcards escaped.
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("t.search_text LIKE %s")
        args.append(f"%{escaped}%")
    return " AND ".join(where), args


def town_page_sql(params) -> tuple[str, list]:
    """One query: ``{"count": n, "results": [town, ...]}`` of the requested page."""
    page = _positive(params.get("page"), 1)
    size = min(_positive(params.get("page_size"), DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    where, args = town_filters(params)
    sql = f"""
        WITH matching AS (SELECT t.id, t.name_en FROM {TOWN_FROM} WHERE {where}),
        page AS (SELECT id FROM matching ORDER BY name_en, id LIMIT %s OFFSET %s)
        SELECT json_build_object(
            'count', (SELECT count(*) FROM matching),
            'results', COALESCE(
                (SELECT json_agg({TOWN_JSON} ORDER BY t.name_en, t.id)
                 FROM {TOWN_FROM} WHERE t.id IN (SELECT id FROM page)),
                '[]'::json))::text
    """  # noqa: S608 (fixed fragments; values are parameters)
    return sql, [*args, size, (page - 1) * size]


def town_page(request):
    try:
        sql, args = town_page_sql(request.GET)
    except ValueError:
        return HttpResponseBadRequest("bad page, page_size or population_min")
    return _respond(_json(sql, args))


GEOJSON_SQL = f"""
    SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(
        json_build_object(
            'type', 'Feature', 'id', t.slug,
            'geometry', json_build_object('type', 'Point', 'coordinates',
                json_build_array(round(t.longitude, 5)::float8, round(t.latitude, 5)::float8)),
            'properties', json_build_object(
                'slug', t.slug, 'name_en', t.name_en, 'name_be', t.name_be,
                'name_ru', t.name_ru, 'region', r.slug, 'district', d.slug, 'kind', t.kind,
                'population', t.population, 'population_year', t.population_year,
                'typology', t.typology, 'own_share', t.own_share::float8,
                'is_synthetic', t.is_synthetic, 'url', '/towns/' || t.slug || '/'))
        ORDER BY t.name_en, t.id), '[]'::json))::text
    FROM {TOWN_FROM}
"""  # noqa: S608


def towns_geojson(request):
    return _respond(_json(GEOJSON_SQL, []), "application/geo+json")


SERIES_SQL = f"""
    SELECT json_build_object('town', t.slug, 'series', COALESCE((
        SELECT json_agg(s ORDER BY s.system, s.indicator) FROM (
            SELECT i.code AS indicator, i.name_en, i.name_be, i.name_ru, i.unit, i.system,
                i.direction,
                json_agg(json_build_object('year', v.year, 'quarter', v.quarter,
                    'value', v.value::text, 'confidence', v.confidence,
                    'is_synthetic', v.is_synthetic) ORDER BY v.year, v.quarter) AS values
            FROM towns_indicatorvalue v JOIN towns_indicator i ON i.id = v.indicator_id
            WHERE v.town_id = t.id AND i.code = ANY(%s) AND {PUBLIC.format(t="v")}
            GROUP BY i.id) s), '[]'::json))::text
    FROM towns_town t WHERE t.slug = %s
"""  # noqa: S608


def town_series(request, slug):
    codes = request.GET.getlist("indicator")
    return _respond(_json(SERIES_SQL, [codes, slug]))


# The rows of a town's profile: what towns.profile.town_profile and the CSO sections read.
PROFILE_PARTS = f"""
    'town', t.slug, 'typology', t.typology, 'own_share', t.own_share::float8,
    'population', t.population,
    'influences', COALESCE((SELECT json_agg(json_build_object(
            'group', g.name_en, 'origin', g.origin, 'kind', g.kind,
            'strength', i.strength, 'confidence', i.confidence)
            ORDER BY i.strength DESC, g.name_en, i.id)
        FROM towns_influence i JOIN towns_influencegroup g ON g.id = i.group_id
        WHERE i.town_id = t.id AND {PUBLIC.format(t="i")} AND {PUBLIC.format(t="g")}
          AND (i.start_date IS NULL OR i.start_date <= CURRENT_DATE)
          AND (i.end_date IS NULL OR i.end_date >= CURRENT_DATE)), '[]'::json),
    'activities', COALESCE((SELECT json_agg(json_build_object(
            'id', a.id, 'title', a.title, 'status', a.status, 'la_stance', a.la_stance,
            'benefit', a.benefit, 'cost', a.cost, 'threat', a.threat) ORDER BY a.title, a.id)
        FROM towns_activity a
        WHERE a.town_id = t.id AND {PUBLIC.format(t="a")}
          AND (a.year IS NULL OR a.year <= extract(year FROM CURRENT_DATE))), '[]'::json),
    'facts', COALESCE((SELECT json_agg(json_build_object(
            'indicator', ind.code, 'year', v.year, 'value', v.value::text)
            ORDER BY ind.code, v.year)
        FROM towns_indicatorvalue v JOIN towns_indicator ind ON ind.id = v.indicator_id
        WHERE v.town_id = t.id AND ind.code = ANY(%s) AND v.quarter = 0
          AND {PUBLIC.format(t="v")}), '[]'::json),
    'csos', COALESCE((SELECT json_agg(json_build_object(
            'slug', c.slug, 'character', c.character) ORDER BY c.slug)
        FROM csos_cso c JOIN csos_cso_towns ct ON ct.cso_id = c.id
        WHERE ct.town_id = t.id AND {PUBLIC.format(t="c")}
          AND (c.liquidation_date IS NULL OR c.liquidation_date > CURRENT_DATE)), '[]'::json),
    'links', COALESCE((SELECT json_agg(json_build_array(l.source_cso_id, l.target_cso_id))
        FROM csos_csolink l
        WHERE {PUBLIC.format(t="l")}
          AND l.source_cso_id IN (SELECT cso_id FROM csos_cso_towns WHERE town_id = t.id)
          AND l.target_cso_id IN (SELECT cso_id FROM csos_cso_towns WHERE town_id = t.id)),
        '[]'::json)
"""  # noqa: S608 (fixed fragments)

PROFILE_SQL = (
    f"SELECT json_build_object({PROFILE_PARTS})::text "  # noqa: S608 (fixed fragments)
    "FROM towns_town t WHERE t.slug = %s"
)


def town_profile(request, slug):
    return _respond(_json(PROFILE_SQL, [CRITERIA_CODES, slug]))


# The dashboard's indicator table: latest annual value of each indicator of the town, the
# value of the year before, and the rank among the region's towns that year (1 = best). The
# region's towns are collected once (a hashed lookup) rather than probed per indicator.
DASHBOARD_SQL = f"""
    WITH region_towns AS MATERIALIZED (SELECT id FROM towns_town
        WHERE region_id = (SELECT region_id FROM towns_town WHERE slug = %s))
    SELECT json_build_object({PROFILE_PARTS},
        'region', r.slug,
        'indicators', COALESCE((SELECT json_agg(json_build_object(
                'indicator', ind.code, 'name', ind.name_en, 'unit', ind.unit,
                'year', v.year, 'value', v.value::text, 'previous', prev.value::text,
                'rank', 1 + (SELECT count(*) FROM towns_indicatorvalue o
                    WHERE o.indicator_id = v.indicator_id AND o.year = v.year
                      AND o.quarter = 0 AND o.town_id IN (SELECT id FROM region_towns)
                      AND {PUBLIC.format(t="o")}
                      AND CASE WHEN ind.direction = 'higher_better' THEN o.value > v.value
                               ELSE o.value < v.value END))
                ORDER BY ind.system, ind.code)
            FROM towns_indicator ind
            JOIN LATERAL (SELECT * FROM towns_indicatorvalue x
                WHERE x.town_id = t.id AND x.indicator_id = ind.id AND x.quarter = 0
                  AND {PUBLIC.format(t="x")}
                ORDER BY x.year DESC LIMIT 1) v ON TRUE
            LEFT JOIN LATERAL (SELECT y.value FROM towns_indicatorvalue y
                WHERE y.town_id = t.id AND y.indicator_id = ind.id AND y.quarter = 0
                  AND y.year < v.year AND {PUBLIC.format(t="y")}
                ORDER BY y.year DESC LIMIT 1) prev ON TRUE), '[]'::json))::text
    FROM towns_town t JOIN towns_region r ON r.id = t.region_id WHERE t.slug = %s
"""  # noqa: S608


def town_dashboard(request, slug):
    return _respond(_json(DASHBOARD_SQL, [slug, CRITERIA_CODES, slug]))
