"""The society section of a town in a real browser: mechanisms, engagement, ways of life and
the communication sites on their map, without errors, and nothing restricted for the public."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_clean, screenshot
from towns.models import CommunicationSite

pytestmark = pytest.mark.e2e


def test_town_society_section_and_sites_map(page, live_url):
    page.goto(live_url + "/towns/pastavy/")
    page.wait_for_load_state("networkidle")
    section = page.locator("[data-section=society]")
    assert section.count() == 1
    # The section is folded like the others, and listed in the page's contents; its link
    # opens it, and only then is the map drawn (a map in a closed box would have no size).
    assert page.locator("[data-sites-map][data-ready]").count() == 0
    page.click("nav.toc a[href='#society-h']")
    page.wait_for_function("document.querySelector('details[data-fold=society]').open")
    assert page.locator("[data-section=who] [data-section=mechanisms]").count() == 1
    assert "engaged" in section.locator(".verdict").inner_text()
    assert section.locator("table").count() >= 4

    # The map holds exactly the places whose coordinates the public may see.
    page.wait_for_selector("[data-sites-map][data-ready]")
    public_points = CommunicationSite.objects.visible_to(None).filter(
        town__slug="pastavy", latitude__isnull=False, coordinates_access_level="public"
    )
    assert int(page.get_attribute("[data-sites-map]", "data-ready")) == public_points.count()
    markers = page.locator("[data-sites-map] path.leaflet-interactive")
    assert markers.count() == public_points.count()
    markers.first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Open to independent activity" in popup.inner_text()

    # Restricted for the public: the online group and the skate park's location.
    text = page.locator("body").inner_text()
    assert "Town neighbours' group" not in text
    assert "Skate park" in text  # the place is public, only its coordinates are not
    assert_clean(page)
    screenshot(page, "town-pastavy-society")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow


def test_compare_and_typology_show_the_society_dimensions(page, live_url):
    page.goto(live_url + "/compare/?towns=pastavy,olshany")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-section=society] td[data-engagement]").count() == 2
    assert_clean(page)
    page.goto(live_url + "/typology/")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-type-society]").count() >= 5
    assert_clean(page)
