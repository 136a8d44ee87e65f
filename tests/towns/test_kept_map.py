"""The kept whole map (towns/kept.py, "Kept documents"): ``/api/v1/towns.geojson`` with no
parameter, computed once per change of what it shows (the "regionless" state: the features
hold no indicator value), byte for byte and tag for tag the computed answer, never behind the
data, never kept for a research reader or a filtered map, and off with ``KEPT_PROFILES=false``.

As in tests/towns/test_kept_profiles.py, rows are kept only under a state that no transaction
of its own has written to: personas are created after the rows they are compared with, and
the write that must make the row stale is committed on a connection of its own and put back.
"""

from __future__ import annotations

import gzip

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance.access import Viewer
from tests.personas import build_persona
from towns import kept
from towns.api.geojson import whole_map
from towns.models import IndicatorValue, KeptDocument, Town

pytestmark = pytest.mark.django_db

MAP = "/api/v1/towns.geojson"


@pytest.fixture(autouse=True)
def read_cache_off(settings):
    """The read cache off, as in the benchmark's cold column: every answer here is the kept
    map or a computed one, never a cached response."""
    settings.READ_CACHE_TIMEOUT = 0


@pytest.fixture(autouse=True)
def nothing_kept():
    """No kept map to begin with (in the test's transaction: a keeper process of another test
    may have committed one)."""
    KeptDocument.objects.all().delete()


def feature_reads(queries) -> list[str]:
    """The queries of the map's records (what a kept map spares)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "towns_townmapfeature" in q["sql"] or 'FROM "towns_town"' in q["sql"]
    ]


def test_a_kept_map_is_the_computed_answer_and_spares_its_queries(settings):
    """The first anonymous request computes and keeps the map; the next is the same bytes and
    the same tag, read in one query with none of the towns; a matching ``If-None-Match`` is a
    304 either way; with the kept reads off the map is computed again, the same bytes and tag."""
    client = Client()
    first = client.get(MAP)
    assert first.status_code == 200
    row = KeptDocument.objects.get(name="map")
    assert (row.level, row.language, row.count) == (Viewer.PUBLIC, "en", Town.objects.count())
    assert row.etag == first["ETag"]
    assert row.body in first.content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = client.get(MAP)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Content-Type"] == first["Content-Type"] == "application/geo+json"
    assert feature_reads(queries) == []
    assert len([q for q in queries.captured_queries if "towns_keptdocument" in q["sql"]]) == 1
    assert client.get(MAP, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    settings.KEPT_PROFILES = False
    with CaptureQueriesContext(connection) as queries:
        computed = client.get(MAP)
    assert feature_reads(queries), "computed, not read from the kept row"
    assert not [q for q in queries.captured_queries if "towns_keptdocument" in q["sql"]]
    assert computed.content == first.content
    assert computed["ETag"] == first["ETag"]
    assert client.get(MAP, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_the_keeper_keeps_the_public_map_first():
    """``refresh_map`` computes the public's map once, then finds it current; its row is the
    whole map as the view computes it; a keeper pass of kind "map" computes nothing else."""
    from towns.management.commands.keep_profiles import Command

    assert not kept.map_current()
    assert kept.refresh_map() is True
    assert kept.map_current()
    assert kept.refresh_map() is False
    row = KeptDocument.objects.get(name="map")
    assert row.body == ",".join(whole_map(kept.viewer(Viewer.PUBLIC))["features"])
    assert Client().get(MAP).content.decode().endswith("[" + row.body + "]}")

    KeptDocument.objects.all().delete()
    command = Command()
    command.kinds, command.map, command.share = [], True, 1.0
    assert command._pass((1, 2), limit=None) == 0, "only the first of keepers side by side"
    assert command._pass((0, 2), limit=None) == 1
    assert kept.map_current()


def test_values_leave_the_map_current_and_a_town_write_makes_it_stale(commit):
    """An approved indicator value (the bulk of the writes) changes nothing the map shows:
    the kept map stays current. A town's own record does: the map is stale, and the next
    answer shows the change."""
    assert kept.refresh_map()
    value = IndicatorValue.objects.visible_to(None).filter(quarter=0).first()
    commit(
        "UPDATE towns_indicatorvalue SET value = value + 1 WHERE id = %s",
        [value.pk],
        revert=("UPDATE towns_indicatorvalue SET value = value - 1 WHERE id = %s", [value.pk]),
    )
    assert kept.map_current()

    town = Town.objects.get(slug="olshany")
    commit(
        "UPDATE towns_town SET name_en = %s WHERE id = %s",
        ["Olshany-renamed", town.pk],
        revert=("UPDATE towns_town SET name_en = %s WHERE id = %s", [town.name_en, town.pk]),
    )
    assert not kept.map_current()
    shown = Client().get(MAP).json()
    names = {f["properties"]["slug"]: f["properties"]["name_en"] for f in shown["features"]}
    assert names["olshany"] == "Olshany-renamed"


def test_a_filtered_map_and_a_research_reader_are_never_kept():
    """A map with parameters is computed per request (its answer is not the whole map), and
    a research reader's (logged field by field) is computed and never kept."""
    filtered = Client().get(MAP, {"region": "vitebsk"})
    assert filtered.status_code == 200
    assert 0 < filtered.json()["numberMatched"] < Town.objects.count()
    assert not KeptDocument.objects.exists()

    researcher = build_persona(get_user_model(), "researcher").client
    with CaptureQueriesContext(connection) as queries:
        shown = researcher.get(MAP)
    assert shown.status_code == 200
    assert feature_reads(queries)
    assert not KeptDocument.objects.exists()


def test_a_client_that_accepts_gzip_gets_the_kept_map_as_it_was_compressed():
    """Every browser accepts gzip: the kept map goes out as compressed when it was kept (one
    query, nothing compressed per request), the same bytes once decompressed, the same tag,
    headers and 304 as the map compressed per request; a request with a session cookie (the
    browsable API's) is never compressed."""
    client = Client(HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    computed = client.get(MAP)  # computes and keeps it; compressed by the middleware
    assert computed["Content-Encoding"] == "gzip"
    identity = Client().get(MAP)
    assert identity.get("Content-Encoding") is None
    with CaptureQueriesContext(connection) as queries:
        kept_answer = client.get(MAP)
    assert feature_reads(queries) == []
    assert kept_answer.status_code == 200
    assert kept_answer["Content-Encoding"] == "gzip"
    assert gzip.decompress(kept_answer.content) == identity.content
    assert gzip.decompress(computed.content) == identity.content
    # Compressed per request, Django pads the header with a random file name (against
    # BREACH); the kept answer has none: it was compressed once, with no request in it.
    assert computed.content[3] & gzip.FNAME
    assert not kept_answer.content[3] & gzip.FNAME
    assert int(kept_answer["Content-Length"]) == len(kept_answer.content)
    for header in ("Content-Type", "ETag", "Vary", "Content-Language"):
        assert kept_answer.get(header) == computed.get(header), header
    assert "Accept-Encoding" in kept_answer["Vary"]
    assert client.get(MAP, HTTP_IF_NONE_MATCH=kept_answer["ETag"]).status_code == 304

    client.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"
    assert client.get(MAP).get("Content-Encoding") is None
