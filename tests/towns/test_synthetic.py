"""Synthetic is never silent: every number computed from generated data carries its marker.

The walk below reads every public town page of the demo research (the nine case towns and a
sample of the others) as an anonymous visitor and checks, against the database as an oracle,
that each element showing a number derived from a synthetic record carries the "synthetic"
marker; the banner, the load_demo choice and the removal command are tested after it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q
from django.test import override_settings
from django.urls import reverse

from csos.models import CSO, CooperationCase, CulturalAsset
from governance.access import AccessLevel, PublicationState
from towns.demo.research import case_towns
from towns.models import Activity, IndicatorValue, Influence, Town

pytestmark = pytest.mark.django_db

PUBLIC = {"access_level": AccessLevel.PUBLIC, "state": PublicationState.PUBLISHED}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
DIGIT = re.compile(r"\d")


class Element:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.text, self.badge = tag, dict(attrs), [], False

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def content(self) -> str:
        return " ".join("".join(self.text).split())


class Page(HTMLParser):
    """Every element of a page with its text and whether a synthetic badge is inside it."""

    def __init__(self, html: str):
        super().__init__()
        self.stack: list[Element] = []
        self.elements: list[tuple[Element, list[Element]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        element = Element(tag, attrs)
        if "synthetic-badge" in element.classes:
            for open_element in self.stack:
                open_element.badge = True
        self.elements.append((element, list(self.stack)))
        self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element.text.append(data)

    def select(self, tag: str, cls: str | None = None, parent_class: str | None = None):
        for element, ancestors in self.elements:
            if element.tag != tag or (cls and cls not in element.classes):
                continue
            if parent_class and not any(parent_class in a.classes for a in ancestors):
                continue
            yield element


def public(qs):
    return qs.filter(**PUBLIC, deleted_at__isnull=True)


def latest_synthetic(town: Town, code: str) -> bool:
    value = (
        public(IndicatorValue.objects)
        .filter(town=town, indicator__code=code, quarter=0)
        .order_by("-year")
        .first()
    )
    return bool(value and value.is_synthetic)


def criterion_oracle(town: Town, code: str) -> bool:
    if code == "population":
        return town.population is None and latest_synthetic(town, "population")
    if code == "prospects":
        years = (
            public(IndicatorValue.objects)
            .filter(town=town, indicator__code="population", quarter=0)
            .order_by("-year")
        )
        last = years.first()
        if last is None:
            return False
        return years.filter(year__in=[last.year, last.year - 5], is_synthetic=True).exists()
    return latest_synthetic(town, code)


def influence_oracle(town: Town) -> bool:
    return (
        public(Influence.objects)
        .filter(Q(is_synthetic=True) | Q(group__is_synthetic=True), town=town)
        .exists()
    )


def advice_oracle(town: Town) -> bool:
    """The advice reads the town's activities, cases, CSOs, assets and influence claims."""
    return (
        public(Activity.objects).filter(town=town, is_synthetic=True).exists()
        or public(CooperationCase.objects).filter(town=town, is_synthetic=True).exists()
        or public(CSO.objects).filter(towns=town, is_synthetic=True).exists()
        or public(CulturalAsset.objects).filter(town=town, is_synthetic=True).exists()
        or Influence.objects.filter(
            Q(is_synthetic=True) | Q(group__is_synthetic=True),
            town=town,
            state=PublicationState.PUBLISHED,
            deleted_at__isnull=True,
        ).exists()
    )


def unmarked_numbers(page: Page, town: Town) -> list[str]:
    """Elements showing a number derived from synthetic data without the marker."""
    wrong = []

    def check(element, derived: bool, what: str):
        if derived and DIGIT.search(element.content()) and not element.badge:
            wrong.append(f"{town.slug}: {what}: {element.content()[:120]}")

    for li in page.select("li", "criterion"):
        check(li, criterion_oracle(town, li.attrs["data-code"]), "criterion")
    for p in page.select("p", "typology"):
        check(p, influence_oracle(town), "typology")
    for li in page.select("li", parent_class="advice"):
        check(li, advice_oracle(town), "advice")
    for li in page.select("li", parent_class="cases"):
        subject = li.content().split(" (")[0].replace(" from synthetic data", "")
        synthetic = public(CooperationCase.objects).filter(
            town=town, is_synthetic=True, subject__startswith=subject.replace(" synthetic", "")
        )
        check(li, synthetic.exists(), "cooperation case")
    for tr in page.select("tr", parent_class="indicators"):
        if "data-code" in tr.attrs:
            check(tr, latest_synthetic(town, tr.attrs["data-code"]), "indicator value and rank")
    for figure in page.select("figure", "chart"):
        key = figure.attrs["id"].removeprefix("chart-").removesuffix("-figure")
        if key.startswith("indicator-"):
            derived = latest_synthetic(town, key.removeprefix("indicator-"))
        elif key == "balance":
            derived = influence_oracle(town)
        elif key == "activities":
            derived = public(Activity.objects).filter(town=town, is_synthetic=True).exists()
        else:
            continue
        check(figure, derived, f"chart {key}")
    for tr in page.select("tr"):
        if "data-status" in tr.attrs:
            title = public(Activity.objects).filter(town=town, is_synthetic=True)
            derived = any(a.title in tr.content() for a in title)
            check(tr, derived, "activity")
    return wrong


def walked_towns() -> list[Town]:
    others = list(
        Town.objects.exclude(pk__in=[t.pk for t in case_towns().values()]).order_by("pk")[::50]
    )
    return [*case_towns().values(), *others]


def test_every_public_town_page_marks_numbers_from_synthetic_data(client):
    wrong, checked = [], 0
    for town in walked_towns():
        response = client.get(reverse("towns:detail", kwargs={"slug": town.slug}))
        assert response.status_code == 200
        page = Page(response.content.decode())
        checked += sum(1 for _e, _a in page.elements)
        wrong += unmarked_numbers(page, town)
    assert checked > 1000  # the walk read real pages
    assert wrong == []


def test_the_walk_catches_an_unmarked_number():
    """The oracle is independent of the markup: a criterion without its badge is caught."""
    town = case_towns()["Turov"]
    html = (
        '<ul><li data-code="industrial_enterprises" class="criterion">Industrial enterprises: '
        "0 (none).</li></ul>"
    )
    assert criterion_oracle(town, "industrial_enterprises")
    assert unmarked_numbers(Page(html), town)
    marked = html.replace("</li>", '<span class="synthetic-badge">synthetic</span></li>')
    assert unmarked_numbers(Page(marked), town) == []


def test_researcher_flags_never_reach_the_public(client):
    for slug in ("orsha", "navapolatsk", *[t.slug for t in case_towns().values()]):
        if not Town.objects.filter(slug=slug).exists():
            continue
        body = client.get(reverse("towns:detail", kwargs={"slug": slug})).content.decode()
        assert "⚑" not in body
        assert "Check the kind or the figures" not in body
        data = client.get(f"/api/v1/towns/{slug}/profile/").json()
        assert data["flags"] == []


def test_api_profile_names_its_synthetic_inputs(client):
    turov = case_towns()["Turov"]
    data = client.get(f"/api/v1/towns/{turov.slug}/profile/").json()
    assert data["derived_from_synthetic"] is True
    assert "criteria" in data["synthetic_inputs"]
    by_code = {c["code"]: c["derived_from_synthetic"] for c in data["criteria"]}
    assert by_code["industrial_enterprises"] is True
    # Turov's population is its census figure, not a generated one.
    assert by_code["population"] is False
    assert data["facts"]["population"] == turov.population
    assert all(a["derived_from_synthetic"] for a in data["sections"]["advice"])


def test_every_page_carries_the_demonstration_banner_while_synthetic_data_is_public(client):
    for url in ("/", "/typology/", reverse("towns:detail", kwargs={"slug": "pastavy"}), "/csos/"):
        assert "data-demonstration-banner" in client.get(url).content.decode(), url


def test_production_settings_refuse_the_demonstration_research():
    with override_settings(ALLOW_SYNTHETIC_DATA=False), pytest.raises(CommandError) as error:
        call_command("load_demo", stdout=StringIO())
    assert "ALLOW_SYNTHETIC_DATA" in str(error.value)
    out = StringIO()
    with override_settings(ALLOW_SYNTHETIC_DATA=False):
        call_command("load_demo", "--places-only", stdout=out)
    assert "towns: 0 created" in out.getvalue()
    assert "Towns without a district:" in out.getvalue()


def test_remove_synthetic_data_keeps_history_and_drops_the_banner(client):
    from governance.audit import event_model_for

    dry = StringIO()
    call_command("remove_synthetic_data", "--dry-run", stdout=dry)
    assert "Dry run" in dry.getvalue()
    assert IndicatorValue.objects.filter(is_synthetic=True).exists()
    call_command("remove_synthetic_data", stdout=StringIO())
    assert not IndicatorValue.objects.filter(is_synthetic=True).exists()
    assert not Influence.objects.filter(is_synthetic=True).exists()
    events = event_model_for(Influence).objects.filter(pgh_label="delete")
    assert events.filter(is_synthetic=True).exists()
    body = client.get("/").content.decode()
    assert "data-demonstration-banner" not in body


def test_lists_maps_and_exports_mark_a_typology_from_synthetic_claims(client, tmp_path):
    """Issue 16: the stored typology and share (home list, map, compare, API list, GeoJSON,
    data package) said nothing when they rested on a synthetic claim. Each channel is checked
    against the oracle of the claims themselves, for a town of each kind."""
    import csv
    import io
    import json
    import zipfile

    from django.test import Client

    from towns.profile import refresh_town_aggregates

    # The typed towns and a few untyped ones, so that both answers are checked on every channel.
    towns = list(Town.objects.exclude(typology="insufficient_evidence").order_by("slug"))
    towns += list(Town.objects.filter(typology="insufficient_evidence").order_by("slug")[:3])
    for town in towns:
        refresh_town_aggregates(town)
    oracle = {
        t.slug: Influence.objects.filter(
            Q(is_synthetic=True) | Q(group__is_synthetic=True),
            town=t,
            state=PublicationState.PUBLISHED,
            deleted_at__isnull=True,
        ).exists()
        for t in towns
    }
    assert any(oracle.values()), "the demo has no typology from synthetic claims"
    assert not all(oracle.values()), "nothing to tell the marked towns from"
    stored = dict(Town.objects.filter(slug__in=oracle).values_list("slug", "aggregates_synthetic"))
    assert stored == oracle

    listed = client.get("/api/v1/towns/", {"page_size": 500}).json()["results"]
    assert {t["slug"]: t["aggregates_synthetic"] for t in listed if t["slug"] in oracle} == oracle
    features = Client().get("/api/v1/towns.geojson").json()["features"]
    by_slug = {f["id"]: f["properties"]["aggregates_synthetic"] for f in features}
    assert {slug: by_slug[slug] for slug in oracle} == oracle

    with zipfile.ZipFile(io.BytesIO(Client().get("/api/v1/export/datapackage.zip").content)) as z:
        name = next(n for n in z.namelist() if n.endswith("towns.csv"))
        rows = list(csv.DictReader(io.StringIO(z.read(name).decode())))
    exported = {r["slug"]: r["aggregates_synthetic"] == "true" for r in rows if r["slug"] in oracle}
    assert exported == oracle

    synthetic = next(slug for slug, flag in oracle.items() if flag)
    # In the demo every typed town rests on a synthetic claim: compare with an untyped town.
    unmarked = Town.objects.filter(aggregates_synthetic=False).order_by("slug").first()
    home = client.get("/", {"q": Town.objects.get(slug=synthetic).name_en}).content.decode()
    row = re.search(rf'<tr>\s*<td><a href="/towns/{synthetic}/".*?</tr>', home, re.S)
    assert row and "data-synthetic" in row.group(0), "the home list hides it"
    data = json.loads(re.search(r'id="map-data"[^>]*>(.*?)</script>', home, re.S).group(1))
    point = next(p for p in data["towns"] if p["slug"] == synthetic)
    assert "synthetic" in point["typology_label"] and point["aggregates_synthetic"] is True
    page = client.get("/compare/", {"towns": [synthetic, unmarked.slug]}).content.decode()
    typology_row = re.search(r"<th scope=\"row\">Typology</th>(.*?)</tr>", page, re.S)
    assert typology_row.group(1).count("data-synthetic") == 1


def test_every_list_of_towns_marks_a_type_from_synthetic_data(client):
    """The walk beyond the town pages: every page of the home list and the typology page name
    each town's type (the typology page also counts the towns of each type); wherever the
    type rests on a synthetic claim, its marker is there, for the town and for the count."""
    oracle = {t.slug: influence_oracle(t) for t in Town.objects.all()}
    assert any(oracle.values()) and not all(oracle.values())
    wrong, rows, number = [], 0, 1
    while True:
        html = client.get("/", {"page": number}).content.decode()
        for row in re.finditer(r'<tr>\s*<td><a href="/towns/([^/]+)/".*?</tr>', html, re.S):
            rows += 1
            if oracle[row.group(1)] and "data-synthetic" not in row.group(0):
                wrong.append(f"home page {number}: {row.group(1)}")
        if 'rel="next"' not in html:
            break
        number += 1
    assert rows == len(oracle)  # every town was read

    html = client.get("/typology/").content.decode()
    listed = 0
    for section in re.finditer(
        r'<section class="type-group" id="type-([a-z_]+)".*?</section>', html, re.S
    ):
        value, body = section.group(1), section.group(0)
        members = re.findall(r'<li><a href="/towns/([^/]+)/">.*?</li>', body, re.S)
        items = re.findall(r'<li><a href="/towns/[^/]+/">.*?</li>', body, re.S)
        listed += len(members)
        for slug, item in zip(members, items, strict=True):
            if oracle[slug] and "data-synthetic" not in item:
                wrong.append(f"typology: {slug}")
        if any(oracle[slug] for slug in members):
            if "data-synthetic" not in body[: body.index("</h2>")]:
                wrong.append(f"typology heading: {value}")
            count = re.search(rf'data-type-count="{value}">(.*?)</td>', html, re.S).group(1)
            if "data-synthetic" not in count:
                wrong.append(f"typology count: {value}")
    assert listed == len(oracle)
    assert wrong == []


def network_oracle(csos) -> bool:
    """A network's measures rest on synthetic data when a CSO it counts, or a link between two
    of them, is synthetic (public records that exist today)."""
    from django.utils import timezone

    from csos.models import CSOLink

    today = timezone.localdate()
    current = public(csos).filter(
        Q(liquidation_date__isnull=True) | Q(liquidation_date__gt=today),
        Q(founding_year__isnull=True) | Q(founding_year__lte=today.year),
    )
    links = public(CSOLink.objects).filter(source_cso__in=current, target_cso__in=current)
    return current.filter(is_synthetic=True).exists() or links.filter(is_synthetic=True).exists()


def test_every_cso_network_marks_measures_from_synthetic_data(client):
    """The CSO network's measures (organisations, links, groups, isolated, density, brokers)
    on every walked town page, the compare page and every region's CSO list carry the marker
    exactly when a CSO or link they count is synthetic."""
    from towns.models import Region

    wrong, answers = [], set()

    def check(where: str, block: str, derived: bool):
        answers.add(derived)
        marked = "data-derived-from-synthetic" in block or "data-synthetic" in block
        if derived != marked:
            wrong.append(f"{where}: {'unmarked' if derived else 'marked without cause'}")

    for town in walked_towns():
        html = client.get(reverse("towns:detail", kwargs={"slug": town.slug})).content.decode()
        heading = re.search(r"<h3>Network and fragmentation.*?</h3>", html, re.S).group(0)
        figures = re.search(r'<dl class="network".*?</dl>', html, re.S).group(0)
        derived = network_oracle(CSO.objects.filter(towns=town))
        check(f"town {town.slug} heading", heading, derived)
        check(f"town {town.slug} measures", figures, derived)
        profile = client.get(f"/api/v1/towns/{town.slug}/profile/").json()
        if profile["sections"]["network"]["derived_from_synthetic"] != derived:
            wrong.append(f"API profile {town.slug}")

    pair = [t.slug for t in list(case_towns().values())[:2]]
    html = client.get("/compare/", {"towns": pair}).content.decode()
    for slug in pair:
        panel = re.search(rf'data-compare-csos="{slug}">.*?</dl>', html, re.S).group(0)
        check(f"compare {slug}", panel, network_oracle(CSO.objects.filter(towns__slug=slug)))

    for region in [None, *Region.objects.all()]:
        params = {"region": region.slug} if region else {}
        html = client.get(reverse("csos:list"), params).content.decode()
        count = re.search(r'<p class="count">.*?</p>', html, re.S).group(0)
        listed = public(CSO.objects).filter(towns__region=region) if region else public(CSO.objects)
        check(f"CSO count {region}", count, listed.filter(is_synthetic=True).exists())
        if region is None:
            continue
        block = re.search(r'<section class="network".*?</section>', html, re.S).group(0)
        derived = network_oracle(CSO.objects.filter(towns__region=region).distinct())
        check(f"region {region.slug}", block, derived)
    assert answers == {True, False}  # both answers were read
    assert wrong == []
