"""Browser tests: Playwright driving Debian's chromium against a live server with demo data.

The server is Django's LiveServerThread on the session's test database, which already holds
the demo data (tests/conftest.py loads it once). pytest-django's ``live_server`` is not used:
it makes every test transactional, and the flush after each test would wipe the demo data for
the rest of the session. Their server commits what it writes (kept profiles, sessions, a
profile published in the browser), so these tests run after every other test of their worker
(tests/conftest.py), and what the server kept is deleted after each of them.

Static files are served by whitenoise from the collected, hashed files, as in production.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test.testcases import LiveServerThread

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def e2e_server(django_db_setup, django_db_blocker, collected_static):
    """The atlas served on localhost (a secure context for the browser, so the CSRF cookie of
    the language form is kept) by a thread that shares the session's test database."""
    with django_db_blocker.unblock():
        # No static handler of the test runner: whitenoise serves the manifest's hashed files.
        thread = LiveServerThread("localhost", static_handler=lambda app: app, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        try:
            yield f"http://localhost:{thread.port}"
        finally:
            thread.terminate()


@pytest.fixture
def live_url(e2e_server, django_db_blocker):
    """The server's base URL, with database access open while the test runs (its thread and
    the test's own checks read the demo data)."""
    with django_db_blocker.unblock():
        yield e2e_server


#: What the server keeps as it answers and commits (it does not run in a test's transaction):
#: a town's profile as its first reader keeps it, documents, rate counts. None holds data of
#: its own, and the demo data has none.
SERVER_KEPT = ("towns_keptprofile", "towns_keptdocument", "governance_ratecounter")


@pytest.fixture(autouse=True)
def forget_what_the_server_kept(django_db_blocker):
    """After each browser test, delete what the server kept (:data:`SERVER_KEPT`), so that the
    next browser test starts from the demo data's state as the other tests do."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for table in SERVER_KEPT:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (our table names)


@pytest.fixture(scope="session")
def browser(e2e_server):
    """Chromium, started after the database is set up. Playwright's sync API keeps an event
    loop in this thread, which makes Django refuse ORM calls from it; the tests' own reads of
    the demo data are synchronous and safe, so they are allowed for the browser's lifetime."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageProblems:
    """Console errors, uncaught exceptions, CSP violations and failed requests of a page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "requestfailed",
            lambda req: self.errors.append(f"requestfailed: {req.url} {req.failure}"),
        )
        page.on(
            "response",
            lambda res: (
                self.errors.append(f"HTTP {res.status}: {res.url}") if res.status >= 400 else None
            ),
        )


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.problems = PageProblems(page)
    # A CSP violation also lands in the console; this makes it explicit and countable.
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield page
    context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of the page under test-artifacts/ (the whole page unless ``full_page=False``:
    the visible screen only, much cheaper for long pages)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def assert_clean(page) -> None:
    """No console error, no uncaught exception, no failed request, no CSP violation."""
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert page.problems.errors == [], page.problems.errors
