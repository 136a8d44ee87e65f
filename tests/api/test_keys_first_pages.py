"""Numbered pages read the page's keys first, then its rows (KeysFirstPaginator): the same
records in the same order as paging the list in one query, on every page and in every order."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db.models import Count
from django.test import Client

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
