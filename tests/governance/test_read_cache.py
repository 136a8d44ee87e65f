"""The read cache (governance/cache.py): hits are real, and never stale or over-privileged.

Every write path (API, admin, import, raw SQL, another connection's commit) is followed at once
by a read at each access level. The test transaction is never committed, so the in-transaction
half of the fingerprint (the statement trigger's counter) is what retires entries here; the
snapshot half is checked with a second connection that commits.
"""

from __future__ import annotations

import pghistory.models
import psycopg2
import pytest
import tablib
from django.apps import apps
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from governance.access import AccessLevel, PublicationState
from governance.cache import (
    data_state,
    data_tables,
    research_tables,
    scoped_function,
    town_scoped_tables,
)
from tests.ratewindow import inside_one_window
from towns.imports import TownFactsResource
from towns.models import Activity, Town

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def get(client, path, **extra):
    response = client.get(path, **extra)
    assert response.status_code == 200, response.content[:300]
    return response


def hit(response) -> bool:
    return response.get("X-Atlas-Cache") == "hit"


@pytest.fixture
def activity():
    """A published public activity every viewer sees."""
    return Activity.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PUBLIC, deleted_at=None
    ).first()


def test_every_data_table_has_the_write_trigger():
    tables = set(data_tables())
    assert {"towns_town", "towns_indicatorvalue", "csos_cso", "csos_csolink"} <= tables
    assert "governance_fieldaccesslog" not in tables
    # History (pghistory) event tables are not read data; a research model whose name ends in
    # "Event" (the society model SelfOrganisationEvent, the review's ReviewEvent) is.
    history = {m._meta.db_table for m in apps.get_models() if issubclass(m, pghistory.models.Event)}
    assert history and not tables & history
    assert "towns_selforganisationevent" in tables
    # The review's tables are read by no cached channel; the kept regional figures move only
    # with the values, whose write counts.
    assert not tables & {
        "governance_revision",
        "governance_reviewevent",
        "governance_entrydefault",
        "towns_regionalindicatorstat",
        "towns_townmapfeature",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'atlas_note_write%'"
        )
        triggers = cursor.fetchall()
    # A truncate and each row-writing event, on every data table; tables of research records
    # count only writes of published rows.
    research = research_tables()
    scoped = town_scoped_tables()
    assert {"towns_indicatorvalue", "csos_cso", "towns_activity"} <= research <= tables
    # The scoped tables: research records, and the many-to-many tables of their fields.
    through = {t for t, model in scoped.items() if model._meta.auto_created}
    assert set(scoped) - through <= research
    assert "towns_managementmechanism_suppresses" in through and through <= tables
    # Ties and memberships are read through links (none): the reads of all towns only.
    assert {"towns_tie", "towns_groupmembership", "towns_tie_sources"} <= set(scoped)
    expected = {f"atlas_note_write{e}" for e in ("", "_insert", "_update", "_delete")}
    for table in tables:
        mine = [(name, definition) for t, name, definition in triggers if t == table]
        assert {name for name, _d in mine} == expected, table
        kind = "'research'" if table in research else "'plain'"
        if table in scoped:  # its region's writes only (tests/governance/test_scoped_reads.py)
            kind = f"{scoped_function(table)}()"
        events = {name: d for name, d in mine if name != "atlas_note_write"}
        if table == "towns_town":  # an update of its own aggregates is scoped (same file)
            assert "atlas_note_town_update()" in events.pop("atlas_note_write_update")
        assert all(kind in d for d in events.values()), table


def test_an_earlier_releases_write_function_beside_this_one_is_never_ambiguous():
    """A release rolled back installs its own ``atlas_log_write`` (fewer arguments, with
    defaults) beside this release's: both releases' triggers still resolve their calls, and
    this release's still count (this one's takes no defaults, so a call of the earlier one's
    shape never matches it)."""
    from django.db import transaction

    from towns.models import Region

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION atlas_log_write(region bigint DEFAULT NULL, town bigint DEFAULT "
            "NULL, facts boolean DEFAULT true, regionwide boolean DEFAULT true) RETURNS void "
            "LANGUAGE sql AS $$ SELECT set_config('atlas.earlier_release', 'called', true) $$"
        )
        cursor.execute("SELECT atlas_log_write(), current_setting('atlas.earlier_release')")
        assert cursor.fetchone()[1] == "called"
        cursor.execute("SELECT current_setting('atlas.local_writes', true)")
        (before,) = cursor.fetchone()
        Region.objects.filter(pk=Region.objects.first().pk).update(name_en="Renamed")
        cursor.execute("SELECT current_setting('atlas.local_writes', true)")
        (after,) = cursor.fetchone()
        assert int(after) == int(before or 0) + 1, "this release's trigger did not count"
        transaction.set_rollback(True)


def test_a_draft_retires_nothing_and_a_published_row_does(activity, writes_without_review):
    """Writes to rows nobody outside the research team sees (drafts, records in review) keep
    every public and partner entry; a write that touches a published row, as it is or as it
    was, retires them."""
    start = data_state()
    draft = Activity.objects.get(pk=activity.pk)
    draft.pk = None
    draft.state = PublicationState.DRAFT
    draft.save()
    Activity.objects.filter(pk=draft.pk).update(title="Still a draft")
    Activity.objects.filter(pk=draft.pk).update(state=PublicationState.IN_REVIEW)
    assert data_state() == start, "a write to an unpublished row retired the cache"
    Activity.objects.filter(pk=draft.pk).update(state=PublicationState.PUBLISHED)
    published = data_state()
    assert published != start
    Activity.objects.filter(pk=draft.pk).update(state=PublicationState.DRAFT)
    assert data_state() != published, "a record leaving publication did not retire the cache"
    unpublished = data_state()
    Activity.objects.filter(pk=draft.pk).delete()
    assert data_state() == unpublished
    Activity.objects.filter(pk=activity.pk).delete()
    assert data_state() != unpublished


def test_a_proposed_value_keeps_the_cached_pages(personas):
    """A partner's proposed values arrive as drafts and wait for review: the public's cached
    town list keeps being served meanwhile."""
    from governance.tokens import token_issue
    from towns.models import IndicatorValue

    _client, key = token_issue(
        user=personas["partner"].user, name="w", scopes=["read:partner", "write:indicators"]
    )
    client = personas["anonymous"].api_client()
    get(client, f"{API}towns/?page_size=10")
    assert hit(get(client, f"{API}towns/?page_size=10"))
    value = IndicatorValue.objects.visible_to(None).first()
    rows = [{"town": "turau", "indicator": value.indicator.code, "year": 1999, "value": "1"}]
    answer = Client(HTTP_AUTHORIZATION=f"Token {key}").post(
        f"{API}indicator-values/bulk/", rows, content_type="application/json", secure=True
    )
    assert answer.status_code == 201, answer.content
    assert IndicatorValue.objects.get(town__slug="turau", year=1999).state == "draft"
    assert hit(get(client, f"{API}towns/?page_size=10"))


def test_a_repeated_read_is_served_from_the_cache(personas):
    client = personas["anonymous"].api_client()
    first = get(client, f"{API}towns/?page_size=10")
    second = get(client, f"{API}towns/?page_size=10")
    assert not hit(first)
    assert hit(second)
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Content-Type"] == first["Content-Type"]


def test_a_cached_read_costs_one_query(django_assert_num_queries):
    client = Client()
    get(client, f"{API}towns/?page_size=50")
    # The data-state fingerprint, and the rate count (in PostgreSQL when no shared cache is
    # configured: CACHE_URL moves it to Redis).
    with django_assert_num_queries(2):
        assert hit(get(client, f"{API}towns/?page_size=50"))


def test_a_cached_read_still_answers_if_none_match_with_304():
    client = Client()
    etag = get(client, f"{API}regions/")["ETag"]
    response = client.get(f"{API}regions/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_formats_and_languages_are_cached_apart():
    client = Client()
    json_body = get(client, f"{API}towns/?page_size=5").content
    csv_body = get(client, f"{API}towns/?page_size=5&format=csv").content
    assert json_body != csv_body
    assert get(client, f"{API}towns/?page_size=5&format=csv").content == csv_body
    page = reverse("towns:typology")
    get(client, page)
    assert hit(get(client, page))
    assert not hit(get(client, f"/be{page}"))


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_an_api_write_is_read_back_at_once_at_every_level(personas, activity):
    path = f"{API}activities/{activity.pk}/"
    readers = {name: personas[name].api_client() for name in ("anonymous", "donor", "partner")}
    for client in readers.values():
        get(client, path)
        assert hit(get(client, path))
    response = (
        personas["researcher"]
        .api_client()
        .patch(path, {"title": "Cache check: renamed"}, content_type="application/json")
    )
    assert response.status_code == 200, response.content
    for name, client in readers.items():
        assert get(client, path).json()["title"] == "Cache check: renamed", name


def test_a_record_leaving_the_public_level_disappears_from_cached_reads(personas, activity):
    path = f"{API}activities/{activity.pk}/"
    anonymous, partner = Client(), personas["partner"].api_client()
    get(anonymous, path)
    get(partner, path)
    Activity.objects.filter(pk=activity.pk).update(access_level=AccessLevel.PARTNER)
    assert anonymous.get(path).status_code == 404
    assert get(partner, path).json()["id"] == activity.pk
    Activity.objects.filter(pk=activity.pk).update(access_level=AccessLevel.RESTRICTED)
    assert partner.get(path).status_code == 404


def test_a_partner_entry_is_never_served_to_the_public(personas):
    partner_only = Activity.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER, deleted_at=None
    ).first()
    if partner_only is None:
        partner_only = Activity.objects.filter(deleted_at=None).first()
        Activity.objects.filter(pk=partner_only.pk).update(
            state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER
        )
    path = f"{API}activities/?page_size=500"
    partner_ids = {a["id"] for a in get(personas["partner"].api_client(), path).json()["results"]}
    public_ids = {a["id"] for a in get(Client(), path).json()["results"]}
    assert partner_only.pk in partner_ids
    assert partner_only.pk not in public_ids


def test_research_reads_are_never_cached(personas):
    client = personas["researcher"].api_client()
    get(client, f"{API}towns/?page_size=5")
    assert not hit(get(client, f"{API}towns/?page_size=5"))


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_an_admin_save_is_read_back_at_once(personas, activity):
    from tests.towns.test_admin import admin_url, form_data

    path = f"{API}activities/{activity.pk}/"
    page = reverse("csos:list")
    get(Client(), path)
    get(Client(), page)
    researcher = personas["researcher"].client
    url = admin_url(Activity, "change", activity.pk)
    data = form_data(researcher.get(url))
    data["title"] = "Cache check: saved in the admin"
    data["_save"] = "Save"
    response = researcher.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert get(Client(), path).json()["title"] == "Cache check: saved in the admin"


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_an_import_is_read_back_at_once(researcher_user):
    town = Town.objects.get(slug="turau")
    path = f"{API}towns/{town.slug}/"
    get(Client(), path)
    assert hit(get(Client(), path))
    dataset = tablib.Dataset(
        [town.slug, str(town.geonames_id), "12345", "2024"],
        headers=["slug", "geonames_id", "population", "population_year"],
    )
    result = TownFactsResource().import_data(dataset, dry_run=False, user=researcher_user)
    assert not result.has_errors() and not result.invalid_rows
    assert get(Client(), path).json()["population"] == 12345


def test_a_raw_sql_write_is_read_back_at_once():
    town = Town.objects.get(slug="turau")
    path = f"{API}towns/{town.slug}/"
    get(Client(), path)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE towns_town SET population = 777 WHERE id = %s", [town.pk])
    assert get(Client(), path).json()["population"] == 777


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_a_page_is_cached_for_the_public_and_follows_writes(personas):
    town = Town.objects.get(slug="turau")
    page = reverse("towns:detail", args=[town.slug])
    first = get(Client(), page)
    second = get(Client(), page)
    assert hit(second) and second.content == first.content
    Town.objects.filter(pk=town.pk).update(name_en="Turau-Cachecheck")
    assert b"Turau-Cachecheck" in get(Client(), page).content
    # Signed-in viewers always get a fresh page.
    donor = personas["donor"].client
    get(donor, page)
    assert not hit(get(donor, page))


@pytest.mark.parametrize("timeout", [600, 0], ids=["cache on", "cache off"])
@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_a_public_page_is_revalidated_with_its_etag(personas, settings, timeout):
    """What a CDN in front needs: a tag, a 304 for it, and a new tag once the page changed."""
    settings.READ_CACHE_TIMEOUT = timeout
    town = Town.objects.get(slug="turau")
    page = reverse("towns:detail", args=[town.slug])
    first = get(Client(), page)
    etag = first["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    assert {"public", "no-cache"} <= {p.strip() for p in first["Cache-Control"].split(",")}
    assert "Accept-Language" in first["Vary"]
    again = Client().get(page, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    assert "no-cache" in again["Cache-Control"]
    Town.objects.filter(pk=town.pk).update(name_en="Turau-Etagcheck")
    changed = Client().get(page, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and b"Turau-Etagcheck" in changed.content
    assert changed["ETag"] != etag
    # A signed-in viewer's page may hold more than the public's: never kept by anyone.
    donor = get(personas["donor"].client, page)
    assert "ETag" not in donor and "no-store" in donor["Cache-Control"]


def test_public_pages_carry_no_csrf_token_or_cookie():
    """Pages shared through the cache must hold nothing of one visitor."""
    response = get(Client(), reverse("towns:home"))
    assert b"csrfmiddlewaretoken" not in response.content
    assert not response.cookies


def test_the_language_switch_is_a_plain_redirect():
    town = Town.objects.get(slug="turau")
    page = reverse("towns:detail", args=[town.slug])
    response = Client().get(reverse("switch-language"), {"language": "be", "next": page})
    assert response.status_code == 302
    assert response["Location"] == f"/be{page}"
    back = Client().get(reverse("switch-language"), {"language": "en", "next": f"/be{page}"})
    assert back["Location"] == page
    assert Client().get(reverse("switch-language"), {"language": "xx"}).status_code == 400
    away = Client().get(
        reverse("switch-language"), {"language": "ru", "next": "https://evil.example/"}
    )
    assert away["Location"] == "/ru/"


@override_settings(READ_CACHE_TIMEOUT=0)
def test_the_cache_can_be_turned_off():
    client = Client()
    get(client, f"{API}regions/")
    assert not hit(get(client, f"{API}regions/"))


def test_the_dummy_cache_turns_every_tier_off(settings):
    """READ_CACHE_URL=dummycache:// used to leave the per-worker copy answering (issue 19)."""
    from governance.cache import clear

    settings.CACHES = {
        **settings.CACHES,
        settings.READ_CACHE_ALIAS: {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.READ_CACHE_LOCAL_MB = 16
    clear()
    client = Client()
    get(client, f"{API}regions/")
    assert not hit(get(client, f"{API}regions/"))


def test_another_connections_commit_changes_the_fingerprint():
    """Across transactions the committed-writes sum retires entries: a writer's commit moves it
    (even one that wrote a row back unchanged), and nothing else does: not a read, not a
    statement that wrote no row."""
    before = data_state()
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other, other.cursor() as cursor:
            cursor.execute("SELECT 1 FROM towns_region LIMIT 1")
        assert data_state() == before, "a read-only transaction retired the cache"
        with other, other.cursor() as cursor:
            cursor.execute("UPDATE towns_region SET name_en = name_en WHERE false")
        assert data_state() == before, "a statement that wrote no row retired the cache"
        with other, other.cursor() as cursor:
            cursor.execute(WRITE_ONE_REGION)
            # Not yet committed: still the old state for everybody else.
            assert data_state() == before
        assert data_state() != before
    finally:
        other.close()


def test_a_write_in_this_transaction_changes_the_fingerprint():
    before = data_state()
    Town.objects.filter(slug="turau").update(population=1)
    middle = data_state()
    Town.objects.filter(slug="turau").update(population=2)
    assert len({before, middle, data_state()}) == 3


def test_a_cached_token_is_refused_at_once_when_revoked(personas):
    from django.utils import timezone

    from governance.models import ApiClient

    client = personas["partner"].api_client()
    get(client, f"{API}regions/")
    assert get(client, f"{API}regions/").status_code == 200
    ApiClient.objects.filter(user=personas["partner"].user).update(revoked_at=timezone.now())
    assert client.get(f"{API}regions/").status_code == 401


def test_a_cached_token_follows_a_role_change_at_once(personas):
    from django.contrib.auth.models import Group

    partner_only = Activity.objects.filter(deleted_at=None).first()
    Activity.objects.filter(pk=partner_only.pk).update(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER
    )
    path = f"{API}activities/{partner_only.pk}/"
    client = personas["partner"].api_client()
    assert get(client, path).json()["id"] == partner_only.pk
    personas["partner"].user.groups.remove(Group.objects.get(name="partner"))
    assert client.get(path).status_code == 404


def test_every_cached_channel_keeps_the_headers_that_describe_the_answer(personas):
    """A hit carries the headers that say what the body is, as the fresh answer did: the
    pages of a list their neighbours (``Link``), a chart's data whether it rests on synthetic
    records. Checked on the API's own cache (a signed-in session skips the short-cut) and on
    the pages' cache."""
    donor = personas["donor"].client
    path = f"{API}towns/?page_size=7&page=2"
    first = get(donor, path)
    second = get(donor, path)
    assert hit(second) and "Link" in first
    chart = "/towns/turau/data/balance.csv"
    fresh = get(Client(), chart)
    cached = get(Client(), chart)
    assert hit(cached) and "X-Derived-From-Synthetic" in fresh
    for name in ("Link", "X-Derived-From-Synthetic", "Content-Disposition", "Content-Type"):
        assert second.get(name) == first.get(name), name
        assert cached.get(name) == fresh.get(name), name


def test_the_shortcut_answers_with_the_same_headers(personas):
    """A repeated read answered before the middleware stack carries every header the full
    stack set (CSP, frame options, language, caching), and the same body."""
    for client in (Client(), personas["partner"].api_client()):
        first = get(client, f"{API}towns/?page_size=7")
        second = get(client, f"{API}towns/?page_size=7")
        third = get(client, f"{API}towns/?page_size=7")
        assert hit(third)
        assert third.content == first.content
        for name in ("Content-Type", "ETag", "Vary", "Content-Security-Policy", "X-Frame-Options"):
            assert third.get(name) == first.get(name), name
        assert second.get("Cache-Control") == third.get("Cache-Control")


def test_the_shortcut_still_throttles(settings):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from django.core.cache import cache

    cache.clear()
    client = Client(REMOTE_ADDR="203.0.113.9")
    inside_one_window(needed=10)
    statuses = [client.get(f"{API}regions/").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    refused = client.get(f"{API}regions/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    cache.clear()


#: A statement that writes one row (back as it was): it counts.
WRITE_ONE_REGION = (
    "UPDATE towns_region SET name_en = name_en WHERE id = (SELECT min(id) FROM towns_region)"
)


def _committed_sum() -> int:
    return int(data_state().split("/")[-3])


@pytest.mark.parametrize("slow_writer_folds", [False, True], ids=["slow-writes", "slow-folds"])
def test_folding_keeps_the_sum_exact_and_the_table_small(slow_writer_folds):
    """Every committed writer adds exactly one, also across folds (every 20th writer folds the
    rows it sees), and a writer still running when a fold happens is counted when it commits.
    The second case makes the slow writer itself a folder (its row's id a multiple of 20): the
    other writers must still fold around the rows it holds (a CI run once had 62 rows when an
    exclusive fold lock stayed with a folder whose transaction stayed open)."""
    writer = psycopg2.connect(**connection.get_connection_params())
    slow = psycopg2.connect(**connection.get_connection_params())
    try:
        with writer, writer.cursor() as cursor:
            cursor.execute("SELECT last_value FROM atlas_data_writes_id_seq")
            (last,) = cursor.fetchone()
            following = last + 1
            if slow_writer_folds != (following % 20 == 0):
                target = (following // 20 + 1) * 20 if slow_writer_folds else following + 1
                cursor.execute("SELECT setval('atlas_data_writes_id_seq', %s)", [target - 1])
        start = _committed_sum()
        with slow.cursor() as cursor:  # opens a transaction that writes and stays open
            # Another row than the writer's: the writer must not wait for this row's lock.
            cursor.execute(WRITE_ONE_REGION.replace("min(id)", "max(id)"))
        for n in range(1, 61):
            with writer, writer.cursor() as cursor:
                cursor.execute(WRITE_ONE_REGION)
            assert _committed_sum() == start + n
        slow.commit()
        assert _committed_sum() == start + 61
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM atlas_data_writes")
            (rows,) = cursor.fetchone()
        assert rows <= 25, rows
    finally:
        writer.close()
        slow.close()


def test_a_new_release_of_the_code_does_not_serve_the_old_releases_pages(tmp_path, settings):
    """The key holds the release of the code: a changed template, translation or module gives
    every page a new key, so a deployment never answers with what its predecessor rendered
    (the data state alone would call the page unchanged)."""
    from governance import cache

    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("old")
    settings.BASE_DIR = tmp_path
    before = cache._code_fingerprint()
    assert cache._code_fingerprint() == before  # stable while nothing changes
    page.write_text("a new release")
    after = cache._code_fingerprint()
    assert after != before

    settings.DEBUG = False
    cache._release.cache_clear()
    key = cache.cache_key("page", level="public", path="/", state="s1")
    page.write_text("the release after")
    cache._release.cache_clear()  # a new process: the release is read once per process
    assert cache.cache_key("page", level="public", path="/", state="s1") != key
    cache._release.cache_clear()
