"""Town representations kept per version of the row (governance/api/memo.py): the same JSON
as Django REST Framework's own path for every demo town, a changed row shown changed, no field
reading anything the key does not hold, a partly loaded row not kept, and the memo bounded."""

from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer

from governance.api import memo
from governance.api.memo import MemoizedRowMixin
from towns.api.serializers import TownDetailSerializer, TownSerializer
from towns.models import Town

pytestmark = pytest.mark.django_db

SERIALIZERS = (TownSerializer, TownDetailSerializer)
#: Model methods a field may read: functions of the row's own columns only.
PURE_METHODS = {"alternate_name_list"}


def drf_own(serializer, town) -> dict:
    return super(MemoizedRowMixin, serializer).to_representation(town)


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_every_town_is_shown_as_drf_shows_it(serializer_class):
    serializer_class._memo.clear()
    towns = list(Town.objects.select_related("region", "district").order_by("pk"))
    assert len(towns) > 200
    serializer = serializer_class()
    for town in towns:
        expected = JSONRenderer().render(drf_own(serializer, town))
        for _ in range(2):  # computed, then kept
            assert JSONRenderer().render(serializer.to_representation(town)) == expected
    assert len(serializer_class._memo) == len(towns)


def test_a_changed_row_or_region_is_shown_changed():
    town = Town.objects.select_related("region", "district").filter(district__isnull=False)[0]
    serializer = TownSerializer()
    before = serializer.to_representation(town)
    town.population = (town.population or 0) + 1
    assert serializer.to_representation(town)["population"] == before["population"] + 1
    town.region.slug = town.region.slug + "-renamed"
    assert serializer.to_representation(town)["region"] == town.region.slug
    # A caller adding to its answer does not change the kept one.
    shown = serializer.to_representation(town)
    shown["extra"] = True
    assert "extra" not in serializer.to_representation(town)


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_no_field_reads_what_the_key_does_not_hold(serializer_class):
    model = serializer_class.Meta.model
    columns = {f.name for f in model._meta.concrete_fields} | {
        f.attname for f in model._meta.concrete_fields
    }
    for name, field in serializer_class().fields.items():
        first, *rest = field.source_attrs
        if first in serializer_class.memo_related:
            continue  # a related row: all its columns are in the key
        assert not rest and (first in columns or first in PURE_METHODS), (name, field.source)


def test_a_partly_loaded_row_or_an_unloaded_region_takes_drfs_path():
    serializer = TownSerializer()
    TownSerializer._memo.clear()
    partial = Town.objects.select_related("region", "district").only(
        "slug", "name_en", "region__slug", "district__slug"
    )[0]
    assert serializer._memo_key(partial) is None
    plain = Town.objects.order_by("pk")[0]  # region and district not loaded
    assert serializer._memo_key(plain) is None
    assert serializer.to_representation(plain)["slug"] == plain.slug
    assert not TownSerializer._memo


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(memo, "MEMO_ROWS", 10)
    TownSerializer._memo.clear()
    serializer = TownSerializer()
    for town in Town.objects.select_related("region", "district")[:25]:
        serializer.to_representation(town)
    assert len(TownSerializer._memo) == 10
