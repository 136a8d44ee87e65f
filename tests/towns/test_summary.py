"""The summary at the top of a town's dashboard and of the compare page (towns/summary.py,
templates/towns/_summary.html), folded sections, and numbers in the page's language."""

import re

import pytest
from django.urls import reverse

from towns import summary
from towns.profile import town_profile

pytestmark = pytest.mark.django_db

KEYS = ["typology", "balance", "criteria", "gap", "csos", "options"]


def test_summary_has_six_statements_each_with_a_figure_and_a_link(client):
    response = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"}))
    assert response.status_code == 200
    items = response.context["summary"]
    assert [i.key for i in items] == KEYS
    assert all(i.figure and i.sentence and i.anchor for i in items)
    body = response.content.decode()
    # Before every section, and each statement links to the section that details it.
    assert body.index("data-summary") < body.index('data-section="facts"')
    for item in items:
        assert f'data-summary-item="{item.key}"' in body
        assert f'href="#{item.anchor}"' in body
        assert f'id="{item.anchor}"' in body


def test_summary_marks_what_rests_on_synthetic_data(client):
    items = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"})).context["summary"]
    by_key = {i.key: i for i in items}
    # The demo research is generated: influence claims, activities and CSOs are synthetic.
    assert by_key["balance"].synthetic
    assert by_key["gap"].synthetic
    html = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"})).content.decode()
    gap = re.search(r'data-summary-item="gap">(.*?)</li>', html, re.S).group(1)
    assert "synthetic-badge" in gap


def test_summary_counts_match_the_profile():
    from django.contrib.auth.models import AnonymousUser

    from towns.models import Town

    town = Town.objects.get(slug="pastavy")
    profile = town_profile(town, user=AnonymousUser())
    items = {i.key: i for i in summary.town_summary(profile, civil_society={})}
    holding = sum(1 for c in profile.criteria if c.holds)
    assert items["criteria"].figure == f"{holding} / {len(profile.criteria)}"
    in_gap = sum(1 for a, _v in profile.ventures if a.status == "gap")
    assert items["gap"].figure.startswith(str(in_gap))
    # Without civil-society data the summary says so instead of inventing figures.
    assert items["csos"].figure == "—" and items["csos"].missing
    assert items["options"].figure == "—" and items["options"].missing


def test_a_town_without_research_gets_an_honest_summary(client):
    from towns.models import Town

    bare = Town.objects.filter(influences__isnull=True).order_by("slug").first()
    items = client.get(reverse("towns:detail", kwargs={"slug": bare.slug})).context["summary"]
    by_key = {i.key: i for i in items}
    assert by_key["balance"].figure == "—"
    assert by_key["balance"].missing
    assert by_key["typology"].missing


def test_dashboard_sections_fold_below_the_summary(client):
    html = client.get(reverse("towns:detail", kwargs={"slug": "pastavy"})).content.decode()
    for key in ("facts", "who", "what", "gap", "cs"):
        assert re.search(rf'<details class="fold" data-fold="{key}"><summary>', html), key
    assert '<details class="fold" data-fold="what" open' not in html


def test_compare_shows_the_summaries_side_by_side_first(client):
    response = client.get(reverse("towns:compare") + "?towns=pastavy,hlybokaye")
    assert response.status_code == 200
    assert [p.town.slug for p, _items in response.context["summaries"]] == [
        "pastavy",
        "hlybokaye",
    ]
    html = response.content.decode()
    assert html.index('data-section="summaries"') < html.index('data-section="measures"')
    assert html.count("data-summary aria-label") == 2


def test_numbers_follow_the_page_language(client):
    english = client.get("/towns/olshany/").content.decode()
    russian = client.get("/ru/towns/olshany/").content.decode()
    assert "7,444" in english
    assert "7\xa0444" in russian


def test_indicator_names_and_units_are_in_the_page_language(client):
    """The demo catalogue has Belarusian and Russian names and units: none is English on a
    Russian page (tests/towns/test_page_languages.py checks every word of every page)."""
    html = client.get("/ru/towns/pastavy/").content.decode()
    assert '<span class="unit">(на 10 000 человек)</span>' in html
    assert "per 10,000 population" not in html
