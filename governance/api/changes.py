"""``/api/v1/changes/``: the records a client no longer sees since a point in time (tombstones).

Incremental sync has two halves. ``?updated_since=T`` on a list gives the records added or
changed since ``T``; this endpoint gives the ones to drop: for every list, the records that
were in it for this viewer at ``T`` and are not now (deleted, unpublished, restricted to a
higher level, or otherwise out of the list), by the list's key (``slug``, ``code`` or ``id``)
and nothing else.

How it decides, without revealing anything the viewer never saw:

* **changed since T**: the record has an event after ``T`` in its pghistory table (every
  insert, update and delete, queryset updates and SQL included);
* **not in the list now**: it is not in the list's own queryset for this viewer (the same
  ``visible_to`` and filters the list uses);
* **in the list at T**: its last event at or before ``T`` (the record as it was at ``T``) is
  not deleted and, below research level, published at a level the viewer may see.

The third test reads the record's own fields at ``T``. Lists whose membership also depends on
other records (a CSO link needs both CSOs visible; a post needs a visible appointment) cannot
be judged from the record alone, so they are not covered (``tombstones = False`` on the view,
listed under ``not_covered`` in the answer): sync those by comparing keys with a full listing.
"""

from __future__ import annotations

import datetime
import re

from django.db.models import Max
from django.urls import NoReverseMatch, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.access import LEVELS_FOR, PublicationState, Viewer, viewer_level
from governance.api.views import AtlasViewMixin
from governance.audit import event_model_for

LEAP_SECOND = re.compile(r"(?<=T\d\d:\d\d):60")


def list_views() -> dict[str, type]:
    """Every list of the API: its path segment (``towns``, ``cso-links``) → its viewset."""
    found: dict[str, type] = {}
    for name in get_resolver().reverse_dict:
        if not (isinstance(name, str) and name.endswith("-list")):
            continue
        try:
            url = reverse(name, kwargs={"version": "v1"})
        except NoReverseMatch:  # a list route of another shape: not an API list
            continue
        view = getattr(resolve(url).func, "cls", None)
        # The research and reference lists (not a client's own revisions).
        if view is not None and issubclass(view, AtlasViewMixin):
            found[url.rstrip("/").rsplit("/", 1)[-1]] = view
    return dict(sorted(found.items()))


def _listed_at(snapshot, level: Viewer) -> bool:
    """Whether the record, as its event ``snapshot`` has it, was in a list for ``level``."""
    if snapshot.pgh_label == "delete":
        return False
    if getattr(snapshot, "deleted_at", None) is not None:
        return False
    if level == Viewer.RESEARCH or not hasattr(snapshot, "state"):
        return True
    return snapshot.state == PublicationState.PUBLISHED and (
        getattr(snapshot, "access_level", None) in LEVELS_FOR[level]
    )


def removed_since(view_class: type, request, since: datetime.datetime) -> list | None:
    """Keys of the records of ``view_class``'s list that left it for ``request``'s viewer
    since ``since`` (see the module's docstring); None when the list's records keep no
    history to tell."""
    view = view_class()
    view.request, view.action, view.format_kwarg, view.kwargs, view.args = (
        request,
        "list",
        None,
        {},
        (),
    )
    queryset = view.get_queryset()
    events = event_model_for(queryset.model)
    if events is None:
        return None
    changed = set(
        events.objects.filter(pgh_created_at__gt=since)
        .values_list("pgh_obj_id", flat=True)
        .distinct()
    )
    if not changed:
        return []
    gone = changed - set(queryset.filter(pk__in=changed).values_list("pk", flat=True))
    if not gone:
        return []
    latest = (
        events.objects.filter(pgh_obj_id__in=gone, pgh_created_at__lte=since)
        .values("pgh_obj_id")
        .annotate(last=Max("pgh_id"))
        .values_list("last", flat=True)
    )
    level = viewer_level(request.user)
    key = getattr(view_class, "lookup_field", "pk")
    key = "pgh_obj_id" if key in ("pk", "id") else key
    return sorted(
        getattr(snapshot, key)
        for snapshot in events.objects.filter(pgh_id__in=list(latest))
        if _listed_at(snapshot, level)
    )


class ChangesView(APIView):
    """What left your lists since a point in time: for incremental sync with
    ``updated_since``."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="changes_removed",
        tags=["changes"],
        parameters=[
            OpenApiParameter(
                "since",
                {"type": "string", "format": "date-time"},
                required=True,
                description="The time of your last sync (ISO 8601, with its offset).",
            ),
        ],
        responses={
            200: inline_serializer(
                "RemovedSince",
                fields={
                    "since": serializers.DateTimeField(),
                    "until": serializers.DateTimeField(
                        help_text="Use it as `since` next time (and as `updated_since`)."
                    ),
                    "removed": serializers.DictField(
                        child=serializers.ListField(child=serializers.CharField()),
                        help_text="List name → keys (slug, code or id) to drop from your copy.",
                    ),
                    "not_covered": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="Lists whose removals this cannot tell: compare keys with "
                        "a full listing.",
                    ),
                },
            )
        },
    )
    def get(self, request, *args, **kwargs):
        # RFC 3339 allows a lower-case t and z, and a leap second (read as the second before).
        raw = LEAP_SECOND.sub(":59", request.query_params.get("since", "").strip().upper())
        try:
            since = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(
                {"since": [_("Give an ISO 8601 time, e.g. 2026-12-01T00:00:00Z.")]}
            ) from None
        if since.tzinfo is None:
            raise ValidationError({"since": [_("Give the time with its offset (Z or +03:00).")]})
        try:
            since = since.astimezone(datetime.UTC)
        except OverflowError:  # within a day of the first or the last representable time
            since = (
                datetime.datetime.min.replace(tzinfo=datetime.UTC)
                if since.year == 1
                else datetime.datetime.max.replace(tzinfo=datetime.UTC)
            )
        until = timezone.now()
        removed, not_covered = {}, []
        for name, view_class in list_views().items():
            keys = None
            if getattr(view_class, "tombstones", True):
                keys = removed_since(view_class, request, since)
            if keys is None:
                not_covered.append(name)
            elif keys:
                removed[name] = [str(k) for k in keys]
        return Response(
            {"since": since, "until": until, "removed": removed, "not_covered": not_covered}
        )
