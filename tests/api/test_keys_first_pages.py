"""Numbered pages read the page's keys first, then its rows (KeysFirstPaginator): the same
records in the same order as paging the list in one query, on every page and in every order."""

from __future__ import annotations

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance.api.pagination import KeysFirstPaginator
from towns.models import Town

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "order",
    [("name_en", "pk"), ("-population", "pk"), ("region__slug", "-name_en", "pk")],
    ids=["name", "population desc (empty values first)", "a related field"],
)
def test_every_page_holds_what_one_query_would(order):
    towns = Town.objects.select_related("region", "district").order_by(*order)
    plain, keys_first = Paginator(towns, 7, orphans=2), KeysFirstPaginator(towns, 7, orphans=2)
    assert keys_first.num_pages == plain.num_pages > 3
    for number in keys_first.page_range:
        expected = [town.pk for town in plain.page(number)]
        page = keys_first.page(number)
        assert [town.pk for town in page] == expected, number
        assert all(town.region.slug for town in page)  # the related rows came along


def test_a_deep_page_reads_keys_then_rows(django_assert_num_queries):
    towns = Town.objects.select_related("region").order_by("name_en", "pk")
    paginator = KeysFirstPaginator(towns, 5)
    paginator.count  # noqa: B018 (counted once, as the API does before paging)
    with django_assert_num_queries(2):  # the keys, then the rows
        rows = list(paginator.page(3))
    assert len(rows) == 5


def test_a_grouped_list_is_paged_in_one_query(django_assert_num_queries):
    grouped = Town.objects.values("region").annotate(n=Count("pk")).order_by("region")
    paginator = KeysFirstPaginator(grouped, 2)
    paginator.count  # noqa: B018
    with django_assert_num_queries(1):
        page = list(paginator.page(2))
    assert page == list(Paginator(grouped, 2).page(2))


def test_the_api_pages_the_town_list_in_its_order():
    slugs = list(Town.objects.order_by("-population", "pk").values_list("slug", flat=True))
    seen = []
    page = 1
    while True:
        response = Client().get(f"/api/v1/towns/?ordering=-population&page={page}&page_size=9")
        assert response.status_code == 200, response.content[:200]
        body = response.json()
        seen += [town["slug"] for town in body["results"]]
        if not body["next"]:
            break
        page += 1
    assert seen == slugs


# -- the total comes with the page (TotalOf)


def test_the_first_page_and_its_total_are_one_query():
    towns = Town.objects.select_related("region").order_by("name_en", "pk")
    total = towns.count()
    paginator = KeysFirstPaginator(towns, 5)
    with CaptureQueriesContext(connection) as ctx:
        page = paginator.page(1)
        shown = [town.pk for town in page]
        assert paginator.count == total
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
    assert shown == list(towns.values_list("pk", flat=True)[:5])
    assert page.has_next() and paginator.num_pages == -(-Town.objects.count() // 5)


def test_a_deep_page_reads_its_total_with_its_keys(django_assert_num_queries):
    towns = Town.objects.select_related("region").order_by("-population", "pk")
    expected = Paginator(towns, 4, orphans=1)
    last = expected.num_pages
    paginator = KeysFirstPaginator(towns, 4, orphans=1)
    with django_assert_num_queries(2):  # the keys with the total, then the rows
        page = paginator.page(last)
    assert paginator.count == expected.count
    assert [t.pk for t in page] == [t.pk for t in expected.page(last)]
    assert not page.has_next()


def test_a_page_past_the_end_is_counted_to_say_so():
    towns = Town.objects.order_by("pk")
    with pytest.raises(EmptyPage):
        KeysFirstPaginator(towns, 5).page(10_000)
    with pytest.raises(EmptyPage):  # beyond PostgreSQL's OFFSET: counted, never sent
        KeysFirstPaginator(towns, 5).page(10**30)
    with pytest.raises(EmptyPage):
        KeysFirstPaginator(towns, 5).page(0)
    with pytest.raises(PageNotAnInteger):
        KeysFirstPaginator(towns, 5).page("two")
    empty = KeysFirstPaginator(Town.objects.none(), 5)
    assert list(empty.page(1)) == [] and empty.count == 0  # an empty list has its first page


def test_the_api_counts_with_the_page():
    """Numbered and cursor pages, filtered or not: the total is right without a COUNT of its
    own (only a page with no row to carry the total counts apart)."""
    client = Client()
    total = Town.objects.count()
    first = client.get("/api/v1/towns/", {"page_size": 3})
    paged = client.get("/api/v1/towns/", {"page": 2, "page_size": 3})
    later = client.get(first.json()["next"])
    for response in (first, paged, later):
        assert response.status_code == 200
        assert response.json()["count"] == total == int(response["X-Total-Count"])
    filtered = Town.objects.filter(region__slug="brest").count()
    assert client.get("/api/v1/towns/", {"region": "brest"}).json()["count"] == filtered
    nothing = client.get("/api/v1/towns/", {"search": "no such town anywhere"})
    assert nothing.json()["count"] == 0 and nothing.json()["results"] == []
    assert client.get("/api/v1/towns/", {"page": 10_000}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"page_size": 3}, {"page": 2, "page_size": 3}, {"region": "brest", "page_size": 2}],
    ids=["cursor pages", "numbered page", "filtered"],
)
def test_no_page_counts_apart(params):
    url = "/api/v1/towns/"
    with CaptureQueriesContext(connection) as first:
        body = Client().get(url, params).json()
    assert body["results"]
    with CaptureQueriesContext(connection) as later:
        following = Client().get(body["next"]).json()
    assert following["count"] == body["count"]
    counts = [q["sql"] for q in [*first, *later] if q["sql"].startswith("SELECT COUNT(*)")]
    assert counts == []
