"""Read caches with exact invalidation: API reads and public pages, keyed by the data's state.

Why a cache at all: a partner syncing all day and donors opening the same dashboards ask for
the same few hundred representations again and again; building them is most of the cost of a
request. A cached representation costs one tiny query (below) and a cache lookup.

Exact invalidation, on every write path
---------------------------------------
Entries are never deleted when data changes; instead every key contains a fingerprint of the
data it was built from (:func:`data_state`), so a write makes every older entry unreachable at
the moment it commits. Statement-level triggers on every research table
(:func:`install_write_triggers`, installed after each ``migrate``) look at the rows each
statement wrote, however it is made (admin, API, import, a command, ``psql``). A statement
counts when it wrote a row and, on a table of research records, when a row it wrote is
published as it is now or as it was (drafts and records in review are seen by researchers
alone, whose reads are never cached); a ``TRUNCATE`` always counts. The first statement of a
transaction that counts does two things:

* it adds a row of weight 1 to ``atlas_data_writes``; the fingerprint includes the sum of the
  weights the reader can see, which grows exactly when a writing transaction commits (rows of
  transactions still running or rolled back are invisible). Every 20th writer folds the older
  rows it sees and no other folder holds into one row per scope of the same total weight, so
  the sum (read on every request) stays a scan of a few rows and never goes back;
* it counts the transaction's write statements in ``atlas.local_writes``, a transaction-local
  setting; with the transaction's id it keeps a read inside the writing transaction itself (a
  shell, a test) fresh too, and apart from what any other transaction wrote.

The fingerprint is read before the representation is built; under READ COMMITTED every later
statement sees at least that state, so an entry can only be newer than its key, never older.
Writers never wait for each other (each inserts its own row).

Scoped reads
------------
A write of a published record that belongs to one town is confined to the towns whose
reads can show it and their regions: the indicator values (the bulk of the data, and what
partners send), and the claims about one town (activities, influences, appointments,
management mechanisms, society observations, self-organisation events, communication sites,
cooperation cases, cultural assets). Its rows in ``atlas_data_writes`` carry the region as
their ``scope``, and ``atlas_town_writes`` counts it per town (a model opts in with
``READ_CACHE_TOWN_COLUMN``, the claims through ``governance.models.OneTownRecord``; its
statement trigger looks the regions up in the same statement;
each write folds its town's older rows into its own, so a town keeps one row). The towns are
the row's own and those of the scoped rows it is linked to by a foreign key or a many-to-many
field, either way (a management mechanism lists the activities it suppresses, of any town,
so an activity's write counts for the mechanism's town too); a link of a many-to-many field
of such a model counts as a write of its scoped side's rows (but a source, person or group on
its far side: a citation is read where the citing record is). A model opts in only when no
view of another town's scope reads its rows otherwise, or when those are exactly its region's
towns: a way of life is read by the facts of every town of its region (each town's advice
compares its region's), so it counts for each of them (``governance.models.OneRegionRead``),
not for another region's. A CSO, and its links, leaders and scores
(``csos.models.ServedTownsRead``), count for the towns it serves (``read_cache_towns``: SQL of
the towns whose pages read a row), a link of a CSO to a town for that town too, as it was and
as it is; a CSO that serves no town counts nowhere (below). A person or an influence group
belongs to no town: a town's pages read one only through the town's records linked to it
(appointments held or shaped, CSO leaderships, influence claims, mechanisms), so it counts for
the towns of those records (``governance.models.ReadThroughLinks``); a record linked to a
person or group does not count for the person's other towns.
A row that no town's page shows (a CSO serving no town; a person, group or source that no
record of a town links yet; an informal tie or a group membership, which no town's record
links at all, so read through links too) is logged in the pseudo-region -1 (:data:`NOWHERE`),
which no town is in: it counts for the reads of all towns only. A source is read like a
person, through the records that cite it; a source of
statistics or a dataset (``Source.read_cache_everywhere``) counts for everything, without
its links being looked up: one is cited by 2.4 M values in 2,000 towns at the scale data,
and finding them took its write 2.5 s.
A write of a town's own row that changes only what its own reads and the
lists of towns show (``Town.READ_CACHE_OWN_FIELDS``: the stored typology and share of "our
own", which an approved influence claim changes, and the time of the change) counts for that
town and, marked ``listed``, for the lists and the map (:data:`TOWN_ROWS_FUNCTION`); any
other change of a town (a name, a slug, a move) has no scope. Every other counted write has
no scope and counts for every reader. A view's reads depend on (:data:`READ_SCOPES`):

* "town" (a town's series: its own records only): the unscoped writes and the town's own;
* "facts" (a town's profile and its dashboard but the indicators' section: its own records,
  and of its values only those the profile reads): the unscoped writes and those of the town's
  own that can change its facts. A model says which of its rows can with
  ``read_cache_facts()`` (the indicator values: the yearly ones of the criteria's indicators); the
  others are counted for the town apart, so a value of any other indicator leaves them be;
* "region" (its dashboard and chart data, which show the regional ranks and medians): the
  unscoped writes, the region's writes that its towns read (``read_cache_regional()`` of
  the model: the yearly indicator values; a quarter's value or a claim is read by its own
  towns only, so its row in ``atlas_data_writes`` says so in ``regional``) and the town's
  own;
* "regionless" (the town list and records, regions, districts, the map: no value at all): the
  unscoped writes and the ``listed`` ones (a town's stored aggregates);
* anything else (comparisons, the home page, the values' lists, exports): every write.

Each part of a key only grows, so a key never repeats a state. The key of a scoped read also
holds whether the demonstration banner shows, the one thing on such a page that depends on
every region's records. The town is looked up from the slug in the same query that reads the
sums; a town that moves to another region or changes its slug is a write to the towns, which
counts for everything.

Who is cached
-------------
Only what the public and partner levels see. Research-level reads are logged field by field
(:class:`governance.models.FieldAccessLog`) and change with drafts, so they always run. The
level is part of the key: a partner entry can never be served to an anonymous visitor. The
visibility policy depends on the level alone (``visible_to``), so two viewers at one level get
identical representations.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict

import pghistory.models
from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections, router
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language

from governance.access import Viewer, viewer_level

#: Apps whose tables hold research data: every write to them must retire cached reads.
DATA_APPS = ("governance", "towns", "csos")
#: Tables of those apps that never change what a reader sees: the access log, and the API's
#: rate counters (written by every API request: counting them would retire the whole cache
#: on every read).
NOT_DATA = {
    "governance.fieldaccesslog",
    "governance.ratecounter",
    # The review's own tables (pending changes, their events, a researcher's entry defaults):
    # read only by the workspace and by a requester's own list, never by a cached channel. A
    # proposal changes nothing a public or partner reader sees until it is approved, and the
    # approval writes the record itself.
    "governance.revision",
    "governance.reviewevent",
    "governance.entrydefault",
    # Derived from the indicator values in the same transaction (towns.RegionalIndicatorStat):
    # the write to the values is what counts (a draft value refreshes its research figures
    # only, which no cached reader sees).
    "towns.regionalindicatorstat",
    # The map's features, written from the towns in the same transaction (towns.TownMapFeature).
    "towns.townmapfeature",
    # Profiles computed from the data and kept with the state they were computed from
    # (towns.KeptProfile): written by readers and by keep_profiles, never a change of the data.
    "towns.keptprofile",
    # The same for reads of many towns (towns.KeptDocument: the whole map).
    "towns.keptdocument",
}
#: Tables outside them that decide who a token or user is (the cached token resolution of
#: governance.api.authentication): a revoked token or a changed role retires it at once.
IDENTITY_TABLES = ("auth_user", "auth_user_groups", "auth_group", "knox_authtoken")
#: Media types that are cached (the browsable API's HTML carries a CSRF token: never cached).
CACHED_MEDIA_TYPES = ("application/json", "text/csv", "application/geo+json", "text/html")
#: Response headers kept with an entry (the rest is added again by the middleware): those that
#: describe the body, including a list page's neighbours (``Link``) and whether a chart's data
#: rests on synthetic records.
KEPT_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "ETag",
    "Vary",
    "Content-Language",
    "Link",
    "X-Derived-From-Synthetic",
)

WRITES_TABLE = """
CREATE TABLE IF NOT EXISTS atlas_data_writes (
    id bigserial PRIMARY KEY,
    weight bigint NOT NULL DEFAULT 1
);
-- The region a write was confined to (NULL: it may change any reader; see "Scoped reads").
ALTER TABLE atlas_data_writes ADD COLUMN IF NOT EXISTS scope bigint;
-- Whether the region's other towns read it (an indicator value: their ranks and medians) or
-- only its towns (a claim about one town); a release before this column counted all.
ALTER TABLE atlas_data_writes ADD COLUMN IF NOT EXISTS regional boolean NOT NULL DEFAULT true;
-- Whether the lists of towns and the map read it (a town's own stored aggregates: see "Scoped
-- reads"); a release before this column logged such writes without a region.
ALTER TABLE atlas_data_writes ADD COLUMN IF NOT EXISTS listed boolean NOT NULL DEFAULT false;
-- The same writes counted per town, for the reads of one town's own records.
CREATE TABLE IF NOT EXISTS atlas_town_writes (
    id bigserial PRIMARY KEY,
    town bigint NOT NULL,
    weight bigint NOT NULL DEFAULT 1
);
-- Whether a write can change the town's facts (its profile and the rest of its dashboard: see
-- "Scoped reads"); a release before this column counted every write for them.
ALTER TABLE atlas_town_writes ADD COLUMN IF NOT EXISTS facts boolean NOT NULL DEFAULT true;
DROP INDEX IF EXISTS atlas_town_writes_town;
CREATE INDEX IF NOT EXISTS atlas_town_writes_town_facts ON atlas_town_writes (town)
    INCLUDE (weight, facts);
"""
TRIGGER_FUNCTION = """
-- Earlier releases' functions took fewer arguments (a call would be ambiguous).
DROP FUNCTION IF EXISTS atlas_log_write();
DROP FUNCTION IF EXISTS atlas_log_write(bigint);
DROP FUNCTION IF EXISTS atlas_log_write(bigint, bigint);
DROP FUNCTION IF EXISTS atlas_log_write(bigint, bigint, boolean);
DROP FUNCTION IF EXISTS atlas_log_write(bigint, bigint, boolean, boolean);
-- Every argument is given by every caller (no defaults): an earlier release's function, which
-- had defaults and fewer arguments, installed beside this one when a release is rolled back,
-- is then never an ambiguous match for its own callers. A write for everything is
-- (NULL, NULL, true, true, false).
CREATE OR REPLACE FUNCTION atlas_log_write(
    region bigint, town bigint, facts boolean, regionwide boolean, on_lists boolean
)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
    -- What this transaction logged already: ',g,' (everything), ',<region>,' per region for
    -- a write its towns read, ',<region>c,' for one only its town reads (',<region>cl,' if
    -- the lists of towns read it too), ',t<town>,' per town for a write of its facts,
    -- ',v<town>,' for any other of its writes.
    logged text := coalesce(nullif(current_setting('atlas.write_logged', true), ''), ',');
    mark text := coalesce(
        region::text || CASE WHEN regionwide THEN '' ELSE 'c' END
            || CASE WHEN on_lists THEN 'l' ELSE '' END,
        'g'
    );
    town_mark text := CASE WHEN facts THEN 't' ELSE 'v' END || town::text;
BEGIN
    PERFORM set_config(
        'atlas.local_writes',
        (coalesce(nullif(current_setting('atlas.local_writes', true), ''), '0')::bigint + 1)::text,
        true
    );
    -- A write to everything covers every region and town: nothing more to log after it.
    IF position(',g,' IN logged) > 0 THEN
        RETURN;
    END IF;
    -- One row per transaction and scope.
    IF position(',' || mark || ',' IN logged) = 0 THEN
        INSERT INTO atlas_data_writes (weight, scope, regional, listed)
            VALUES (1, region, regionwide, on_lists)
            RETURNING id INTO written;
        logged := logged || mark || ',';
        PERFORM set_config('atlas.write_logged', logged, true);
        -- Fold the older rows into one per scope of the same weight, never waiting: a folder
        -- takes only the rows no other folder holds (SKIP LOCKED), so a folder whose
        -- transaction stays open keeps just its own rows from being folded, not everyone's.
        -- Rows of transactions still running are not seen, so not folded: they count when
        -- they commit. The fold itself becomes visible at once, at commit.
        IF written % 20 = 0 THEN
            WITH gone AS (
                DELETE FROM atlas_data_writes WHERE id IN (
                    SELECT id FROM atlas_data_writes WHERE id < written
                    FOR UPDATE SKIP LOCKED
                ) RETURNING weight, scope, regional, listed
            )
            INSERT INTO atlas_data_writes (weight, scope, regional, listed)
            SELECT sum(weight), scope, regional, listed FROM gone
            GROUP BY scope, regional, listed;
        END IF;
    END IF;
    IF region IS NOT NULL AND town IS NOT NULL
            AND position(',' || town_mark || ',' IN logged) = 0 THEN
        INSERT INTO atlas_town_writes (town, facts) VALUES (town, facts) RETURNING id INTO written;
        PERFORM set_config('atlas.write_logged', logged || town_mark || ',', true);
        -- The town's older rows of the same kind folded into the new one, the same way (all at
        -- commit, or not at all): a town keeps one row of each kind.
        WITH gone AS (
            DELETE FROM atlas_town_writes WHERE id IN (
                SELECT id FROM atlas_town_writes w
                WHERE w.town = atlas_log_write.town AND w.facts = atlas_log_write.facts
                    AND id < written
                FOR UPDATE SKIP LOCKED
            ) RETURNING weight
        )
        UPDATE atlas_town_writes SET weight = weight + (SELECT coalesce(sum(weight), 0) FROM gone)
        WHERE id = written;
    END IF;
END
$$;
CREATE OR REPLACE FUNCTION atlas_note_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM atlas_log_write(NULL, NULL, true, true, false);
    RETURN NULL;
END
$$;
-- A statement counts only if it wrote a row (a DELETE of nothing, as Django's deletion sends
-- for each empty relation, changes nothing), and on a table of research records (argument
-- 'research': a publication state per row) only if a row it wrote is published, as it is now
-- or as it was. Drafts and records in review are seen by researchers alone, whose reads are
-- never cached: a researcher's day of drafting, or a partner's proposed values (they arrive
-- as drafts), retires no public or partner entry.
CREATE OR REPLACE FUNCTION atlas_note_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counts boolean;
BEGIN
    -- Each branch names only columns its tables have (a plain table has no state).
    IF TG_ARGV[0] = 'research' THEN
        IF TG_OP = 'INSERT' THEN
            counts := EXISTS (SELECT 1 FROM atlas_new WHERE state = 'published');
        ELSIF TG_OP = 'DELETE' THEN
            counts := EXISTS (SELECT 1 FROM atlas_old WHERE state = 'published');
        ELSE
            counts := EXISTS (SELECT 1 FROM atlas_new WHERE state = 'published')
                OR EXISTS (SELECT 1 FROM atlas_old WHERE state = 'published');
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        counts := EXISTS (SELECT 1 FROM atlas_old);
    ELSE
        counts := EXISTS (SELECT 1 FROM atlas_new);
    END IF;
    IF counts THEN
        PERFORM atlas_log_write(NULL, NULL, true, true, false);
    END IF;
    RETURN NULL;
END
$$;
"""
#: On a table whose written rows each belong to towns (:func:`town_scoped_tables`): like
#: ``atlas_note_rows('research')``, but a published row written counts for the towns whose reads
#: can show it and their regions only (see "Scoped reads"); a row whose town or region cannot
#: be found counts for everything. ``{loop_*}`` log the (town, facts, regional) of the rows
#: written (:data:`PLACES_LOOP` of :func:`scoped_places`), as they are, as they were, or both.
#: One function per table, its columns named in it.
SCOPED_ROWS_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    place record;
BEGIN
    -- Each (region, town, facts) of the rows written; a town not found has no region and
    -- counts for everything (first: it makes the others needless); a row no town reads
    -- (governance.cache.NOWHERE) counts in that pseudo-region, for the reads of all towns only.
    IF TG_OP = 'INSERT' THEN
{loop_new}
    ELSIF TG_OP = 'DELETE' THEN
{loop_old}
    ELSE
        -- As the row is and as it was: a row moved to another town retires both.
{loop_both}
    END IF;
    RETURN NULL;
END
$$;
"""
#: On the towns' table, for an update: a statement that changed only columns of a town that the
#: town's own reads and the lists of towns show (``Town.READ_CACHE_OWN_FIELDS``: the stored
#: typology and share of "our own", which an approved influence claim can change, and the time
#: of the change) counts for each town it wrote, the lists of towns and the map; any other
#: change of a town (a name, a slug, a move to another region, a population) counts for
#: everything, as does a row whose id changed. ``{own}`` is the array of those columns.
TOWN_ROWS_FUNCTION = """
CREATE OR REPLACE FUNCTION atlas_note_town_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    place record;
BEGIN
    IF EXISTS (
        SELECT 1 FROM atlas_new n LEFT JOIN atlas_old o ON o.id = n.id
        WHERE o.id IS NULL OR (to_jsonb(n) - {own}) IS DISTINCT FROM (to_jsonb(o) - {own})
    ) THEN
        PERFORM atlas_log_write(NULL, NULL, true, true, false);
        RETURN NULL;
    END IF;
    FOR place IN SELECT DISTINCT n.region_id AS region, n.id AS town FROM atlas_new n ORDER BY 1, 2
    LOOP
        PERFORM atlas_log_write(place.region, place.town, true, false, true);
    END LOOP;
    RETURN NULL;
END
$$;
"""
#: One loop of :data:`SCOPED_ROWS_FUNCTION`: each (region, town, facts, regional) of the
#: ``{places}`` written, logged.
PLACES_LOOP = """
        FOR place IN
            SELECT DISTINCT CASE WHEN p.town = {nowhere} THEN {nowhere} ELSE t.region_id END
                AS region, nullif(p.town, {nowhere}) AS town, p.facts, p.regional
            FROM ({places}) p LEFT JOIN {towns} t ON t.id = p.town
            ORDER BY 1 NULLS FIRST, 2, 3, 4
        LOOP
            PERFORM atlas_log_write(
                place.region, place.town, place.facts, place.regional, false
            );
        END LOOP;"""
#: The fingerprint's parts in one call: a PL/pgSQL function keeps its query's plan for the
#: session, and planning the sum was most of the cost of the bare query (measured: 0.12 ms of
#: planning for 0.08 ms of execution).
#:
#: The sum alone can repeat: a restore puts the rows of ``atlas_data_writes`` back, so the next
#: edit after it reaches a number an edit the restore threw away already had, and its cached
#: entries would be served again. The first part is the data's identity, which a number never
#: outlives: the cluster (``system_identifier``, random at ``initdb``; a streaming replica
#: shares its primary's), the database (its OID: a re-created database gets a new one) and the
#: counter table itself (its OID: a restore, which goes into an empty database, creates it
#: anew, as does anything else that drops and re-creates it).
STATE_FUNCTION = """
-- Earlier releases' functions took other arguments (a call would be ambiguous).
DROP FUNCTION IF EXISTS atlas_data_state();
DROP FUNCTION IF EXISTS atlas_data_state(text);
DROP FUNCTION IF EXISTS atlas_data_state(text, boolean);
CREATE OR REPLACE FUNCTION atlas_data_state(kind text DEFAULT 'all', town text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    place text := current_setting('atlas.data_place', true);
    writes text;
    region bigint;
    town_id bigint;
    counted text;
BEGIN
    -- The cluster and the database never change for a session: read once (reading the
    -- control file cost 17 us a call), kept in a session setting.
    IF coalesce(place, '') = '' THEN
        place := (SELECT system_identifier FROM pg_control_system())::text
            || '.' || (SELECT oid FROM pg_database WHERE datname = current_database())::text;
        PERFORM set_config('atlas.data_place', place, false);
    END IF;
    writes := coalesce(nullif(current_setting('atlas.local_writes', true), ''), '0');
    -- What the read depends on ("Scoped reads"): 'regionless', the writes without a region
    -- and those the lists of towns read (a town's own aggregates);
    -- 'region', those, the region's that its towns read and the town's own (by its slug);
    -- 'town', those without a region and the town's own; 'facts', those without a region and
    -- the town's own that can change its facts; 'all' (and a slug not found), every write.
    IF kind IN ('region', 'town', 'facts') THEN
        SELECT t.region_id, t.id INTO region, town_id FROM {towns} t WHERE t.slug = town;
    END IF;
    IF kind = 'regionless' THEN
        counted := 'n:' || (
            SELECT coalesce(sum(weight), 0) FROM atlas_data_writes w
            WHERE w.scope IS NULL OR w.listed
        )::text;
    ELSIF kind = 'region' AND region IS NOT NULL THEN
        -- The region's writes its towns read (values) and the town's own of any kind.
        counted := 'r' || region::text || ':' || (
            SELECT coalesce(sum(weight), 0) FROM atlas_data_writes w
            WHERE w.scope IS NULL OR (w.scope = region AND w.regional)
        )::text || ':' || (
            SELECT coalesce(sum(weight), 0) FROM atlas_town_writes w WHERE w.town = town_id
        )::text;
    ELSIF kind IN ('town', 'facts') AND town_id IS NOT NULL THEN
        -- 't…' counts both kinds of the town's rows, 'f…' those of its facts only.
        counted := left(kind, 1) || town_id::text || ':' || (
            SELECT coalesce(sum(weight), 0) FROM atlas_data_writes w WHERE w.scope IS NULL
        )::text || ':' || (
            SELECT coalesce(sum(weight), 0) FROM atlas_town_writes w
            WHERE w.town = town_id AND (kind = 'town' OR w.facts)
        )::text;
    ELSE
        counted := (SELECT coalesce(sum(weight), 0) FROM atlas_data_writes)::text;
    END IF;
    -- The transaction's id only when it wrote research data (a write to a table that is not
    -- data, such as the API's rate counters, assigns an id too but changes nothing a reader
    -- sees).
    RETURN place || '.' || 'atlas_data_writes'::regclass::oid::text
        || '/' || counted
        || '/' || CASE WHEN writes = '0' THEN ''
                       ELSE coalesce(pg_current_xact_id_if_assigned()::text, '') END
        || '/' || writes;
END
$$;
"""
#: On every data table: a truncate counts; each row-writing event is looked at with the rows it
#: wrote (a trigger with transition tables takes one event), by atlas_note_rows('research')
#: on a table of research records, atlas_note_rows('plain') on the others.
TRIGGERS = (
    "CREATE OR REPLACE TRIGGER atlas_note_write AFTER TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION atlas_note_write()",
    "CREATE OR REPLACE TRIGGER atlas_note_write_insert AFTER INSERT ON {table} "
    "REFERENCING NEW TABLE AS atlas_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION atlas_note_rows('{kind}')",
    "CREATE OR REPLACE TRIGGER atlas_note_write_update AFTER UPDATE ON {table} "
    "REFERENCING OLD TABLE AS atlas_old NEW TABLE AS atlas_new "
    "FOR EACH STATEMENT EXECUTE FUNCTION atlas_note_rows('{kind}')",
    "CREATE OR REPLACE TRIGGER atlas_note_write_delete AFTER DELETE ON {table} "
    "REFERENCING OLD TABLE AS atlas_old "
    "FOR EACH STATEMENT EXECUTE FUNCTION atlas_note_rows('{kind}')",
)


def town_scoped_models() -> list[type]:
    """The research models whose published writes count for the towns that read them only:
    those declaring ``READ_CACHE_TOWN_COLUMN`` (the column of the town each row belongs to) or
    ``read_cache_towns(alias, qn)`` (SQL of the towns whose pages read row ``alias``, in a
    column ``town``: a CSO and its links, leaders and scores, read by the towns it serves)."""
    research = research_tables()
    return [
        model
        for app_label in DATA_APPS
        for model in apps.get_app_config(app_label).get_models()
        if (
            getattr(model, "READ_CACHE_TOWN_COLUMN", None)
            or hasattr(model, "read_cache_towns")
            or _through_links(model)
        )
        and model._meta.db_table in research
    ]


def _through_links(model) -> bool:
    """Whether ``model``'s rows are read through the scoped records linked to them only
    (``governance.models.ReadThroughLinks``: a person, an influence group)."""
    return getattr(model, "READ_CACHE_THROUGH_LINKS", False)


#: The town of a row that no town's page reads (a CSO serving no town, a person no record of a
#: town links): its write counts in the pseudo-region of that number, which no town is in, so
#: for the reads of all towns only.
NOWHERE = -1


def _towns_of(model, alias: str, qn) -> tuple[str, str]:
    """(a join, an expression) giving, per row ``alias`` of the scoped ``model``, each town
    whose reads show it: its town column, or a lateral join of ``read_cache_towns`` (``LEFT``:
    a row that no town reads gives :data:`NOWHERE`)."""
    column = getattr(model, "READ_CACHE_TOWN_COLUMN", None)
    if column:
        return "", f"{alias}.{qn(column)}"
    towns = model.read_cache_towns(alias, qn)
    return (
        f" LEFT JOIN LATERAL ({towns}) {alias}_towns ON true",
        f"coalesce({alias}_towns.town, {NOWHERE})",
    )


def town_scoped_tables() -> dict[str, type]:
    """Table → model, for the tables whose writes count for some towns only: the tables of
    :func:`town_scoped_models` and the many-to-many tables of their fields (a link is read
    through its scoped side, so it counts for that side's towns, as that row would)."""
    scoped = town_scoped_models()
    tables = {model._meta.db_table: model for model in scoped}
    for model in scoped:
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                tables[through._meta.db_table] = through
    return tables


def _links(model, scoped: list[type], qn) -> list[str]:
    """SQL giving, for a written row ``w`` of ``model``, the towns of the scoped rows it is
    related to (by a foreign key or a many-to-many field, either way): the reads of those towns
    show it too (a management mechanism lists the activities it suppresses, of any town)."""
    links = []
    mine = qn(model._meta.pk.column)
    for field in model._meta.get_fields():
        other = field.related_model
        # A person or group linked to the row is not where it is read: its towns are those
        # of the records linked to *it*.
        if other not in scoped or _through_links(other):
            continue
        table = qn(other._meta.db_table)
        join, town = _towns_of(other, "o", qn)
        theirs = qn(other._meta.pk.column)
        if field.many_to_many:
            forward = field if field.concrete else field.remote_field
            through = qn(forward.remote_field.through._meta.db_table)
            # Columns of the through table naming the declaring model's row and the target's.
            source, target = qn(forward.m2m_column_name()), qn(forward.m2m_reverse_name())
            near, far = (source, target) if field.concrete else (target, source)
            links.append(
                f"SELECT {town} AS town FROM {through} l JOIN {table} o "  # noqa: S608
                f"ON o.{theirs} = l.{far}{join} WHERE l.{near} = w.{mine}"
            )
        elif field.concrete and (field.many_to_one or field.one_to_one):
            links.append(
                f"SELECT {town} AS town FROM {table} o{join} "  # noqa: S608
                f"WHERE o.{theirs} = w.{qn(field.column)}"
            )
        elif field.one_to_many or field.one_to_one:
            links.append(
                f"SELECT {town} AS town FROM {table} o{join} "  # noqa: S608
                f"WHERE o.{qn(field.field.column)} = w.{mine}"
            )
    return links


def _model_places(model, rows: str, scoped: list[type], qn) -> list[str]:
    """(town, facts, regional) queries for the written rows ``rows`` of a scoped model: a
    published row counts for its town (for its facts when the model's ``read_cache_facts``
    condition holds, always when it has none) and for the towns of the scoped rows related to
    it; for their regions' other towns too when the model's ``read_cache_regional``
    condition holds for it (the yearly indicator values, in every town's regional ranks and
    medians; never when the model has none)."""
    facts = model.read_cache_facts("w") if hasattr(model, "read_cache_facts") else "true"
    regional = model.read_cache_regional("w") if hasattr(model, "read_cache_regional") else "false"
    published = "w.state = 'published'"
    if _through_links(model):
        # The towns of the linked records, in one lateral join: none gives NOWHERE. A row the
        # model says is read everywhere (read_cache_everywhere: a source of statistics, cited
        # by values in most towns) counts for everything, its links not even looked up.
        links = " UNION ".join(_links(model, scoped, qn)) or "SELECT NULL::bigint AS town LIMIT 0"
        everywhere = (
            model.read_cache_everywhere("w") if hasattr(model, "read_cache_everywhere") else "false"
        )
        return [
            f"SELECT NULL::bigint AS town, {facts} AS facts, {regional} AS regional "  # noqa: S608
            f"FROM {rows} w WHERE {published} AND {everywhere}",
            f"SELECT CASE WHEN x.linked THEN x.town ELSE {NOWHERE} END AS town, "  # noqa: S608
            f"{facts} AS facts, {regional} AS regional "
            f"FROM (SELECT * FROM {rows} w WHERE {published} AND NOT ({everywhere})) w "
            f"LEFT JOIN LATERAL (SELECT true AS linked, u.town FROM ({links}) u) x ON true",
        ]
    join, own = _towns_of(model, "w", qn)
    region_towns = []
    if getattr(model, "READ_CACHE_REGION_TOWNS", False):
        # Every town of the row's region reads it in its facts (a way of life: the advice).
        towns = qn(_towns_table())
        region_towns.append(
            f"SELECT o.id AS town, true AS facts, false AS regional "  # noqa: S608
            f"FROM {rows} w{join} JOIN {towns} t ON t.id = {own} "
            f"JOIN {towns} o ON o.region_id = t.region_id WHERE {published}"
        )
    return [
        f"SELECT {own} AS town, {facts} AS facts, {regional} AS regional "  # noqa: S608
        f"FROM {rows} w{join} WHERE {published}",
        *region_towns,
        *(
            f"SELECT x.town, true AS facts, {regional} AS regional "  # noqa: S608
            f"FROM {rows} w CROSS JOIN LATERAL ({link}) x WHERE {published}"
            for link in _links(model, scoped, qn)
        ),
    ]


def scoped_places(table: str, rows: str, qn) -> str:
    """The (town, facts, regional) of the rows ``rows`` written to ``table``, one of
    :func:`town_scoped_tables` (a town of NULL: count for everything). A link of a many-to-many
    table counts as a write of its scoped side's row (none when that row is not published; for
    everything when it is not found: a foreign key is checked at commit)."""
    scoped = town_scoped_models()
    model = town_scoped_tables()[table]
    if model in scoped:
        return " UNION ALL ".join(_model_places(model, rows, scoped, qn))
    parts = []
    # A link naming a town (a CSO's towns served) counts for that town too: after a link is
    # removed, its row's side no longer names it.
    town_model = apps.get_model("towns", "Town")
    named = [qn(f.column) for f in model._meta.fields if f.related_model is town_model]
    # A source, person or group on the far side of the link is not where the link is read
    # (the source cited by a claim is shown on the claim's town's pages, not on those of the
    # other records citing it), as in _links; on the side whose field it is, it is.
    declaring = model._meta.auto_created
    for field in model._meta.fields:
        parent = field.related_model
        if parent not in scoped or (_through_links(parent) and parent is not declaring):
            continue
        owner, pk, column = (
            qn(parent._meta.db_table),
            qn(parent._meta.pk.column),
            qn(field.column),
        )
        parents = f"(SELECT p.* FROM {rows} l JOIN {owner} p ON p.{pk} = l.{column})"  # noqa: S608
        parts += _model_places(parent, parents, scoped, qn)
        parts += [
            f"SELECT l.{town} AS town, true AS facts, false AS regional FROM {rows} l "  # noqa: S608
            f"JOIN {owner} p ON p.{pk} = l.{column} WHERE p.state = 'published'"
            for town in named
        ]
        parts.append(
            f"SELECT NULL::bigint AS town, true AS facts, true AS regional FROM {rows} l "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {owner} p WHERE p.{pk} = l.{column})"
        )
    return " UNION ALL ".join(parts)


def scoped_function(table: str) -> str:
    return f"atlas_note_scoped_{table}"


def _towns_table() -> str:
    return apps.get_model("towns", "Town")._meta.db_table


def _town_own_columns() -> str:
    """The SQL array of the towns' columns that only the town's own reads and the lists of
    towns show (:data:`TOWN_ROWS_FUNCTION`)."""
    town = apps.get_model("towns", "Town")
    columns = [town._meta.get_field(name).column for name in town.READ_CACHE_OWN_FIELDS]
    return "ARRAY[" + ", ".join(f"'{column}'" for column in columns) + "]::text[]"


def research_tables() -> set[str]:
    """The data tables whose rows have a publication state: only a write to a published row
    counts (:data:`TRIGGERS`)."""
    from governance.models import ResearchRecord

    return {
        model._meta.db_table
        for app_label in DATA_APPS
        for model in apps.get_app_config(app_label).get_models()
        if issubclass(model, ResearchRecord) and not model._meta.proxy
    }


def data_tables() -> list[str]:
    """Tables whose writes must retire cached reads (many-to-many tables included)."""
    tables = []
    for app_label in DATA_APPS:
        for model in apps.get_app_config(app_label).get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.label_lower in NOT_DATA:
                continue
            if issubclass(model, pghistory.models.Event):  # history rows are not read data
                continue
            tables.append(meta.db_table)
    return sorted({*tables, *IDENTITY_TABLES})


def install_write_triggers(sender=None, using: str = "default", **kwargs) -> None:
    """(Re)install the statement trigger on every data table; idempotent.

    Connected to ``post_migrate``, which is sent once per app after the whole migration run:
    the install runs once (for this app), when every table exists.
    """
    if sender is not None and sender.label != "governance":
        return
    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    existing = set(conn.introspection.table_names())
    towns = conn.ops.quote_name(_towns_table())
    with conn.cursor() as cursor:
        cursor.execute(WRITES_TABLE)
        cursor.execute(TRIGGER_FUNCTION)
        cursor.execute(STATE_FUNCTION.format(towns=towns))
        research = research_tables()
        scoped = town_scoped_tables()
        for table in data_tables():
            if table not in existing:
                continue
            kind = "research" if table in research else "plain"
            statements = TRIGGERS
            if table in scoped:
                function = scoped_function(table)
                qn = conn.ops.quote_name
                both = "(SELECT * FROM atlas_new UNION ALL SELECT * FROM atlas_old)"
                loops = {
                    f"loop_{name}": PLACES_LOOP.format(
                        nowhere=NOWHERE, towns=towns, places=scoped_places(table, rows, qn)
                    )
                    for name, rows in (("new", "atlas_new"), ("old", "atlas_old"), ("both", both))
                }
                cursor.execute(SCOPED_ROWS_FUNCTION.format(function=function, **loops))
                # The truncate keeps its trigger; the row events call the table's function.
                statements = (
                    TRIGGERS[0],
                    *(
                        t.replace("atlas_note_rows('{kind}')", f"{function}()")
                        for t in TRIGGERS[1:]
                    ),
                )
            elif table == _towns_table():
                cursor.execute(TOWN_ROWS_FUNCTION.format(own=_town_own_columns()))
                statements = (
                    *TRIGGERS[:2],
                    TRIGGERS[2].replace("atlas_note_rows('{kind}')", "atlas_note_town_update()"),
                    TRIGGERS[3],
                )
            for statement in statements:
                cursor.execute(statement.format(table=conn.ops.quote_name(table), kind=kind))
        # The row function of an earlier release (its triggers were replaced just now).
        cursor.execute("DROP FUNCTION IF EXISTS atlas_note_research_write()")
        for label in NOT_DATA:  # a table that stopped being data loses the trigger
            table = apps.get_model(label)._meta.db_table
            if table in existing:
                for name in ("", "_insert", "_update", "_delete"):
                    cursor.execute(
                        f"DROP TRIGGER IF EXISTS atlas_note_write{name} "
                        f"ON {conn.ops.quote_name(table)}"
                    )


def data_state(using: str | None = None, *, scope: str = "all", town: str | None = None) -> str:
    """The fingerprint of the committed data as this connection sees it now (see above); with
    a ``scope`` ("regionless", or "region", "town" or "facts" and the ``town``'s slug), of what
    such a read depends on ("Scoped reads")."""
    conn = connections[using] if using else connection
    with conn.cursor() as cursor:
        cursor.execute("SELECT atlas_data_state(%s, %s)", [scope, town])
        (state,) = cursor.fetchone()
    return _placed(conn, state)


def _placed(conn, state: str) -> str:
    # Inside a transaction that wrote, its id keeps its entries apart from every other
    # transaction's (one rolled back may have counted the same number of writes). The
    # database's name and server keep two databases sharing one cache apart.
    where = conn.settings_dict
    host = where.get("HOST") or (where.get("OPTIONS") or {}).get("host", "")
    server = f"{host}:{where.get('PORT')}"
    return f"{server}/{where.get('NAME')}/{state}"


def request_state(request) -> str:
    """:func:`data_state` read once per request (authentication and the read cache share it).

    Reusing it within a request is safe: anything built later in the request is at least as
    new as the state, so an entry can still only be newer than its key.
    """
    http = getattr(request, "_request", request)
    state = getattr(http, "_atlas_data_state", None)
    if state is None:
        _read_states(http)
        state = http._atlas_data_state
    return state


def _read_states(http) -> None:
    """Read the request's fingerprints, both in one query: every write's, and, for a scoped
    read (:func:`request_scope`), the one its key holds."""
    scope = request_scope(http)
    conn = connections[read_database()]
    with conn.cursor() as cursor:
        if scope is None:
            cursor.execute("SELECT atlas_data_state(), NULL")
        else:
            cursor.execute("SELECT atlas_data_state(), atlas_data_state(%s, %s)", list(scope))
        everything, scoped = cursor.fetchone()
    http._atlas_data_state = _placed(conn, everything)
    http._atlas_key_state = _placed(conn, scoped) if scoped is not None else None


#: What a view's reads depend on, by view name ("Scoped reads"), added to by the apps that own
#: the views (``towns.apps``):
#:
#: * "regionless": no table whose writes carry a region (no indicator value);
#: * "town": one town's own records (``slug`` in the URL), no other town's values;
#: * "facts": one town's own records, of its values only those that can change its facts
#:   (``read_cache_facts()`` of the model: the profile's criteria);
#: * "region": one town's records and, through the regional ranks and medians, the published
#:   values of its region's towns.
#:
#: Any view not named here depends on every write.
READ_SCOPES: dict[str, str] = {}


def request_scope(request) -> tuple[str, str | None] | None:
    """(scope, town slug) of a scoped read (:data:`READ_SCOPES`), or None for everything."""
    http = getattr(request, "_request", request)
    match = getattr(http, "resolver_match", None)
    if match is None:
        # Before URL resolving (the short-cut): the API is not under a language prefix.
        try:
            match = resolve(http.path_info)
        except Resolver404:
            return None
    scope = READ_SCOPES.get(match.view_name)
    if scope is None:
        return None
    if scope == "regionless":
        return scope, None
    slug = match.kwargs.get("slug")
    return (scope, slug) if slug else None


def key_state(request) -> str:
    """The fingerprint a read cache key holds (see "Scoped reads").

    A read about one town holds its region's count and whether the site shows the
    demonstration banner: that is the one thing on such a page that depends on every region's
    records (``towns.context_processors``), and it is answered under :func:`request_state`.
    """
    state = request_state(request)
    http = getattr(request, "_request", request)
    scoped = getattr(http, "_atlas_key_state", None)
    if scoped is None:
        return state
    from towns.context_processors import public_synthetic_exists_for

    return f"{scoped}|demo={int(public_synthetic_exists_for(http))}"


def read_database() -> str:
    """The database alias reads go to (a replica when one is configured)."""
    from towns.models import Town

    return router.db_for_read(Town) or "default"


def request_url(request) -> str:
    """Scheme, host and full path of ``request``: what a key must hold, since an answer's
    absolute links (pagination, ``url`` fields) belong to the host and scheme it was built
    for. ``get_host()`` checks the Host header against ``ALLOWED_HOSTS`` first (a
    ``DisallowedHost`` is a 400), so no cached answer is ever given to a host not allowed."""
    http = getattr(request, "_request", request)
    return f"{http.scheme}://{http.get_host()}{http.get_full_path()}"


#: What the rendering code is made of: a page cached by one release of the code (its templates,
#: Python, translations, static files) must not be served by the next, so the key holds this.
_CODE_PARTS = ("governance", "towns", "csos", "templates", "locale", "static")


def _code_fingerprint() -> str:
    """A fingerprint of the code that renders: the path, size and modification time of every
    file it is made of (about 400 stat calls, under 10 ms)."""
    digest = hashlib.sha256()
    for part in _CODE_PARTS:
        root = settings.BASE_DIR / part
        for file in sorted(root.rglob("*")) if root.is_dir() else ():
            if file.is_file() and "__pycache__" not in file.parts:
                stat = file.stat()
                digest.update(f"{file}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _release() -> str:
    return _code_fingerprint()


def code_version() -> str:
    """The release of the code, read once per process; in DEBUG on every call, since the
    development server does not restart when a template changes."""
    return _code_fingerprint() if settings.DEBUG else _release()


def cache_key(kind: str, *, level: str, path: str, media_type: str = "", state: str) -> str:
    """Key of one representation: kind, viewer level, language, day, request, data state and
    the release of the code that renders it.

    The day is part of the key because profiles default to "as of today"; the release because
    a new deployment renders differently what the data state alone would call unchanged.
    """
    today = timezone.localdate().isoformat()
    raw = "|".join(
        (kind, level, get_language() or "", today, media_type, path, state, code_version())
    )
    return f"atlas:{kind}:" + hashlib.sha256(raw.encode()).hexdigest()


def read_cache():
    return caches[settings.READ_CACHE_ALIAS]


class _LocalTier:
    """A small least-recently-used copy of finished entries in this worker's own memory.

    Safe because an entry never changes under its key (the key holds the data state), so a
    copy can never be stale: a write moves the state and the old keys are simply never asked
    for again and age out. It spares a hit the shared cache's file read and decompression (or
    the Redis round trip). Bounded in bytes by ``READ_CACHE_LOCAL_MB`` (0 turns it off), so a
    worker's memory stays flat; not used over a LocMem cache, which is in memory already.
    Entries are treated as read-only by every caller.
    """

    def __init__(self):
        self.entries: OrderedDict[str, tuple[bytes, dict]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    @staticmethod
    def capacity() -> int:
        # Not over a cache in memory already, and not over the dummy cache: that one is how an
        # operator turns the shared tier off, and this copy must not keep answering for it.
        if read_cache().__class__.__name__ in ("LocMemCache", "DummyCache"):
            return 0
        return max(0, settings.READ_CACHE_LOCAL_MB) * 1024 * 1024

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple[bytes, dict]) -> None:
        capacity = self.capacity()
        size = len(entry[0]) + 512  # the headers and the key, roughly
        if size > capacity // 8:  # a few large entries must not push out all the rest
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old[0]) + 512
            self.entries[key] = entry
            self.size += size
            while self.size > capacity:
                _, gone = self.entries.popitem(last=False)
                self.size -= len(gone[0]) + 512

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


_local = _LocalTier()


def clear() -> None:
    """Empty the read cache: the shared cache and this process's copy of it."""
    read_cache().clear()
    _local.clear()


def _get(key: str):
    """A finished entry (body, headers): from this worker's copy, else from the shared cache."""
    entry = _local.get(key)
    if entry is None:
        entry = read_cache().get(key)
        if entry is not None and _local.capacity():
            _local.put(key, entry)
    return entry


def _set(key: str, entry: tuple[bytes, dict]) -> None:
    read_cache().set(key, entry, settings.READ_CACHE_TIMEOUT)
    if _local.capacity():
        _local.put(key, entry)


def store(key: str, response) -> None:
    """Keep a rendered 200 response (its body and the headers that describe it)."""
    if settings.READ_CACHE_TIMEOUT <= 0:
        return
    headers = {name: response[name] for name in KEPT_HEADERS if name in response}
    _set(key, (bytes(response.content), headers))


def lookup(key: str, request) -> HttpResponse | None:
    """The cached response for ``key``, or a 304 when the client already holds it."""
    if settings.READ_CACHE_TIMEOUT <= 0:
        return None
    entry = _get(key)
    if entry is None:
        return None
    content, headers = entry
    etag = headers.get("ETag")
    if etag and _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        response = HttpResponseNotModified()
        for name in ("ETag", "Vary"):
            if name in headers:
                response[name] = headers[name]
        return response
    response = HttpResponse(content, content_type=headers.get("Content-Type"))
    for name, value in headers.items():
        response[name] = value
    response["X-Atlas-Cache"] = "hit"
    return response


def _etag_matches(header, etag) -> bool:
    from governance.api.etag import etag_matches

    return etag_matches(header, etag)


def cacheable_level(user) -> str | None:
    """The viewer level to key on, or None when this viewer's reads must not be cached."""
    level = viewer_level(user)
    return None if level == Viewer.RESEARCH else str(level)


# --- API ---------------------------------------------------------------------------------------


class CachedReadMixin:
    """API reads (GET/HEAD) served from the read cache for public and partner viewers.

    The lookup runs after DRF's ``initial()``: authentication, permissions, throttling and
    content negotiation happen for every request, cached or not, so a cached read is refused
    and limited exactly like a fresh one.
    """

    read_cache_key: str | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.read_cache_key = None
        if request.method not in ("GET", "HEAD") or settings.READ_CACHE_TIMEOUT <= 0:
            return
        media_type = getattr(request, "accepted_media_type", "") or ""
        if not media_type.startswith(CACHED_MEDIA_TYPES[:3]):
            return
        level = cacheable_level(request.user)
        if level is None:
            return
        key = cache_key(
            "api",
            level=level,
            path=request_url(request),
            media_type=media_type,
            state=key_state(request),
        )
        self.read_cache_key = key
        hit = lookup(key, request)
        if hit is not None:
            # The handler DRF calls next answers from the cache.
            setattr(self, request.method.lower(), lambda *a, **k: hit)

    def keep_read(self, response) -> None:
        """Store a fresh 200 read (called last, once the ETag is set)."""
        key = self.read_cache_key
        if (
            key
            and response.status_code == 200
            and getattr(response, "data", None) is not None
            and not response.cookies
        ):
            response.render()
            store(key, response)
            # The short-cut middleware may keep the finished response too.
            http = getattr(self.request, "_request", None)
            if http is not None:
                http._atlas_shortcut_store = True


# --- The short-cut ---------------------------------------------------------------------------

#: Headers a short-cut entry does not keep: per response, or set again by outer middleware.
NOT_KEPT = {"set-cookie", "date", "content-length", "x-atlas-cache"}


class ReadShortcutMiddleware:
    """Answer a repeated public or partner API read before the rest of the stack runs.

    Placed right after CORS: the session, locale, CSRF, authentication, OTP, messages and CSP
    middleware, URL resolving and DRF's dispatch cost more than the answer itself (about two
    thirds of a cached read). An entry is the finished response of an earlier identical request
    (the security and CORS middleware outside still process every answer), stored only when the
    API's read cache stored its body (:class:`CachedReadMixin`), under a key of:

    * the viewer level: anonymous (no ``Authorization``, no session or messages cookie) or a
      token whose resolution is already in the cache (same data-state key as
      :mod:`governance.api.authentication`, so a revoked token or a changed role misses);
    * everything content negotiation and the language may read: the full URL, ``Accept``,
      ``Accept-Language`` and the language cookie;
    * the data state, as every other entry.

    Throttling still counts every answered request, with the API's own throttle classes.
    Anything else (a session, another auth scheme, a token not resolved yet, a HEAD, a page)
    takes the normal path.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        viewer = self._viewer(request)
        if viewer is None:
            return self.get_response(request)
        user, token, level = viewer
        key = cache_key(
            "short",
            level=level,
            path=request_url(request),
            media_type="|".join(
                (
                    request.META.get("HTTP_ACCEPT", ""),
                    request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
                    request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""),
                )
            ),
            state=key_state(request),
        )
        hit = lookup(key, request)
        if hit is not None:
            return _throttled(request, user, token) or hit
        response = self.get_response(request)
        if (
            getattr(request, "_atlas_shortcut_store", False)
            and response.status_code == 200
            and not response.cookies
            and not getattr(response, "streaming", False)
        ):
            headers = {
                name: value for name, value in response.items() if name.lower() not in NOT_KEPT
            }
            _set(key, (bytes(response.content), headers))
        return response

    @staticmethod
    def _viewer(request):
        """(user, token, level) of an eligible request, else None."""
        if (
            request.method != "GET"
            or settings.READ_CACHE_TIMEOUT <= 0
            or not request.path_info.startswith("/api/")
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or "messages" in request.COOKIES
        ):
            return None
        if "HTTP_AUTHORIZATION" not in request.META:
            return None, None, str(Viewer.PUBLIC)
        from governance.api.authentication import resolved_token

        resolved = resolved_token(request)
        if resolved is None:
            return None
        user, token, level, _scopes = resolved
        if level == Viewer.RESEARCH:
            return None
        return user, token, str(level)


class _ThrottleRequest:
    """The request as the API's throttle classes see it: its user and token set."""

    def __init__(self, request, user, token):
        from django.contrib.auth.models import AnonymousUser

        self._http = request
        self.user = user or AnonymousUser()
        self.auth = token

    def __getattr__(self, name):
        # META, headers, ...: as the request has them.
        return getattr(self._http, name)


def _throttled(request, user, token) -> HttpResponse | None:
    """A 429 with Retry-After when a throttle of the API refuses the request, else None."""
    import math

    from rest_framework.settings import api_settings

    shim = _ThrottleRequest(request, user, token)
    waits = []
    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        throttle = throttle_class()
        if not throttle.allow_request(shim, None):
            waits.append(throttle.wait())
    if not waits:
        return None
    wait = max((w for w in waits if w is not None), default=None)
    seconds = math.ceil(wait) if wait is not None else None
    detail = "Request was throttled." + (
        f" Expected available in {seconds} seconds." if seconds is not None else ""
    )
    response = HttpResponse(
        json.dumps({"detail": detail}), status=429, content_type="application/json"
    )
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


# --- Pages -------------------------------------------------------------------------------------


def cached_public_page(view):
    """Serve a public page from the read cache to anonymous visitors, with an ETag for CDNs.

    A visitor with a session or pending messages, a page that used a CSRF token (it would be
    someone else's) and any response that sets a cookie are never cached. An anonymous 200
    carries a strong ``ETag`` (a hash of the body, kept with the entry) and ``Cache-Control:
    public, no-cache``: a CDN or a browser may keep the page but must revalidate it on every
    request, so an unpublished record never outlives its page anywhere; a matching
    ``If-None-Match`` is answered 304 (from the cache: one fingerprint query and a lookup).
    The same holds with the read cache off, at the cost of building the page.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            request.method not in ("GET", "HEAD")
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or "messages" in request.COOKIES
            or request.user.is_authenticated
        ):
            return view(request, *args, **kwargs)
        caching = settings.READ_CACHE_TIMEOUT > 0
        if caching:
            key = cache_key(
                "page",
                level=str(Viewer.PUBLIC),
                path=request_url(request),
                state=key_state(request),
            )
            hit = lookup(key, request)
            if hit is not None:
                return _public_page(hit)
        response = view(request, *args, **kwargs)
        if (
            response.status_code == 200
            and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and not getattr(response, "streaming", False)
        ):
            if hasattr(response, "render"):
                response.render()
            response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
            if caching:
                store(key, response)
            if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), response["ETag"]):
                not_modified = HttpResponseNotModified()
                not_modified["ETag"] = response["ETag"]
                return _public_page(not_modified)
            return _public_page(response)
        return response

    return wrapper


def _public_page(response):
    """Who may keep an anonymous page: anyone, revalidating it each time (see above)."""
    patch_cache_control(response, public=True, no_cache=True)
    return response
