"""The public pages as a donor meets them, measured in a real browser: axe-core on every page in
every language, the height of a dashboard with its sections folded, overflow on a 390 px phone,
the number of A4 pages a dashboard prints to. Screenshots at 1,366 and 390 px go to
test-artifacts/, the figures to test-artifacts/donor-figures.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, screenshot

# django_db: makes pytest-django set up the test database even when only these tests run
# (without a test that asks for the database, the session would read and load the demo data
# into the development database).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
LANGUAGES = ("", "/be", "/ru")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
TOWN = "pastavy"


def public_pages() -> list[tuple[str, str]]:
    """(name, path) of every kind of public page: the CSO page is the first public CSO."""
    from django.contrib.auth.models import AnonymousUser

    from csos.models import CSO

    cso = CSO.objects.visible_to(AnonymousUser()).order_by("slug").first()
    return [
        ("home", "/"),
        ("town", f"/towns/{TOWN}/"),
        ("compare", f"/compare/?towns={TOWN},hlybokaye"),
        ("typology", "/typology/"),
        ("csos", "/csos/"),
        ("cso", f"/csos/{cso.slug}/"),
        ("404", "/no-such-page/"),
    ]


def open_page(browser, viewport: dict, *, locale: str = "en-GB"):
    """A fresh page of the given size with axe-core preloaded (an init script is injected by
    the browser itself, so the pages' Content Security Policy does not block it)."""
    context = browser.new_context(viewport=viewport, locale=locale)
    context.add_init_script(path=str(AXE))
    return context, context.new_page()


def visit(page, url: str) -> None:
    """Open ``url`` and wait until its scripts have drawn (charts, map, networks); a page that
    fails to render is a failure here, not a page to measure."""
    response = page.goto(url)
    expected = 404 if "/no-such-page/" in url else 200
    assert response.status == expected, f"{url}: HTTP {response.status}"
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def axe_violations(page) -> list[dict]:
    """Every axe-core violation of the page (WCAG 2.x A/AA and best practices), as
    ``{id, impact, nodes: [selector...]}``."""
    return page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )


def page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def overflow(page) -> int:
    """How many pixels the page is wider than the screen (0: no sideways scroll)."""
    return page.evaluate(
        "Math.max(0, document.documentElement.scrollWidth - document.documentElement.clientWidth)"
    )


def print_pages(page, name: str) -> int:
    """Pages of the A4 PDF the browser prints (saved as test-artifacts/<name>.pdf): one
    ``/Type /Page`` object per page."""
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    page.emulate_media(media="screen")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def record(figures: dict) -> None:
    """Merge ``figures`` into test-artifacts/donor-figures.json (the report quotes them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "donor-figures.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(figures)
    path.write_text(json.dumps(known, indent=2, sort_keys=True))


def test_axe_finds_no_violation_on_any_public_page_in_any_language(browser, live_url):
    """axe-core on 7 kinds of page × 3 languages; the test fails on any violation of any impact
    and lists them all at once."""
    found: dict[str, list[dict]] = {}
    context, page = open_page(browser, DESKTOP)
    try:
        for prefix in LANGUAGES:
            for name, path in public_pages():
                visit(page, live_url + prefix + path)
                violations = axe_violations(page)
                if violations:
                    found[f"{prefix or '/en'} {name}"] = violations
    finally:
        context.close()
    record({"axe": {page: [v["id"] for v in vs] for page, vs in found.items()}})
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


def summary_bottom(page) -> int:
    """Where the dashboard's summary ends, in page pixels from the top."""
    return page.evaluate(
        "(() => { const r = document.querySelector('[data-summary]').getBoundingClientRect();"
        " return Math.ceil(r.bottom + window.scrollY); })()"
    )


def unfold_all(page) -> None:
    """Open every folded section, as a reader who wants everything on paper does, and let the
    charts and graphs draw into their new room."""
    page.evaluate("document.querySelectorAll('details.fold').forEach((d) => { d.open = true; })")
    page.wait_for_timeout(800)


def test_dashboard_measures_on_desktop_phone_and_paper(browser, live_url):
    """A town dashboard opens with a summary that fits a 1,366 × 768 screen and two phone
    screens, is under 6,000 px tall on a desktop with its sections folded, prints as it opens
    (summary, folded sections as headings) in at most 8 A4 pages, and no public page scrolls
    sideways on a phone. With every section unfolded it still prints on at most 8 A4 pages
    (14 before the print style packed it)."""
    figures = {}
    context, page = open_page(browser, DESKTOP)
    try:
        for name, path in public_pages():
            visit(page, live_url + path)
            figures[f"{name}_desktop_height"] = page_height(page)
        visit(page, f"{live_url}/towns/{TOWN}/")
        figures["town_summary_desktop_bottom"] = summary_bottom(page)
        screenshot(page, "donor-town-1366", full_page=False)
        screenshot(page, "donor-town-1366-folded")
        figures["town_print_pages_folded"] = print_pages(page, "town-print-folded")
        unfold_all(page)
        figures["town_desktop_height_unfolded"] = page_height(page)
        figures["town_print_pages"] = print_pages(page, "town-print")
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 680, "height": 1000})  # A4 less the page margins
        figures["town_print_blocks"] = page.evaluate(
            """[...document.querySelectorAll('main > *')].map((el) =>
              (el.dataset.fold || el.dataset.section || el.className || el.tagName) + ' '
              + Math.round(el.getBoundingClientRect().height))"""
        )
        page.emulate_media(media="screen")
        visit(page, f"{live_url}/compare/?towns={TOWN},hlybokaye")
        first = page.evaluate("document.querySelector('main section').dataset.section")
        figures["compare_first_section"] = first
        screenshot(page, "donor-compare-1366", full_page=False)
    finally:
        context.close()

    context, page = open_page(browser, PHONE)
    try:
        for name, path in public_pages():
            visit(page, live_url + path)
            figures[f"{name}_phone_height"] = page_height(page)
            figures[f"{name}_phone_overflow"] = overflow(page)
            screenshot(page, f"donor-{name}-390", full_page=False)
        visit(page, f"{live_url}/towns/{TOWN}/")
        figures["town_summary_phone_bottom"] = summary_bottom(page)
    finally:
        context.close()
    record(figures)
    print(json.dumps(figures, indent=1))  # noqa: T201 (the figures in the test log)

    overflowing = {k: v for k, v in figures.items() if k.endswith("_overflow") and v > 0}
    assert overflowing == {}, overflowing
    assert figures["town_summary_desktop_bottom"] <= DESKTOP["height"], figures
    assert figures["town_summary_phone_bottom"] <= 2 * PHONE["height"], figures
    assert figures["town_desktop_height"] < 6000, figures
    assert figures["compare_desktop_height"] < 6000, figures  # was 18,625 px unfolded
    assert figures["town_print_pages_folded"] <= 8, figures
    assert figures["town_print_pages"] > figures["town_print_pages_folded"], figures
    assert figures["town_print_pages"] <= 8, figures  # every section unfolded
    assert figures["compare_first_section"] == "summaries", figures


def test_a_summary_link_opens_its_folded_section(browser, live_url):
    """Each statement of the summary links to its section; following the link unfolds it."""
    context, page = open_page(browser, DESKTOP)
    try:
        visit(page, f"{live_url}/towns/{TOWN}/")
        items = page.eval_on_selector_all("[data-summary-item]", "els => els.length")
        assert items == 6
        assert page.evaluate("document.querySelector('details[data-fold=gap]').open") is False
        page.click("[data-summary-item=gap] a")
        page.wait_for_function("document.querySelector('details[data-fold=gap]').open")
        assert page.is_visible("#gap-h")
        # Keyboard: a folded section opens with Enter on its summary.
        page.focus("details[data-fold=what] > summary")
        page.keyboard.press("Enter")
        assert page.evaluate("document.querySelector('details[data-fold=what]').open") is True
    finally:
        context.close()


def test_the_appointments_timeline_spans_the_years_of_the_posts(browser, live_url):
    """The appointments chart's bars float from a start year to an end year: its axis starts
    near the first appointment, not at year 0 (where a bar chart's value axis starts unless
    told otherwise, squeezing every bar against the right edge)."""
    context, page = open_page(browser, DESKTOP)
    try:
        visit(page, f"{live_url}/towns/{TOWN}/")
        page.evaluate("document.querySelector('details.fold[data-fold=who]').open = true")
        page.wait_for_timeout(500)
        axis = page.evaluate(
            """(() => { const c = document.querySelector('figure.chart-timeline canvas');
                 const x = Chart.getChart(c).scales.x; return [x.min, x.max]; })()"""
        )
    finally:
        context.close()
    assert 1990 <= axis[0] < axis[1] <= 2100, axis
