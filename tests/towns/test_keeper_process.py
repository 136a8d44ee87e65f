"""The profile keeper as a deployment runs it (``manage.py keep_profiles``, a process of its
own beside the app): it fills its towns (profiles and public dashboards), computes a town's
profile and its region's dashboards again after a committed write, and of two keepers one
works while the other waits, then takes over when the first stops.

The keepers work on a slice of the towns (``--part``) of this test database and commit; the
rows they wrote and the write the test made are removed afterwards.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from governance.access import Viewer
from tests.dbtemplate import database_url
from tests.servers import django_env
from towns import kept
from towns.models import IndicatorValue, KeptProfile, Town
from towns.profile import CRITERIA_CODES

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PART = (0, 60)


def part_towns() -> list[int]:
    index, parts = PART
    return [pk for pk in Town.objects.values_list("pk", flat=True) if pk % parts == index]


def kept_states() -> dict[tuple[str, int, int], str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, town_id, level, state FROM towns_keptprofile")
        return {(kind, town, level): state for kind, town, level, state in cursor.fetchall()}


def wait(check, what: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def keeper(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own manage.py)
        [
            sys.executable,
            "manage.py",
            "keep_profiles",
            f"--part={PART[0]}/{PART[1]}",
            "--interval=0.3",
            "--nice=0",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


def test_the_keeper_fills_follows_a_write_and_hands_over(commit, tmp_path):
    towns = part_towns()
    assert towns
    wanted = {
        ("profile", town, int(level)) for town in towns for level in (Viewer.PUBLIC, Viewer.PARTNER)
    } | {(kind, town, int(Viewer.PUBLIC)) for kind in ("dashboard", "indicators") for town in towns}
    env = django_env(
        DATABASE_URL=database_url(
            connection.get_connection_params(), connection.settings_dict["NAME"]
        )
    )
    # A criterion's value: the profile and the rest of the dashboard read it (a value of any
    # other indicator leaves them be; tests/towns/test_kept_dashboards.py).
    value = (
        IndicatorValue.objects.visible_to(None)
        .filter(town_id__in=towns, indicator__code__in=CRITERIA_CODES)
        .order_by("pk")
        .first()
    )
    assert value is not None, "a town of the slice has a public value of a criterion"
    first = keeper(env, tmp_path / "first.log")
    second = None
    try:
        # Filled: both levels of every town of the slice, committed by the keeper.
        states = wait(lambda: (s := kept_states()) and wanted <= set(s) and s, "the fill")
        # The first part's keeper keeps the public's whole map too.
        assert wait(kept.map_current, "the map")
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, level FROM towns_keptdocument")
            assert cursor.fetchall() == [("map", int(Viewer.PUBLIC))]
        # A second keeper of the same slice waits for the first one's lock.
        second = keeper(env, tmp_path / "second.log")
        time.sleep(2)
        assert "keeping the town profiles current" not in (tmp_path / "second.log").read_text()

        # An approval in one town: the first keeper computes that town's two profiles and its
        # dashboard again, and the indicators' sections of the slice's towns in its region
        # (they show the regional ranks), and nothing else.
        commit(
            "UPDATE towns_indicatorvalue SET value = value WHERE id = %s",
            [value.pk],
            revert=("DELETE FROM towns_keptprofile; DELETE FROM towns_keptdocument", []),
        )
        region = Town.objects.get(pk=value.town_id).region_id
        in_region = set(
            Town.objects.filter(pk__in=towns, region=region).values_list("pk", flat=True)
        )
        expected = {
            ("profile", value.town_id, int(level)) for level in (Viewer.PUBLIC, Viewer.PARTNER)
        }
        expected |= {("indicators", town, int(Viewer.PUBLIC)) for town in in_region}
        expected.add(("dashboard", value.town_id, int(Viewer.PUBLIC)))

        def moved():
            now = kept_states()
            changed = {key for key, state in now.items() if states.get(key) != state}
            return changed if changed >= expected else None

        assert wait(moved, "the keeper to follow the write") == expected

        # The first keeper stops: the second takes over.
        stop(first)
        wait(
            lambda: "keeping the town profiles current" in (tmp_path / "second.log").read_text(),
            "the second keeper to take over",
            seconds=30,
        )
    finally:
        stop(first)
        if second is not None:
            stop(second)
    assert KeptProfile.objects.filter(town_id__in=towns).count() == len(wanted)
