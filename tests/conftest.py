"""Shared fixtures. The test database is PostgreSQL (the embedded server unless DATABASE_URL)."""

import pytest
from django.core.management import call_command

pytest_plugins = ["tests.personas"]


@pytest.fixture(scope="session", autouse=True)
def collected_static():
    """Pages render with the production static storage (hashed names from a manifest)."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Django's advice for test speed: a cheap hasher. PBKDF2 at Django's 1,000,000 iterations
    costs 0.4 s per password on the CI machine, and the suite makes hundreds of accounts.
    Production keeps the settings' hashers (``make deploy-check`` runs with them)."""
    from django.test.utils import override_settings

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


def warm_like_a_server() -> None:
    """Do what a server's process does once, on its first request, so that a query-count test
    counts a request as every later one is served, whichever test its process ran first
    (three such tests failed when run alone, counting this):

    * whether PostgreSQL knows the time zone the rendered lists write times in
      (``governance.api.rendered.zone_known``, asked once per process);
    * whether any public record is synthetic, for the demonstration banner
      (``towns.context_processors``, asked once per process and data state: here the demo
      data's, the state of every test that writes nothing).

    Reads only: nothing is written to the test database.
    """
    from django.conf import settings
    from django.test import RequestFactory

    from governance.api.rendered import zone_known
    from towns.context_processors import public_synthetic_exists_for

    zone_known(settings.TIME_ZONE)
    public_synthetic_exists_for(RequestFactory().get("/"))


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_modify_db_settings, django_db_blocker):
    """The test database: migrated, with the real demo data, cloned from the template database
    of this code (tests/dbtemplate.py: built once, not once per worker and run). Each test then
    runs in a transaction rolled back after it."""
    from django.conf import settings
    from django.db import connections

    from tests import dbtemplate

    connection = connections["default"]
    name = connection.creation._get_test_db_name()  # test_atlas, or test_atlas_gw0 ...
    with django_db_blocker.unblock():
        template = dbtemplate.ensure_template(log=lambda line: None)
        connection.close()
        dbtemplate.clone(template, name)
        settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
        for alias in connections:  # a replica alias reads the test database it mirrors
            mirror = connections[alias].settings_dict.get("TEST", {}).get("MIRROR")
            if mirror:
                connections[alias].creation.set_as_test_mirror(connections[mirror].settings_dict)
        connection.ensure_connection()
        warm_like_a_server()
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        dbtemplate.drop(name)


@pytest.fixture
def researcher_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="researcher", email="r@example.org", password="a-long-test-password-1"
    )


@pytest.fixture
def admin_client_logged(client, researcher_user):
    client.force_login(researcher_user)
    return client


@pytest.fixture
def writes_without_review():
    """Write published and reference records directly, as an approved change does.

    For tests of other mechanisms (versions, history, caches, imports) that edit published
    records: the review of changes itself is tested in tests/governance/test_revisions.py.
    """
    from governance.revisions import direct_writes

    with direct_writes("test"):
        yield


@pytest.fixture(autouse=True)
def empty_read_cache():
    """Each test starts with an empty read cache (governance/cache.py): a test that reads a
    page's template context needs the page rendered, not served from an earlier test."""
    from governance.cache import clear

    clear()


@pytest.fixture(autouse=True)
def english_by_default():
    """A request under /be/ or /ru/ leaves its language active in the thread; start in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def commit():
    """Run one statement on a connection of its own and commit it (the test's transaction is
    never committed, and inside a writing transaction nothing is shared with other readers);
    ``revert`` is run the same way once the test is over."""
    import psycopg2
    from django.db import connection

    other = psycopg2.connect(**connection.get_connection_params())
    undo: list[tuple[str, list]] = []

    def run(sql: str, params=(), *, revert: tuple[str, list] | None = None) -> None:
        with other, other.cursor() as cursor:
            cursor.execute(sql, list(params))
        if revert:
            undo.append(revert)

    yield run
    try:
        for sql, params in reversed(undo):
            with other, other.cursor() as cursor:
                cursor.execute(sql, params)
    finally:
        other.close()


def pytest_collection_modifyitems(items):
    """Refuse transactional tests: their flush empties the session's database, and every
    test after them on the same worker (the browser tests above all) would find no demo data.
    A test that needs committed rows writes them on a connection of its own (a thread) and
    removes them afterwards (tests/governance/test_concurrency.py, test_regional_stats.py)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        if (
            (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
            or "transactional_db" in fixtures
            or "live_server" in fixtures
        ):
            raise pytest.UsageError(
                f"{item.nodeid} is transactional: its flush would wipe the demo data "
                "the rest of the session reads (see tests/conftest.py)"
            )
    # The browser tests last. Their server is a thread of the worker on its database, outside
    # any test's transaction, so what it writes is committed: a profile kept by its first
    # reader, a researcher's session, a town profile published in the browser. A test run
    # after them on the same worker found six kept profiles where it expected none. xdist
    # hands each worker its tests in this order, so on every worker they come after the rest.
    items[:] = sorted(items, key=lambda item: item.nodeid.startswith("tests/e2e/"))
