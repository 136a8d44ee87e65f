"""Every API resource × persona: lists count only what the persona may see, details of hidden
records are 404, the town profile and indicator series, and queries per list are bounded."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from csos.models import CSO, CooperationCase, CSOLink
from governance.access import AccessLevel, PublicationState
from governance.models import Source
from towns.models import (
    Activity,
    Appointment,
    District,
    Indicator,
    IndicatorValue,
    InfluenceGroup,
    Person,
    Post,
    Region,
    Tie,
    Town,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/"

#: Research records: path → (model, lookup attribute).
RESEARCH = {
    "sources": (Source, "pk"),
    "persons": (Person, "pk"),
    "appointments": (Appointment, "pk"),
    "influence-groups": (InfluenceGroup, "pk"),
    "ties": (Tie, "pk"),
    "indicator-values": (IndicatorValue, "pk"),
    "activities": (Activity, "pk"),
    "csos": (CSO, "slug"),
    "cso-links": (CSOLink, "pk"),
    "cooperation-cases": (CooperationCase, "pk"),
}
#: Public reference data.
REFERENCE = {
    "regions": (Region, "slug"),
    "districts": (District, "slug"),
    "towns": (Town, "slug"),
    "posts": (Post, "pk"),
    "indicators": (Indicator, "code"),
}
ALL = {**RESEARCH, **REFERENCE}
READERS = ("anonymous", "donor", "partner", "researcher")


def visible(path: str, user):
    model, _ = ALL[path]
    if path not in RESEARCH:
        # Reference data is public, except posts: seen through the appointments one may see.
        return model.objects.visible_to(user) if model is Post else model.objects.all()
    qs = model.objects.visible_to(user)
    if model is CSOLink:
        csos = CSO.objects.visible_to(user)
        qs = qs.filter(source_cso__in=csos, target_cso__in=csos)
    return qs


def key_of(path: str, obj) -> str:
    return str(getattr(obj, ALL[path][1]))


@pytest.mark.parametrize("path", sorted(ALL))
@pytest.mark.parametrize("who", READERS)
def test_list_counts_only_what_the_persona_may_see(personas, who, path):
    persona = personas[who]
    response = persona.api_client().get(f"{API}{path}/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == visible(path, persona.user).count()
    if path in RESEARCH and who == "anonymous":
        for row in body["results"]:
            assert row["access_level"] == AccessLevel.PUBLIC
            assert row["state"] == PublicationState.PUBLISHED


@pytest.mark.parametrize("path", sorted(ALL))
@pytest.mark.parametrize("who", READERS)
def test_detail_of_a_visible_record(personas, who, path):
    persona = personas[who]
    obj = visible(path, persona.user).order_by("pk").first()
    if obj is None:
        # Nothing of this kind is visible to the persona in the demo data (e.g. persons and
        # ties for the public): the list must then be empty, which the list test checks.
        assert path in {"persons", "ties"} and who in {"anonymous", "donor", "partner"}
        return
    response = persona.api_client().get(f"{API}{path}/{key_of(path, obj)}/")
    assert response.status_code == 200


@pytest.mark.parametrize("path", sorted(RESEARCH))
def test_hidden_record_is_404_below_research_and_shown_to_researchers(personas, path):
    model, _ = RESEARCH[path]
    obj = visible(path, personas["researcher"].user).order_by("pk").first()
    model.objects.filter(pk=obj.pk).update(
        state=PublicationState.DRAFT, access_level=AccessLevel.RESTRICTED
    )
    url = f"{API}{path}/{key_of(path, obj)}/"
    for who in ("anonymous", "donor", "partner", "outsider"):
        response = personas[who].api_client().get(url)
        assert response.status_code == 404, who
        assert response.json()["detail"] == "Not found."  # as for a record that does not exist
    assert personas["researcher"].api_client().get(url).status_code == 200
    listed = personas["anonymous"].api_client().get(f"{API}{path}/", {"page_size": 500}).json()
    assert key_of(path, obj) not in {str(r.get("id", r.get("slug"))) for r in listed["results"]}


@pytest.mark.parametrize("path", sorted(RESEARCH))
def test_soft_deleted_record_is_404_for_everyone(personas, path):
    model, _ = RESEARCH[path]
    obj = (
        visible(path, personas["anonymous"].user).order_by("pk").first()
        or visible(path, personas["researcher"].user).order_by("pk").first()
    )
    model.objects.filter(pk=obj.pk).update(deleted_at=timezone.now())
    for who in ("anonymous", "researcher"):
        url = f"{API}{path}/{key_of(path, obj)}/"
        assert personas[who].api_client().get(url).status_code == 404


def test_link_to_a_hidden_cso_is_absent(personas):
    link = CSOLink.objects.visible_to(None).order_by("pk").first()
    CSO.objects.filter(pk=link.target_cso_id).update(state=PublicationState.DRAFT)
    client = personas["anonymous"].api_client()
    assert client.get(f"{API}cso-links/{link.pk}/").status_code == 404
    slugs = {
        r["target_cso"]
        for r in client.get(f"{API}cso-links/", {"page_size": 500}).json()["results"]
    }
    assert link.target_cso.slug not in slugs


def test_town_profile_explains_every_part(personas):
    body = personas["anonymous"].api_client().get(f"{API}towns/olshany/profile/").json()
    assert body["town"] == "olshany"
    assert body["balance"]["explanation"]
    assert body["typology"]["label"] == "ecclesial"
    assert body["typology"]["explanation"]
    assert {c["code"] for c in body["criteria"]} >= {"population", "prospects"}
    assert all(c["evidence"] for c in body["criteria"])
    assert all(v["reasons"] for v in body["ventures"])
    assert body["sections"]["network"]["explanation"]
    assert [a["option"] for a in body["sections"]["advice"]] == [1, 2, 3]
    assert all(a["reasons"] for a in body["sections"]["advice"])


def test_town_profile_uses_only_what_the_viewer_may_see(personas):
    town = Town.objects.get(slug="olshany")
    activity = Activity.objects.visible_to(None).filter(town=town).first()
    Activity.objects.filter(pk=activity.pk).update(state=PublicationState.DRAFT)
    public = personas["anonymous"].api_client().get(f"{API}towns/olshany/profile/").json()
    research = personas["researcher"].api_client().get(f"{API}towns/olshany/profile/").json()
    assert activity.pk not in {v["activity"] for v in public["ventures"]}
    assert activity.pk in {v["activity"] for v in research["ventures"]}


def test_town_profile_rejects_a_bad_date_and_unknown_town(personas):
    client = personas["anonymous"].api_client()
    response = client.get(f"{API}towns/olshany/profile/", {"as_of": "yesterday"})
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]
    assert client.get(f"{API}towns/atlantis/profile/").status_code == 404


def test_town_indicator_series_for_several_indicators_and_years(personas):
    client = personas["anonymous"].api_client()
    response = client.get(
        f"{API}towns/olshany/indicators/",
        {"indicator": ["population", "industrial_enterprises"], "from": 2016, "to": 2020},
    )
    assert response.status_code == 200
    series = {s["indicator"]: s for s in response.json()["series"]}
    assert set(series) == {"population", "industrial_enterprises"}
    years = {v["year"] for s in series.values() for v in s["values"]}
    assert years and min(years) >= 2016 and max(years) <= 2020
    stored = IndicatorValue.objects.filter(
        town__slug="olshany", indicator__code="population", year__range=(2016, 2020)
    ).count()
    assert len(series["population"]["values"]) == stored


def test_town_indicator_series_rejects_bad_parameters(personas):
    """Malformed values are a 400; values the schema allows are answered (issue 18): a code
    not in the catalogue, or 'to' before 'from', simply select nothing."""
    client = personas["anonymous"].api_client()
    series = f"{API}towns/olshany/indicators/"
    unknown = client.get(series, {"indicator": "happiness"})
    assert unknown.status_code == 200 and unknown.json()["series"] == []
    backwards = client.get(series, {"from": 2020, "to": 2010})
    assert backwards.status_code == 200
    assert all(not s["values"] for s in backwards.json()["series"]), backwards.json()
    assert client.get(series, {"from": "x"}).status_code == 400
    assert client.get(series, {"from": 1989}).status_code == 400
    assert client.get(series, {"indicator": "a code"}).status_code == 400


def queries_of(client, url, params) -> list[str]:
    """The SQL of one request (its start). The sweep of expired rate counters is part of the
    count's statement (migration 0012), so no request makes a query more now and then."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return [query["sql"][:160] for query in ctx.captured_queries]


def count_queries(client, url, params) -> int:
    return len(queries_of(client, url, params))


@pytest.mark.parametrize("path", sorted(ALL))
def test_queries_per_list_do_not_grow_with_page_size(personas, path):
    client = personas["researcher"].api_client()
    # A first request may fill a per-process cache (it once cost one query more here, after
    # other tests on the same worker): what is compared is the cost of a page, not of a start.
    count_queries(client, f"{API}{path}/", {"page_size": 1})
    small = queries_of(client, f"{API}{path}/", {"page_size": 10})
    large = queries_of(client, f"{API}{path}/", {"page_size": 100})
    assert len(small) == len(large), "\n".join(["10 a page:", *small, "100 a page:", *large])
    assert len(large) <= 12


@pytest.mark.parametrize(
    "path", ["csos", "appointments", "influence-groups", "cso-links", "cooperation-cases"]
)
def test_queries_per_detail_are_bounded(personas, django_assert_max_num_queries, path):
    client = personas["researcher"].api_client()
    obj = visible(path, personas["researcher"].user).order_by("pk").first()
    with django_assert_max_num_queries(14):
        assert client.get(f"{API}{path}/{key_of(path, obj)}/").status_code == 200


def test_profile_queries_are_bounded(personas, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        response = personas["anonymous"].api_client().get(f"{API}towns/olshany/profile/")
        assert response.status_code == 200


def test_long_lists_page_by_cursor_without_overlap(personas):
    client = personas["anonymous"].api_client()
    first = client.get(f"{API}indicator-values/", {"page_size": 50}).json()
    assert "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    ids_first = [r["id"] for r in first["results"]]
    ids_second = [r["id"] for r in second["results"]]
    assert not set(ids_first) & set(ids_second)
    assert ids_first + ids_second == sorted(ids_first + ids_second)
    assert first["count"] == IndicatorValue.objects.visible_to(None).count()


def test_explicit_ordering_keeps_cursor_pages(personas):
    """Issue 18: one pagination style whatever the ordering (it used to switch to numbers)."""
    body = personas["anonymous"].api_client().get(f"{API}towns/", {"ordering": "-population"})
    body = body.json()
    assert "cursor=" in body["next"] and "page=" not in body["next"]
    populations = [t["population"] for t in body["results"]]
    assert populations == sorted(populations, reverse=True)


def test_town_series_finds_its_town_in_the_same_query(personas):
    """The series query finds the town by its slug: values found need no lookup of the town;
    an empty series looks it up, to tell a town without values (200) from none (404)."""
    client = personas["anonymous"].api_client()
    url = f"{API}towns/olshany/indicators/"
    client.get(url)  # a first request may fill a per-process cache: not what is compared
    found = queries_of(client, url, {"indicator": "population"})
    empty = queries_of(client, url, {"indicator": "happiness"})
    assert not any('FROM "towns_town" WHERE' in sql for sql in found), found
    assert len(empty) == len(found) + 1  # the town itself, looked up to say it exists
    assert client.get(url, {"indicator": "happiness"}).json() == {"town": "olshany", "series": []}
    assert client.get(f"{API}towns/atlantis/indicators/").status_code == 404
    assert client.get(f"{API}towns/Olshany/indicators/").status_code == 404
