"""ETag / If-None-Match on lists and details: 200 with a tag, then 304 while unchanged."""

from __future__ import annotations

import pytest

from governance.access import PublicationState
from towns.models import Activity

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.mark.parametrize(
    "url",
    [
        f"{API}towns/",
        f"{API}towns/olshany/",
        f"{API}activities/",
        f"{API}csos/",
        f"{API}indicator-values/?town=olshany",
        f"{API}towns/olshany/profile/",
        f"{API}towns/olshany/indicators/?indicator=population",
    ],
)
def test_etag_round_trip(client, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert "Accept" in first["Vary"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200


def test_etag_changes_when_the_data_changes(client):
    url = f"{API}activities/"
    etag = client.get(url)["ETag"]
    activity = Activity.objects.visible_to(None).order_by("pk").first()
    Activity.objects.filter(pk=activity.pk).update(title="Renamed initiative")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_etag_changes_when_a_record_leaves_the_viewers_sight(client):
    url = f"{API}activities/"
    etag = client.get(url)["ETag"]
    activity = Activity.objects.visible_to(None).order_by("pk").first()
    Activity.objects.filter(pk=activity.pk).update(state=PublicationState.DRAFT)
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_viewers_with_different_access_get_different_tags(personas):
    url = f"{API}activities/"
    public = personas["anonymous"].api_client().get(url)["ETag"]
    research = personas["researcher"].api_client().get(url)["ETag"]
    assert public != research
    response = personas["researcher"].api_client().get(url, HTTP_IF_NONE_MATCH=public)
    assert response.status_code == 200


def test_wildcard_and_lists_of_tags_match(client):
    url = f"{API}regions/"
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"x", {etag}').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH=etag.removeprefix("W/")).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304


def test_errors_and_writes_carry_no_etag(client):
    assert "ETag" not in client.get(f"{API}towns/atlantis/")
    assert "ETag" not in client.post(f"{API}activities/", {}, content_type="application/json")


def test_a_tag_over_json_texts_follows_each_text_and_its_place():
    """Texts already written as JSON (the map's features) are hashed as the array they make:
    the same texts give the same tag, and a changed, moved, added or removed text a new one;
    the rest of the data still counts. Texts already joined (a kept map) make the same array,
    so they get the same tag as the texts one by one."""
    from governance.api.etag import JSONTexts, weak_etag

    def tag(features, **rest):
        return weak_etag({"type": "FeatureCollection", **rest, "features": JSONTexts(features)})

    base = tag(['{"id": 1}', '{"id": 2}'], links=[])
    assert base == tag(['{"id": 1}', '{"id": 2}'], links=[])
    others = [
        tag(['{"id": 1}', '{"id": 3}'], links=[]),
        tag(['{"id": 2}', '{"id": 1}'], links=[]),
        tag(['{"id": 1}', '{"id": 2}', '{"id": 3}'], links=[]),
        tag(['{"id": 1}'], links=[]),
        tag(['{"id": 1}', '{"id": 2}'], links=[{"rel": "next"}]),
    ]
    assert len({base, *others}) == 1 + len(others)
    assert tag(['{"id": 1},{"id": 2}'], links=[]) == base
    # Another language or media type is another tag, as for any data.
    texts = {"features": JSONTexts(['{"id": 1}'])}
    assert weak_etag(texts, language="be") != weak_etag(texts, language="ru")
