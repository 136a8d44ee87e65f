"""The read cache's default file backend (governance/filecache.py)."""

import io
import os
import pickle
import subprocess
import sys
import zlib
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from governance.filecache import FileCache

ROOT = Path(__file__).resolve().parents[2]


def make(tmp_path, max_entries=100):
    return FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": max_entries}})


def test_the_default_read_cache_is_this_backend():
    # The test settings use a per-process cache; a deployment with no READ_CACHE_URL and no
    # REDIS_URL gets this backend, and an explicit filecache:// URL does too.
    code = (
        "import governance.settings as s; c = s.CACHES[s.READ_CACHE_ALIAS];"
        "print(c['BACKEND'], c['OPTIONS']['MAX_ENTRIES'])"
    )
    for extra in ({}, {"READ_CACHE_URL": "filecache:///tmp/atlas-elsewhere"}):
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "READ_CACHE_URL")}
        env.update(DEBUG="true", READ_CACHE_ENTRIES="700", **extra)
        out = subprocess.run(  # noqa: S603 (our own interpreter)
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.stdout.split() == ["governance.filecache.FileCache", "700"], out.stderr


def test_a_write_does_not_list_the_directory(tmp_path):
    cache = make(tmp_path, max_entries=500)  # counts every 10th write
    with mock.patch.object(
        FileCache, "_list_cache_files", autospec=True, side_effect=FileBasedCache._list_cache_files
    ) as listing:
        for n in range(30):
            cache.set(f"k{n}", {"n": n})
    assert listing.call_count == 3  # writes 1, 11 and 21, not 30
    assert cache.get("k29") == {"n": 29}


def test_the_bound_still_holds_within_one_check(tmp_path):
    cache = make(tmp_path, max_entries=100)  # counts every 2nd write
    for n in range(400):
        cache.set(f"k{n}", b"x" * 10)
    files = list(tmp_path.glob("*.djcache"))
    assert len(files) <= 100 + cache.check_every
    assert len(files) >= 50  # culled a third at a time, not emptied


def test_entries_are_read_by_both_backends(tmp_path):
    ours, djangos = make(tmp_path), FileBasedCache(str(tmp_path), {})
    ours.set("a", {"text": "Тураў" * 100})
    djangos.set("b", [1, 2, 3])
    assert djangos.get("a") == {"text": "Тураў" * 100}
    assert ours.get("b") == [1, 2, 3]


def test_entries_are_compressed_fast(tmp_path):
    cache = make(tmp_path)
    value = ('{"type": "Feature", "properties": {"name": "Тураў"}} ' * 2000).encode()
    cache.set("big", value)
    (path,) = tmp_path.glob("*.djcache")
    stored = path.read_bytes()
    assert len(stored) < len(value) / 10  # compressed
    # After the pickled expiry, a zlib stream whose header says level 1 (0x78 0x01).
    stream = io.BytesIO(stored)
    pickle.load(stream)  # noqa: S301 (a file this test wrote)
    payload = stream.read()
    assert payload[:2] == b"\x78\x01"
    assert pickle.loads(zlib.decompress(payload)) == value  # noqa: S301 (written here)


@pytest.mark.parametrize("bad", [0, -5])
def test_check_interval_is_at_least_one(tmp_path, bad):
    assert FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": bad}}).check_every == 1
