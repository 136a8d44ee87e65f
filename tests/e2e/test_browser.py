"""The atlas in a real browser: the map, a town dashboard, compare, the language switch, and
what an anonymous visitor may never see. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_clean, screenshot

pytestmark = pytest.mark.e2e

CASE_TOWNS = ("pastavy", "hlybokaye", "olshany")


def visible_markers(page) -> int:
    """Town markers on the map: the totals of the clusters plus the single circles."""
    return page.evaluate(
        """() => {
          const clusters = [...document.querySelectorAll('#map .marker-cluster span')]
            .reduce((n, el) => n + parseInt(el.textContent, 10), 0);
          const singles = document.querySelectorAll('#map .town-marker').length;
          return clusters + singles;
        }"""
    )


def wait_for_map(page) -> None:
    page.wait_for_selector("#map[data-visible]")
    page.wait_for_load_state("networkidle")
    # Cluster icons are redrawn after the zoom to the outline; wait until the count is stable.
    page.wait_for_function(
        "() => { const m = document.querySelector('#map');"
        " return !m.classList.contains('leaflet-zoom-anim'); }"
    )
    page.wait_for_timeout(400)


def canvases_drawn(page) -> list[tuple[str, bool]]:
    """Each chart canvas and whether any of its pixels is painted."""
    return page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map((c) => {
          const ctx = c.getContext('2d');
          const data = ctx.getImageData(0, 0, c.width, c.height).data;
          let painted = false;
          for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted = true; break; } }
          return [c.id, painted && c.width > 0 && c.height > 0];
        })"""
    )


def test_map_shows_every_town_and_filters_change_the_markers(page, live_url):
    from towns.models import Town

    total = Town.objects.count()
    brest = Town.objects.filter(region__slug="brest").count()
    corporate = Town.objects.filter(typology="outside_corporate").count()

    page.goto(live_url + "/")
    wait_for_map(page)
    assert page.get_attribute("#map", "data-visible") == str(total)
    assert visible_markers(page) == total
    assert page.locator("[data-town-list] tbody tr").count() == total
    assert page.locator(".leaflet-overlay-pane path").count() >= 1  # the country outline
    screenshot(page, "map-home")

    page.select_option("#region", "brest")
    wait_for_map(page)
    assert visible_markers(page) == brest
    assert page.locator("[data-town-list] tbody tr").count() == brest
    assert "region=brest" in page.url
    assert page.text_content("[data-count]").strip().endswith(str(brest))

    page.select_option("#region", "")
    page.select_option("#typology", "outside_corporate")
    wait_for_map(page)
    assert visible_markers(page) == corporate

    # The URL keeps the filters: opening it again shows the same view.
    shared = page.url
    page.goto(shared)
    wait_for_map(page)
    assert page.input_value("#typology") == "outside_corporate"
    assert visible_markers(page) == corporate
    screenshot(page, "map-filtered")

    # Sorting the list by population puts the largest town first.
    page.goto(live_url + "/")
    wait_for_map(page)
    page.click("th[data-sort=population] button")
    first = page.text_content("[data-town-list] tbody tr:first-child td:first-child")
    assert first.strip() == Town.objects.order_by("-population").first().name_en
    assert_clean(page)


def focused(page) -> dict:
    """What has the keyboard focus: its classes, accessible name and text."""
    return page.evaluate(
        """() => { const el = document.activeElement;
          return { cls: el.className && el.className.baseVal === undefined ? el.className : '',
                   label: el.getAttribute('aria-label') || '', text: el.textContent,
                   role: el.getAttribute('role') || '', tag: el.tagName }; }"""
    )


def test_map_markers_work_with_the_keyboard(page, live_url):
    """Tab reaches a cluster or a town; Enter on a cluster zooms in and moves the focus into it;
    Enter on a town opens its details with the focus on its link; Escape returns to the town;
    Enter on the link opens the town's dashboard. Every marker has a name with its type."""
    from towns.models import Town

    page.goto(live_url + "/?region=vitebsk")
    wait_for_map(page)
    labels = page.eval_on_selector_all(
        "#map .town-marker, #map .town-cluster", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert labels and all(labels), labels
    roles = page.eval_on_selector_all(
        "#map .town-marker, #map .town-cluster",
        "els => els.map(e => [e.getAttribute('role'), e.tabIndex])",
    )
    assert all(role == "button" and tab == 0 for role, tab in roles), roles
    singles = page.eval_on_selector_all(
        "#map .town-marker", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    typology_labels = {str(label) for _v, label in Town._meta.get_field("typology").choices}
    assert all(any(t in label for t in typology_labels) for label in singles), singles

    page.focus("#map")
    page.keyboard.press("Tab")
    now = focused(page)
    assert "town-marker" in now["cls"] or "town-cluster" in now["cls"], now
    for _zoom in range(8):  # Enter on clusters until a single town has the focus
        if "town-marker" in now["cls"]:
            break
        assert "Enter zooms in" in now["label"], now
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.activeElement.classList.contains('town-marker')"
            " || document.activeElement.classList.contains('town-cluster')"
        )
        page.wait_for_timeout(300)
        now = focused(page)
    assert "town-marker" in now["cls"], now
    name = now["label"].split(":")[0]
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup [data-popup-link]")
    assert page.evaluate("document.activeElement.hasAttribute('data-popup-link')")
    assert focused(page)["text"] == name
    page.keyboard.press("Escape")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert focused(page)["label"].startswith(name + ":")
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup [data-popup-link]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/towns/" in page.url
    assert page.text_content("h1").strip().startswith(name)
    assert_clean(page)


def test_map_shapes_and_legend_tell_the_type_without_colour(page, live_url):
    """Each type has its own shape on the map, in the list and in the legend."""
    page.goto(live_url + "/?cso=yes")
    wait_for_map(page)
    legend = page.eval_on_selector_all(
        ".legend li", "els => els.map(e => e.querySelector('svg g').innerHTML)"
    )
    assert len(legend) == len(set(legend)) == 7
    listed = page.eval_on_selector_all(
        "[data-town-list] tbody td:nth-child(3) svg g", "els => els.map(e => e.innerHTML)"
    )
    assert listed and set(listed) <= set(legend)
    screenshot(page, "map-with-cso-data")
    assert_clean(page)


def test_town_dashboard_draws_every_section_without_errors(page, live_url):
    page.goto(live_url + "/towns/pastavy/")
    page.wait_for_load_state("networkidle")
    for section in ("facts", "who", "what", "gap", "sources", "downloads"):
        assert page.locator(f"[data-section={section}]").count() == 1, section
    assert page.locator(".panel-civil-society").count() == 1
    # Sections are folded under the summary; the charts draw once their section opens.
    page.evaluate("document.querySelectorAll('details.fold').forEach((d) => { d.open = true; })")
    page.wait_for_timeout(800)
    drawn = canvases_drawn(page)
    keys = {key for key, _painted in drawn}
    assert {"chart-balance", "chart-activities", "chart-indicator-population"} <= keys
    assert all(painted for _key, painted in drawn), [k for k, p in drawn if not p]
    assert int(page.get_attribute("[data-network]", "data-drawn")) > 1
    assert page.locator("[data-network] canvas").count() >= 1
    assert page.locator(".synthetic-badge").count() >= 1
    assert_clean(page)
    screenshot(page, "town-pastavy")

    page.emulate_media(media="print")
    assert page.locator(".site-header nav").is_hidden()
    screenshot(page, "town-pastavy-print")

    # A phone: the dashboard still fits the screen width.
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    screenshot(page, "town-pastavy-phone")


def test_compare_three_towns(page, live_url):
    page.goto(live_url + "/compare/")
    page.select_option("#town-1", "pastavy")
    page.select_option("#town-2", "hlybokaye")
    page.select_option("#town-3", "olshany")
    page.click(".compare-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert re.search(r"towns=pastavy.*towns=hlybokaye.*towns=olshany", page.url)
    headers = page.locator("section[data-section=measures] thead th").all_text_contents()
    assert [h.strip() for h in headers[1:]] == ["Pastavy", "Hlybokaye", "Olshany"]
    # Summaries and key measures open; the rest folded like a town's page.
    closed = page.eval_on_selector_all("details.fold:not([open])", "els => els.length")
    assert closed == 5, closed
    page.evaluate("document.querySelectorAll('details.fold').forEach((d) => { d.open = true; })")
    page.wait_for_timeout(800)
    drawn = canvases_drawn(page)
    assert drawn and all(painted for _key, painted in drawn)
    keys = {key for key, _painted in drawn}
    gauges = {f"chart-balance-{slug}" for slug in ("pastavy", "hlybokaye", "olshany")}
    assert gauges | {"chart-balance", "chart-activities"} <= keys, keys
    # Each town's network of groups and posts and its network of CSOs, drawn side by side,
    # each with its data table.
    networks = page.locator("[data-compare=networks] figure")
    assert networks.count() == 3
    for i in range(3):
        figure = networks.nth(i)
        if figure.locator("[data-network]").count():
            assert int(figure.locator("[data-network]").get_attribute("data-drawn")) > 1
            assert figure.locator("[data-network] canvas").count() >= 1
        assert figure.locator(".chart-table table").count() == 1
    drawn_networks = page.locator("[data-compare=networks] [data-network][data-drawn]").count()
    assert drawn_networks >= 2
    assert page.locator("[data-compare=csos] [data-compare-csos]").count() == 3
    assert page.locator("[data-compare=csos] [data-network][data-drawn]").count() >= 2
    assert_clean(page)
    screenshot(page, "compare-three")

    page.goto(live_url + "/compare/?towns=pastavy")
    assert "Choose between 2 and 4" in page.text_content("[data-compare-error]")


def test_language_switch_changes_the_interface(page, live_url):
    page.goto(live_url + "/towns/hlybokaye/")
    english_nav = page.text_content(".site-header nav")
    page.select_option("#language-select", "be")
    with page.expect_navigation():
        page.click(".lang button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/be/towns/hlybokaye/" in page.url
    assert page.get_attribute("html", "lang") == "be"
    assert page.text_content("h1").strip().startswith("Глыбокае")
    belarusian_nav = page.text_content(".site-header nav")
    assert belarusian_nav != english_nav
    assert "Мапа" in belarusian_nav
    screenshot(page, "town-hlybokaye-be")

    page.select_option("#language-select", "ru")
    with page.expect_navigation():
        page.click(".lang button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/ru/towns/hlybokaye/" in page.url
    assert "Карта" in page.text_content(".site-header nav")
    assert_clean(page)


def restricted_names() -> set[str]:
    """Every name an anonymous visitor may not see: persons whose names are not public, and
    the records (groups, CSOs) hidden from the public."""
    from csos.models import CSO
    from towns.models import InfluenceGroup, Person

    names: set[str] = set()
    for person in Person.objects.exclude(names_access_level="public"):
        names |= {person.name_en, person.name_be, person.name_ru}
    public_groups = InfluenceGroup.objects.visible_to(None)
    for group in InfluenceGroup.objects.exclude(pk__in=public_groups):
        names |= {group.name_en, group.name_be, group.name_ru}
    for cso in CSO.objects.exclude(pk__in=CSO.objects.visible_to(None)):
        names |= {cso.name_en, cso.name_be, cso.name_ru}
    return {n for n in names if n}


def test_anonymous_visitor_sees_no_restricted_name_anywhere(page, live_url):
    from csos.models import CSO
    from towns.models import Influence

    names = restricted_names()
    assert names, "the demo data has restricted names to look for"
    towns = sorted(set(Influence.objects.values_list("town__slug", flat=True)))
    paths = ["/", "/typology/", "/csos/", "/compare/?towns=" + ",".join(CASE_TOWNS)]
    paths += [f"/towns/{slug}/" for slug in towns]
    # The CSOs of the case towns: the ones with leaders, links and cases behind them (the
    # demo's scale CSOs carry no names).
    csos = CSO.objects.visible_to(None).filter(towns__slug__in=towns).distinct()
    paths += [f"/csos/{slug}/" for slug in csos.values_list("slug", flat=True)]
    lists = paths[:4] + ["/ru" + p for p in paths[:4]]
    # The lists are opened and drawn (their scripts add the map's and charts' text); every
    # detail page's HTML, its json_script data included, is read through the browser's own
    # request context, which keeps the module fast: the names to find are the same.
    for path in paths:
        if path in lists:
            continue
        response = page.request.get(live_url + path)
        assert response.status == 200, path
        leaked = [n for n in names if n in response.text()]
        assert leaked == [], (path, leaked)
    for path in lists:
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        content = page.content()
        leaked = [n for n in names if n in content]
        assert leaked == [], (path, leaked)
        screenshot(
            page,
            "anonymous-" + (path.split("?")[0].strip("/").replace("/", "-") or "home"),
            full_page=not path.startswith("/ru/"),
        )
    assert_clean(page)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Лепель", "Friends of Lake Lepel (demo)"),  # Cyrillic; the CSO's name is Latin only
        ("Lepiel", "BRSM district branch (Lepel)"),  # Łacinka; its other name is Cyrillic
        ("Поставская", "BRSM district branch (Postavy)"),
    ],
)
def test_cso_directory_finds_any_spelling(page, live_url, query, expected):
    page.goto(live_url + "/csos/")
    page.fill("#q", query)
    with page.expect_navigation():
        page.press("#q", "Enter")
    names = [n.strip() for n in page.locator("table tbody td:first-child a").all_text_contents()]
    assert expected in names, (query, names)
    assert f"q={query}" in page.url or "q=" in page.url
    assert_clean(page)


def test_every_page_without_errors_on_a_phone_and_a_desktop(page, live_url):
    """Each kind of page: no console error, no CSP violation, no failed request, no sideways
    scrolling on a phone, and a screenshot of each."""
    from csos.models import CSO

    cso = CSO.objects.visible_to(None).filter(towns__slug="pastavy").order_by("slug").first()
    pages = {
        "home": "/",
        "compare-empty": "/compare/",
        "compare-four": "/compare/?towns=pastavy,hlybokaye,olshany,turau",
        "csos": "/csos/?region=vitebsk",
        "cso": f"/csos/{cso.slug}/",
        "typology-be": "/be/typology/",
        "csos-ru": "/ru/csos/",
    }
    for name, path in pages.items():
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1, path
        screenshot(page, f"page-{name}")
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(150)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
        screenshot(page, f"page-{name}-phone", full_page=False)
    assert_clean(page)


def test_map_tooltips_are_text_and_labels_mark_synthetic_typologies(page, live_url):
    """Issue 15: the map's tooltips are built from DOM text nodes (never an HTML string given
    to Leaflet); hovering a town shows its name as plain text. Issue 16: a marker whose town's
    typology rests on a synthetic claim says so in its accessible name."""
    from towns.models import Town

    page.goto(live_url + "/?region=vitebsk")
    wait_for_map(page)
    marker = page.locator("#map .town-marker").first
    label = marker.get_attribute("aria-label")
    marker.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    name = tooltip.inner_text().strip()
    assert name and label.startswith(name), (name, label)
    # Exactly one text-only span inside: no markup came from data.
    assert tooltip.evaluate("t => t.querySelectorAll('*').length") == 1
    assert tooltip.evaluate("t => t.firstElementChild.children.length") == 0

    synthetic = set(
        Town.objects.filter(region__slug="vitebsk", aggregates_synthetic=True).values_list(
            "name_en", flat=True
        )
    )
    singles = page.eval_on_selector_all(
        "#map .town-marker", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    for text in singles:
        town = text.split(":")[0]
        assert ("synthetic" in text) == (town in synthetic), text
    assert_clean(page)
