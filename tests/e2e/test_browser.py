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
          const singles = document.querySelectorAll('#map path.leaflet-interactive').length;
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


def test_town_dashboard_draws_every_section_without_errors(page, live_url):
    page.goto(live_url + "/towns/pastavy/")
    page.wait_for_load_state("networkidle")
    for section in ("facts", "who", "what", "gap", "sources", "downloads"):
        assert page.locator(f"[data-section={section}]").count() == 1, section
    assert page.locator(".panel-civil-society").count() == 1
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
    drawn = canvases_drawn(page)
    assert drawn and all(painted for _key, painted in drawn)
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
    lists = paths[:4]
    for path in paths + ["/ru" + p for p in lists]:
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        content = page.content()
        leaked = [n for n in names if n in content]
        assert leaked == [], (path, leaked)
        if path in lists:
            screenshot(page, "anonymous-" + (path.split("?")[0].strip("/") or "home"))
    assert_clean(page)
