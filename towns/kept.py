"""Town profiles computed once per change, not once per request (issue 19, point 2).

A town's profile (``/api/v1/towns/<slug>/profile/``: balance, typology, criteria, ventures,
network and advice) is the most expensive read of the API after the dashboard: about 40 ms of
Python per request at any data size, mostly Django building a dozen queries, against 13 ms for
the whole answer of a peer that returns stored JSON. It changes only when the town's data,
a record without a region (a CSO, a person, the research settings...), the day or the code
changes. So it is kept, per town, viewer level (public, partner; research reads are never
kept, they are logged field by field) and language, in :class:`towns.models.KeptProfile`,
with the state it was computed from:

* **The state**: ``atlas_data_state('facts', slug)``, the same count of committed writes the
  read cache's scoped keys hold (``governance.cache``, "Scoped reads"): the writes without a
  region and the town's own, of its values only those of the criteria's indicators (the only
  values a profile reads: an approval of any other leaves it current), with the identity of
  the cluster, the database and the counter table, so a restore or a re-created database never
  repeats one; and the release of the code. A row is read only while its state is the current
  one and its day is today: one indexed query (:func:`find`) both reads the state and finds
  the row, so a profile is never served from older data than the state says.
* **Filled and kept current by** ``manage.py keep_profiles`` (:func:`refresh`): every town
  at both levels in the API's language (:func:`languages`), then, in a loop, the rows whose
  state moved (an approval of a criterion's value, or of a claim, in one town: that town's
  two rows; a write without a region: every row). A reader who comes before the keeper
  computes the profile, answers and keeps it (:func:`profile_for`), so a page is never
  wrong, only as slow as without the keeper.
* **Off** with ``KEPT_PROFILES=false``: every profile is computed on each request, nothing is
  read or written here.

Town dashboards are kept the same way, in two parts: the HTML of the page between its
header and footer but the indicators' section (kind "dashboard", :data:`DASHBOARD`,
``towns/_dashboard.html``), and that section (kind "indicators", :data:`INDICATORS`,
``towns/_dashboard_indicators.html``); computed, each costs about 80 ms of Python at the
scale data (a profile about 40). The section shows the town's rank and the median of its
region for every indicator, so its state is the *region's* (``atlas_data_state('region',
slug)``): an approval of a value anywhere in the region makes it stale (of a claim about
one town, only that town's). The rest of the page shows the
town's own records and those of no town, and of its values only the profile's, so its state
is the profile's: after an approval of a criterion's value only the town's own page and its
region's sections are computed again, after any other only the sections
(with one part for the whole page, every dashboard of the region was). The read takes both
parts in one query and puts the section in the place of its mark
(:data:`towns.views.INDICATORS_MARK`). The keeper fills the public level in the default
language (what a donor gets without signing in); a partner's page, or a page in another
language, is kept by its first reader. The header, the footer and everything that depends on
the request (the sign-in link, the CSRF token, the demonstration banner) are rendered around
it per request.

Kept documents
--------------
A read of many towns is kept the same way in :class:`towns.models.KeptDocument`, once per
viewer level and language. The one so far is the whole map (``/api/v1/towns.geojson`` with no
parameter, what a partner's map or a GIS tool downloads; the site's own maps draw from data in
the page): its 2,261 features cost about 20 ms of a request at the scale data, most of it
PostgreSQL sorting and sending 2,261 rows and Python taking them one by one, and the 100 ms
p95 of the issue was not met with it. Kept, it is one indexed query for one text. Its state
is ``atlas_data_state('regionless')`` (the read cache's scope for the map: the features hold
no indicator value), so an approval of values leaves it current. The keeper fills the
public's in the default language first in each pass; another level or language is kept by
its first reader. A filtered map is computed per request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import psycopg2.extensions
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connections,
    router,
    transaction,
)
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from rest_framework.utils.encoders import JSONEncoder

from governance.access import Viewer, viewer_level
from governance.cache import code_version
from towns.models import KeptDocument, KeptProfile, Town

log = logging.getLogger(__name__)

#: PostgreSQL's error code for a lock not granted within ``lock_timeout``.
LOCK_NOT_AVAILABLE = "55P03"

#: The viewer levels whose profiles are kept (research reads are logged field by field).
LEVELS = (Viewer.PUBLIC, Viewer.PARTNER)


def enabled() -> bool:
    return getattr(settings, "KEPT_PROFILES", True)


def languages() -> list[str]:
    """The languages the keeper computes: the API's. It is not under a language prefix, so
    ``LocaleMiddleware`` answers it in ``LANGUAGE_CODE`` whatever the ``Accept-Language``
    (``i18n_patterns(prefix_default_language=False)``; tested). A reader in another language,
    should there ever be one, still gets a kept row, made by the first such request."""
    return [settings.LANGUAGE_CODE]


def kept_language(language: str | None) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


def viewer(level: Viewer):
    """A user who sees exactly what ``level`` sees (the keeper computes for no one in
    particular: what a viewer sees depends on the level alone, ``governance.access``)."""
    if level == Viewer.PUBLIC:
        return AnonymousUser()
    user = get_user_model()(username=f"kept-profile-{int(level)}", is_active=True)
    user._atlas_viewer_level = level
    return user


def compute(town: Town, user) -> dict:
    """The profile's data as the API answers it (the serializer's output)."""
    from towns.api.profile import TownProfileSerializer, profile_data

    return TownProfileSerializer(profile_data(town, user=user)).data


def encode(data: dict) -> str:
    """The JSON text kept for ``data``, in the active language (lazy texts are rendered now)."""
    return json.dumps(data, cls=JSONEncoder, ensure_ascii=False)


def _page_request(town: Town, level: Viewer):
    """A request of ``town``'s page by a viewer of ``level`` in the active language."""
    request = RequestFactory().get(reverse("towns:detail", args=[town.slug]))
    request.user = viewer(level)
    request.LANGUAGE_CODE = translation.get_language()
    return request


def render_dashboard(town: Town, level: Viewer) -> str:
    """The dashboard's HTML (``towns/_dashboard.html``) as ``level`` sees it in the active
    language, with the mark of its indicators' section in the section's place
    (:data:`towns.views.INDICATORS_MARK`), rendered as the page itself renders it
    (:func:`towns.views.dashboard_content`)."""
    from towns.views import INDICATORS_MARK, dashboard_content

    return dashboard_content(_page_request(town, level), town, indicators=INDICATORS_MARK)


def render_indicators(town: Town, level: Viewer) -> str:
    """The HTML of the dashboard's indicators' section as ``level`` sees it in the active
    language, as the page itself renders it (:func:`towns.views.indicators_content`)."""
    from towns.views import indicators_content

    return indicators_content(_page_request(town, level), town)


def _profile_text(town: Town, level: Viewer) -> str:
    return encode(compute(town, viewer(level)))


@dataclass(frozen=True)
class Kind:
    """A kind of kept read: its name in ``KeptProfile.kind``, the scope of the data state it
    follows (``atlas_data_state``'s: "facts" or "region"), the levels the keeper fills (a
    reader keeps any of :data:`LEVELS` it computes), how the keeper computes a row's text
    (in the active language) and what a row costs, in profiles (a keeper's pass takes that
    many times fewer towns)."""

    name: str
    scope: str
    filled: tuple[Viewer, ...]
    text: Callable[[Town, Viewer], str]
    cost: int = 1


#: What a row costs the keeper, in profiles (measured at the scale data, see
#: docs/scaling.md item 13).
COST_DASHBOARD = 2
COST_INDICATORS = 2

#: The profile: the town's own records (and those of no town), of its values only the
#: criteria's (the "facts" scope: a value of any other indicator leaves it current).
PROFILE = Kind("profile", "facts", LEVELS, _profile_text)
#: The dashboard but its indicators' section: what the profile reads, the same way.
DASHBOARD = Kind("dashboard", "facts", (Viewer.PUBLIC,), render_dashboard, cost=COST_DASHBOARD)
#: The dashboard's indicators' section: its regional ranks and medians follow every value of
#: the region.
INDICATORS = Kind("indicators", "region", (Viewer.PUBLIC,), render_indicators, cost=COST_INDICATORS)
#: In the order the keeper computes them: one town's reads first (its profile, then its
#: dashboard), then the indicators' sections (an approval makes a whole region's stale).
KINDS = (PROFILE, DASHBOARD, INDICATORS)


#: The state a kept row must have: the data state of its kind's scope (by the town's slug) and
#: the code's release.
STATE_SQL = "SELECT atlas_data_state(%s, %s) || '|' || %s"
#: Per kind looked up: the state the town's kept row of that kind must have, and the kept row
#: that has it, if any.
LOOKUP_KIND_SQL = (
    "CROSS JOIN LATERAL (SELECT atlas_data_state(%s, t.slug) || '|' || %s AS state) s{i} "
    "LEFT JOIN towns_keptprofile k{i} ON k{i}.town_id = t.id AND k{i}.kind = %s "
    "AND k{i}.level = %s AND k{i}.language = %s AND k{i}.as_of = %s AND k{i}.state = s{i}.state "
)


def _lookup_sql(count: int) -> str:
    """The town (by slug), and per kind its state and current kept row: one query, on
    indexes (the town's slug; the kept row's town, kind, level and language)."""
    columns = "".join(f", s{i}.state, k{i}.body" for i in range(count))
    kinds = "".join(LOOKUP_KIND_SQL.format(i=i) for i in range(count))
    return f"SELECT t.id{columns} FROM towns_town t {kinds}WHERE t.slug = %s"  # noqa: S608 (numbers only)


def _storable(state: str) -> bool:
    """A state read inside a transaction that wrote data names that transaction
    (``atlas_data_state``'s last part is its count of writes): nothing another reader could
    share, so it is not kept."""
    raw = state.rsplit("|", 1)[0]
    return raw.endswith("/0")


@dataclass(frozen=True)
class Lookup:
    """What :func:`find` found: the town's id, the state a kept row must have, the kept text
    (None when there is no current row), of which kind, and for whom."""

    kind: Kind
    town_id: int
    state: str
    body: str | None
    level: Viewer
    language: str
    day: date


def find(slug: str, *, user, kind: Kind = PROFILE) -> Lookup | None:
    """Today's kept ``kind`` (the profile, by default) of the town ``slug`` for ``user``, in
    one query on the database reads go to; None when no town has that slug or nothing is kept
    for this viewer (a research reader, another language, ``KEPT_PROFILES=false``)."""
    found = find_all(slug, user=user, kinds=(kind,))
    return found[0] if found is not None else None


def find_all(slug: str, *, user, kinds: tuple[Kind, ...]) -> list[Lookup] | None:
    """:func:`find` for several kinds at once (one :class:`Lookup` per kind, in order), in
    one query."""
    level = viewer_level(user)
    language = translation.get_language()
    if not enabled() or level not in LEVELS or not kept_language(language):
        return None
    day = timezone.localdate()
    code = code_version()
    params = [p for k in kinds for p in (k.scope, code, k.name, int(level), language, day)]
    using = router.db_for_read(KeptProfile) or "default"
    with connections[using].cursor() as cursor:
        cursor.execute(_lookup_sql(len(kinds)), [*params, slug])
        row = cursor.fetchone()
    if row is None:
        return None
    town_id = row[0]
    return [
        Lookup(kind, town_id, row[1 + 2 * i], row[2 + 2 * i], level, language, day)
        for i, kind in enumerate(kinds)
    ]


#: How long a store waits behind another transaction's uncommitted row of the same key
#: (another reader or keeper storing it too): normally a few milliseconds, until that one
#: commits. Stopped or hung inside its transaction, it would hold the row for as long as it
#: is: the store gives up instead, and the row is kept by the next reader or pass.
STORE_LOCK_WAIT = "500ms"


def _write_bounded(using: str, what: str, write: Callable[[], object]) -> bool:
    """Run ``write`` in a transaction on ``using`` in which a lock is waited for at most
    :data:`STORE_LOCK_WAIT`. Past it, what was to be stored is not (logged), and the caller's
    answer stands. Returns whether it was written."""
    # Inside a caller's transaction the setting would outlive this one's savepoint: it is
    # put back after the write.
    nested = connections[using].in_atomic_block
    try:
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                [STORE_LOCK_WAIT],
            )
            (before, _set) = cursor.fetchone()
            write()
            if nested:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    except OperationalError as error:
        if getattr(error.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        log.warning("%s not stored: its row is locked by another transaction", what)
        return False
    return True


def _store(rows: Iterable[KeptProfile]) -> None:
    """Insert or replace ``rows``. A row that cannot be written (its town deleted meanwhile,
    or locked by another transaction past :data:`STORE_LOCK_WAIT`) is left out and logged: a
    reader still gets the answer it computed."""
    rows = list(rows)
    if not rows:
        return
    using = router.db_for_write(KeptProfile) or "default"
    try:
        _write_bounded(
            using,
            "kept profile",
            lambda: KeptProfile.objects.using(using).bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["town", "kind", "level", "language"],
                update_fields=["as_of", "state", "body", "made_at"],
            ),
        )
    except IntegrityError as error:
        log.warning("kept profile not stored: %s", error)


def profile_for(town: Town, *, user, found: Lookup | None = None) -> dict:
    """The profile of ``town`` as ``user`` sees it today: the kept one when it is current,
    else computed, and kept when the viewer's level is one that is kept. ``found`` is what
    :func:`find` said for this town and viewer, when already asked."""
    if found is None or found.town_id != town.pk:
        found = find(town.slug, user=user)
    if found is None:
        return compute(town, user)
    if found.body is not None:
        return json.loads(found.body)
    data = compute(town, user)
    _keep(town, found, encode(data))
    return data


def dashboard_for(request, town: Town) -> SafeString:
    """The dashboard's HTML of ``town`` for this request's viewer, from its two kept parts
    when they are current (the page but its indicators' section, :data:`DASHBOARD`; the
    section, :data:`INDICATORS`), each part not current rendered
    (:func:`towns.views.dashboard_content`, :func:`towns.views.indicators_content`) and kept
    when the viewer's level and language are kept ones. Two viewers of one level see the same
    HTML (what a viewer sees depends on the level alone, ``governance.access``; the page's
    parts that depend on the request are outside it)."""
    from towns.views import INDICATORS_MARK, dashboard_content, indicators_content

    found = find_all(town.slug, user=request.user, kinds=(DASHBOARD, INDICATORS))
    if found is None:
        return dashboard_content(request, town)
    page, section = found
    computed = []
    if section.body is not None:
        section_html = section.body
    else:
        section_html = indicators_content(request, town)
        computed.append((section, section_html))
    if page.body is not None:
        page_html = page.body
    else:
        page_html = dashboard_content(request, town, indicators=INDICATORS_MARK)
        computed.append((page, page_html))
    html = assemble(page_html, section_html)
    _store(row for lookup, body in computed if (row := _row(town, lookup, body)) is not None)
    return mark_safe(html)  # noqa: S308 (our templates' output, autoescaped)


def assemble(page: str, section: str) -> str:
    """The dashboard: ``page`` with its indicators' ``section`` in the place of the mark."""
    from towns.views import INDICATORS_MARK

    if page.count(INDICATORS_MARK) != 1:
        raise ValueError("a kept dashboard holds the mark of its indicators' section once")
    return page.replace(INDICATORS_MARK, section, 1)


def _keep(town: Town, found: Lookup, body: str) -> None:
    """Keep ``body``, computed by a reader for what ``found`` says, if its state can be
    shared (:func:`_storable`)."""
    row = _row(town, found, body)
    if row is not None:
        _store([row])


def _row(town: Town, found: Lookup, body: str) -> KeptProfile | None:
    """The row that keeps ``body`` for what ``found`` says; None if its state cannot be
    shared (:func:`_storable`)."""
    if not _storable(found.state):
        return None
    return KeptProfile(
        town=town,
        kind=found.kind.name,
        level=found.level,
        language=found.language,
        as_of=found.day,
        state=found.state,
        body=body,
    )


# --- The keeper --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stale:
    kind: Kind
    town_id: int
    level: Viewer
    language: str


def stale(
    *, part: tuple[int, int] = (0, 1), limit: int | None = None, kinds: Iterable[Kind] = KINDS
) -> list[Stale]:
    """The rows the keeper fills (:attr:`Kind.filled`) that are missing or not current, kind
    by kind (:data:`KINDS`'s order) and in town order: two queries (the towns' states, the
    kept rows' states), whatever the number of towns. ``part`` (i, n) keeps the towns whose
    id is i modulo n, for n keepers side by side."""
    index, parts = part
    kinds = list(kinds)
    day = timezone.localdate()
    code = code_version()
    using = router.db_for_write(KeptProfile) or "default"
    scopes = sorted({kind.scope for kind in kinds})
    states = ", ".join("atlas_data_state(%s, t.slug) || '|' || %s" for _scope in scopes)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, {states} FROM towns_town t "  # noqa: S608 (placeholders only)
            "WHERE t.id %% %s = %s ORDER BY t.id",
            [*(p for scope in scopes for p in (scope, code)), parts, index],
        )
        current = {row[0]: dict(zip(scopes, row[1:], strict=True)) for row in cursor.fetchall()}
    kept = {
        (kind, town_id, level, language): (state, as_of)
        for kind, town_id, level, language, state, as_of in KeptProfile.objects.using(using)
        .filter(town_id__in=list(current), kind__in=[kind.name for kind in kinds])
        .values_list("kind", "town_id", "level", "language", "state", "as_of")
        .iterator(chunk_size=5000)
    }
    wanted = []
    for kind in kinds:
        for town_id, by_scope in current.items():
            state = by_scope[kind.scope]
            if not _storable(state):
                continue
            for level in kind.filled:
                for language in languages():
                    if kept.get((kind.name, town_id, int(level), language)) != (state, day):
                        wanted.append(Stale(kind, town_id, level, language))
                        if limit is not None and len(wanted) >= limit:
                            return wanted
    return wanted


def refresh(
    entries: list[Stale],
    *,
    progress: Callable[[int, float], None] | None = None,
    share: float = 1.0,
) -> int:
    """Compute and keep ``entries`` (:func:`stale`), one town and kind at a time (its state
    read before its records, so a write meanwhile leaves the row stale, never wrong), each
    level from a town loaded for it alone (nothing one viewer's computation leaves on the
    instance can reach another's). With ``share`` below 1, wait after each town so that
    computing takes at most that share of the time. Returns the number of rows written."""
    groups: dict[tuple[Kind, int], list[Stale]] = {}
    for entry in entries:
        groups.setdefault((entry.kind, entry.town_id), []).append(entry)
    loaded = Town.objects.select_related("region", "district")
    towns = loaded.in_bulk({town_id for _kind, town_id in groups})
    code = code_version()
    day = timezone.localdate()
    using = router.db_for_write(KeptProfile) or "default"
    written = 0
    started = time.monotonic()
    for (kind, town_id), wanted in groups.items():
        town = towns.get(town_id)
        if town is None:  # deleted meanwhile
            continue
        began = time.monotonic()
        with connections[using].cursor() as cursor:
            cursor.execute(STATE_SQL, [kind.scope, town.slug, code])
            (state,) = cursor.fetchone()
        rows = []
        try:
            for entry in wanted:
                alone = loaded.get(pk=town_id) if len(wanted) > 1 else town
                with translation.override(entry.language):
                    body = kind.text(alone, entry.level)
                rows.append(
                    KeptProfile(
                        town=town,
                        kind=kind.name,
                        level=entry.level,
                        language=entry.language,
                        as_of=day,
                        state=state,
                        body=body,
                    )
                )
        except DatabaseError:
            raise
        except Exception:
            # A town whose profile or page cannot be computed (the API or the page answers it
            # with the same error) must not stop the others: logged, and looked at again on
            # the next pass.
            log.exception("keep_profiles: the %s of town %s failed", kind.name, town.slug)
            continue
        _store(rows)
        written += len(rows)
        if progress is not None:
            progress(written, time.monotonic() - started)
        if share < 1:
            time.sleep((time.monotonic() - began) * (1 / share - 1))
    return written


# --- Kept documents ----------------------------------------------------------------------------

#: The state a kept document must have (the "regionless" data state and the code's release)
#: and the row that has it, if any: one query, on the row's unique index.
DOCUMENT_SQL = (
    "SELECT s.state, k.count, k.{body}, k.etag "
    "FROM (SELECT atlas_data_state('regionless') || '|' || %s AS state) s "
    "LEFT JOIN towns_keptdocument k ON k.name = %s AND k.level = %s AND k.language = %s "
    "AND k.state = s.state"
)


@dataclass(frozen=True)
class DocumentLookup:
    """What :func:`find_document` found: the state a kept row must have, the kept text (UTF-8
    bytes), its count and its answer's ETag (None when there is no current row), and for
    whom."""

    name: str
    state: str
    count: int | None
    body: bytes | None
    etag: str | None
    level: Viewer
    language: str


def find_document(name: str, *, user, gzipped: bool = False) -> DocumentLookup | None:
    """The kept document ``name`` for ``user``, in one query on the database reads go to;
    None when nothing is kept for this viewer (a research reader, another language,
    ``KEPT_PROFILES=false``). With ``gzipped``, ``body`` is the whole answer compressed
    (``KeptDocument.gzipped``; empty in a row kept before there was one)."""
    level = viewer_level(user)
    language = translation.get_language()
    if not enabled() or level not in LEVELS or not kept_language(language):
        return None
    using = router.db_for_read(KeptDocument) or "default"
    with connections[using].cursor() as cursor:
        # The texts as PostgreSQL sends them (UTF-8 bytes): the body goes out as it is.
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
        cursor.execute(
            DOCUMENT_SQL.format(body="gzipped" if gzipped else "body"),
            [code_version(), name, int(level), language],
        )
        state, count, body, etag = cursor.fetchone()
    if gzipped and body is not None:
        body = bytes(body) or None  # bytea arrives as a memoryview
    return DocumentLookup(
        name, state.decode(), count, body, etag and etag.decode(), level, language
    )


def keep_document(
    found: DocumentLookup, *, count: int, body: str, etag: str, gzipped: bytes
) -> bool:
    """Keep ``body`` (``count`` items, its answer tagged ``etag`` and compressed
    ``gzipped``), computed for what ``found`` says, if its state can be shared
    (:func:`_storable`). Returns whether it was written."""
    if not _storable(found.state):
        return False
    using = router.db_for_write(KeptDocument) or "default"
    row = KeptDocument(
        name=found.name,
        level=found.level,
        language=found.language,
        state=found.state,
        count=count,
        body=body,
        etag=etag,
        gzipped=gzipped,
    )
    return _write_bounded(
        using,
        f"kept document {found.name}",
        lambda: KeptDocument.objects.using(using).bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["name", "level", "language"],
            update_fields=["state", "count", "body", "etag", "gzipped", "made_at"],
        ),
    )


def map_current() -> bool:
    """Whether the public's whole map in the default language is kept and current (or nothing
    is kept at all)."""
    with translation.override(settings.LANGUAGE_CODE):
        found = find_document("map", user=viewer(Viewer.PUBLIC))
    return found is None or found.body is not None


def refresh_map() -> bool:
    """Keep the public's whole map in the default language, if it is not current. Returns
    whether it was computed."""
    from towns.api.geojson import keep_map, whole_map

    written = False
    for language in languages():
        with translation.override(language):
            found = find_document("map", user=viewer(Viewer.PUBLIC))
            if found is None or found.body is not None:
                continue
            written |= keep_map(found, whole_map(viewer(Viewer.PUBLIC)))
    return written
