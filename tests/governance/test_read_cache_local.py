"""The per-worker copy of the read cache (governance/cache.py ``_LocalTier``): used over a
shared cache (files or Redis), bounded in bytes, and never stale after a write."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings

from governance import cache as read_cache
from towns.models import Town

pytestmark = pytest.mark.django_db

PATH = "/api/v1/towns/?page_size=5"


@pytest.fixture
def file_cache(tmp_path):
    shared = {
        **settings.CACHES,
        settings.READ_CACHE_ALIAS: {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "reads"),
        },
    }
    with override_settings(CACHES=shared, READ_CACHE_LOCAL_MB=1):
        read_cache.clear()
        yield caches[settings.READ_CACHE_ALIAS]
        read_cache.clear()


def test_a_hit_is_answered_from_the_workers_copy(file_cache):
    client = Client()
    first = client.get(PATH)
    assert first.status_code == 200
    assert read_cache._local.entries, "nothing was copied into the worker's memory"
    # With the shared cache emptied, the worker's copy still answers, with the same body.
    file_cache.clear()
    second = client.get(PATH)
    assert second.get("X-Atlas-Cache") == "hit"
    assert second.content == first.content


def test_a_write_is_read_back_at_once_through_the_workers_copy(file_cache):
    client = Client()
    town = Town.objects.order_by("pk").first()
    path = f"/api/v1/towns/{town.slug}/"
    client.get(path)
    assert client.get(path).get("X-Atlas-Cache") == "hit"
    Town.objects.filter(pk=town.pk).update(name_en="Local tier check")
    fresh = client.get(path)
    assert fresh.get("X-Atlas-Cache") != "hit"
    assert fresh.json()["name_en"] == "Local tier check"


def test_the_workers_copy_stays_within_its_bound(file_cache):
    tier = read_cache._LocalTier()
    body = b"x" * 20_000
    for n in range(200):  # 4 MB offered to a 1 MiB copy
        tier.put(f"k{n}", (body, {}))
    assert 0 < tier.size <= 1024 * 1024
    assert len(tier.entries) < 200
    assert tier.get("k199") is not None  # the most recent stay
    assert tier.get("k0") is None  # the oldest went first
    # An entry larger than an eighth of the copy is never kept in it.
    tier.put("big", (b"x" * 200_000, {}))
    assert tier.get("big") is None


def test_no_copy_over_an_in_memory_shared_cache():
    assert caches[settings.READ_CACHE_ALIAS].__class__.__name__ == "LocMemCache"
    Client().get(PATH)
    assert not read_cache._local.entries
