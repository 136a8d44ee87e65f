"""Incremental sync a partner can trust: updated_since plus the tombstones of /changes/ (issue 18).

A partner copies the lists, a day of mixed edits happens (a value changed, one unpublished, one
restricted above the partner's level, a CSO deleted, so that its links leave the links list, an
activity added, one hard-deleted, the one appointment that made a post public unpublished, so
that the post leaves the posts list), the partner syncs with ``updated_since`` and
``/api/v1/changes/``, and its copy equals a fresh full download. The feed never names a record
the partner could not see.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext

from csos.models import CSO, CSOLink
from governance.access import AccessLevel, PublicationState
from governance.cache import clear as clear_read_cache
from governance.models import Source
from governance.tokens import token_issue
from towns.models import Activity, Appointment, IndicatorValue, Post

pytestmark = pytest.mark.django_db

API = "/api/v1/"
#: Covered lists and their keys.
LISTS = {
    "indicator-values": "id",
    "csos": "slug",
    "activities": "id",
    "sources": "id",
    # Lists whose membership depends on other records (governance.api.changes.Needs).
    "cso-links": "id",
    "posts": "id",
    "appointments": "id",
}


@pytest.fixture
def partner(django_user_model):
    user = django_user_model.objects.create_user(username="sync-partner", password="a-long-9x")
    user.groups.add(Group.objects.get(name="partner"))
    _, key = token_issue(user=user, name="sync", scopes=["read:partner"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def download(client, name: str, **params) -> dict[str, dict]:
    rows, url, query = {}, f"{API}{name}/", {"page_size": 500, **params}
    while url:
        response = client.get(url, query)
        assert response.status_code == 200, (name, response.content[:300])
        body = response.json()
        for row in body["results"]:
            rows[str(row[LISTS[name]])] = row
        url, query = body["next"], None
    return rows


def test_a_partner_copy_synced_through_a_day_of_edits_equals_a_fresh_download(
    partner, writes_without_review, monkeypatch
):
    with connection.cursor() as cursor:
        # Every event of this test (one transaction) is stamped with its start: just after.
        cursor.execute("SELECT now() - interval '1 millisecond'")
        (since,) = cursor.fetchone()
    copy = {name: download(partner, name) for name in LISTS}
    # A source the partner never saw (restricted): it must never be named.
    hidden = Source.objects.filter(access_level=AccessLevel.RESTRICTED).first()
    assert hidden is not None and str(hidden.pk) not in copy["sources"]

    values = list(
        IndicatorValue.objects.visible_to(None).filter(access_level=AccessLevel.PUBLIC)[:3]
    )
    changed, unpublished, restricted = values
    changed.value = changed.value + 1
    changed.save()
    unpublished.state = PublicationState.DRAFT
    unpublished.save()
    restricted.access_level = AccessLevel.RESTRICTED
    restricted.save()
    # A public CSO with public links to other public CSOs: deleting it takes the links out of
    # the links list although the links themselves do not change.
    viewer = get_user_model().objects.get(username="sync-partner")
    public_csos = CSO.objects.visible_to(viewer)
    public_links = CSOLink.objects.visible_to(viewer).filter(
        source_cso__in=public_csos, target_cso__in=public_csos
    )
    gone_cso = public_csos.filter(links_out__in=public_links).order_by("slug").first()
    assert gone_cso is not None
    links_gone = {
        str(pk)
        for pk in public_links.filter(Q(source_cso=gone_cso) | Q(target_cso=gone_cso)).values_list(
            "pk", flat=True
        )
    }
    assert links_gone <= set(copy["cso-links"])
    gone_cso.deleted_at = since
    gone_cso.save()
    # A post public through its appointments: unpublishing them hides the post.
    post = Post.objects.visible_to(viewer).order_by("pk").first()
    appointments = list(Appointment.objects.visible_to(viewer).filter(post=post))
    assert appointments and str(post.pk) in copy["posts"]
    for appointment in appointments:
        appointment.state = PublicationState.DRAFT
        appointment.save()
    template = Activity.objects.visible_to(None).order_by("pk").first()
    added = Activity.objects.create(
        town=template.town,
        title="Sync test: a new community garden",
        field=template.field,
        status=template.status,
        benefit=3,
        cost=2,
        threat=1,
        access_level=AccessLevel.PUBLIC,
        state=PublicationState.PUBLISHED,
        confidence="medium",
        is_synthetic=True,
    )
    hard_deleted = Activity.objects.visible_to(None).exclude(pk=added.pk).order_by("-pk").first()
    Activity.objects.filter(pk=hard_deleted.pk).delete()
    # The source the partner never saw changes and is deleted: the feed must not name it.
    hidden.note = "edited while hidden"
    hidden.save()
    hidden.deleted_at = since
    hidden.save()

    stamp = since.isoformat()
    for name in LISTS:
        copy[name].update(download(partner, name, updated_since=stamp))
    # Both ways of finding what left a list give the same feed: a few candidates looked up by
    # key, and many (a bulk load since the last sync) subtracted in one EXCEPT
    # (governance.api.changes.FEW). The downloads are the expensive part (67,861 values, twice),
    # so the two ways share one day of edits.
    bodies = {}
    for way, few in (("by key", 10_000), ("by set difference", 0)):
        monkeypatch.setattr("governance.api.changes.FEW", few)
        clear_read_cache()  # the second read must be computed, not the first one's answer
        with CaptureQueriesContext(connection) as queries:
            feed = partner.get(f"{API}changes/", {"since": stamp})
        assert feed.status_code == 200, (way, feed.content)
        excepts = sum(" EXCEPT " in query["sql"] for query in queries.captured_queries)
        assert (excepts > 0) == (way == "by set difference"), (way, excepts)
        bodies[way] = feed.json()
    for part in ("removed", "not_covered"):  # "until" is each request's own time
        assert bodies["by key"][part] == bodies["by set difference"][part], part
    body = bodies["by key"]
    for name, keys in body["removed"].items():
        for key in keys:
            copy.get(name, {}).pop(key, None)

    assert body["removed"]["indicator-values"] == sorted(
        [str(unpublished.pk), str(restricted.pk)], key=int
    )
    assert body["removed"]["csos"] == [gone_cso.slug]
    assert body["removed"]["activities"] == [str(hard_deleted.pk)]
    assert str(hidden.pk) not in body["removed"].get("sources", [])
    assert body["not_covered"] == []
    assert set(body["removed"]["cso-links"]) == links_gone
    assert body["removed"]["posts"] == [str(post.pk)]
    assert body["removed"]["appointments"] == sorted((str(a.pk) for a in appointments), key=int)
    for name in LISTS:
        assert copy[name] == download(partner, name), name


def test_since_must_be_a_time_with_its_offset():
    client = Client()
    for value in ("", "yesterday", "2026-12-01T00:00:00"):
        response = client.get(f"{API}changes/", {"since": value})
        assert response.status_code == 400, value
        assert "since" in response.json()["errors"]
    assert client.get(f"{API}changes/", {"since": "2026-12-01T00:00:00Z"}).status_code == 200
