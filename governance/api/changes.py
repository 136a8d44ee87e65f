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

The third test reads the record's own fields at ``T``, and, for the lists whose membership
depends on other records, theirs at ``T`` too, as the view declares (:class:`Needs`):

* ``Needs(each={"source_cso": CSO, ...})``: listed only while every record those foreign
  keys name is listed (a CSO link needs both its CSOs); a change to one of them counts as a
  change of the record;
* ``Needs(any_of=(Appointment, "post"))``: below research level, listed only while at least
  one record of that model pointing at it is (a post needs a published appointment the viewer
  may see); a change to such a record counts as a change of what it points at, before and
  after.

A view with ``tombstones = False`` is listed under ``not_covered`` (none is, today): sync such a
list by comparing keys with a full listing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Max, Q
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


@dataclass(frozen=True)
class Needs:
    """What else must be listed for a record of a list to be (set as ``tombstone_needs`` on
    the view; see the module's docstring)."""

    each: dict[str, type] = field(default_factory=dict)  # foreign key → model of its target
    any_of: tuple[type, str] | None = None  # (model, its foreign key to the record)


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


def _snapshots_at(model, ids, since) -> dict:
    """Each record of ``model`` among ``ids`` as it was at ``since`` (its last event then):
    object id → event row. A record with no event by then did not exist yet."""
    events = event_model_for(model)
    latest = (
        events.objects.filter(pgh_obj_id__in=list(ids), pgh_created_at__lte=since)
        .values("pgh_obj_id")
        .annotate(last=Max("pgh_id"))
        .values_list("last", flat=True)
    )
    return {e.pgh_obj_id: e for e in events.objects.filter(pgh_id__in=list(latest))}


#: Up to this many ids are handled in Python with index lookups; past it, in one set operation.
FEW = 10_000


def _few_or_query(ids):
    """The ids of ``ids`` (a ``values_list`` query) as a list when there are at most
    :data:`FEW`, else the query itself, to be used as a subquery."""
    found = list(ids.order_by().distinct()[: FEW + 1])
    return found if len(found) <= FEW else ids


def _not_listed(candidates, listed) -> set:
    """The ids among ``candidates`` (a ``values_list`` query) that ``listed`` (the list's own
    query, as ids) does not hold. A few candidates (a recent ``since``) are looked up by key;
    many (a bulk load since then: millions) are subtracted by PostgreSQL in one ``EXCEPT``.
    Neither shape depends on the planner's statistics: an anti-join did, and on a freshly
    loaded database (no ANALYZE yet) it took 62 s for the demo data."""
    few = _few_or_query(candidates)
    if isinstance(few, list):
        return set(few) - set(listed.filter(pk__in=few))
    return set(candidates.order_by().difference(listed))


def _since(model, since):
    """The events of ``model``'s records after ``since`` (a queryset, not run)."""
    return event_model_for(model).objects.filter(pgh_created_at__gt=since)


def removed_since(view_class: type, request, since: datetime.datetime) -> list | None:
    """Keys of the records of ``view_class``'s list that left it for ``request``'s viewer
    since ``since`` (see the module's docstring); None when the list's records (or those it
    depends on) keep no history to tell."""
    view = view_class()
    view.request, view.action, view.format_kwarg, view.kwargs, view.args = (
        request,
        "list",
        None,
        {},
        (),
    )
    queryset = view.get_queryset()
    model = queryset.model
    needs = getattr(view_class, "tombstone_needs", None) or Needs()
    related = [*needs.each.values(), *([needs.any_of[0]] if needs.any_of else [])]
    if event_model_for(model) is None or any(event_model_for(m) is None for m in related):
        return None
    level = viewer_level(request.user)
    listed = queryset.order_by().values_list("pk", flat=True)
    gone = _not_listed(_since(model, since).values_list("pgh_obj_id", flat=True), listed)
    related_changes = Q()
    for fk, target in needs.each.items():
        moved = _few_or_query(_since(target, since).values_list("pgh_obj_id", flat=True))
        related_changes |= Q(**{f"{fk}__in": moved})
    if needs.any_of and level != Viewer.RESEARCH:
        holder, fk = needs.any_of
        events = event_model_for(holder).objects
        moved = _few_or_query(_since(holder, since).values_list("pgh_obj_id", flat=True))
        # What they point at now and what they pointed at before: both may have changed.
        pointed = events.filter(pgh_obj_id__in=moved).values_list(f"{fk}_id", flat=True)
        related_changes |= Q(pk__in=_few_or_query(pointed))
    if related_changes:
        gone |= _not_listed(
            model.objects.filter(related_changes).values_list("pk", flat=True), listed
        )
    if not gone:
        return []
    then = {
        pk: snapshot
        for pk, snapshot in _snapshots_at(model, gone, since).items()
        if _listed_at(snapshot, level)
    }
    for fk, target in needs.each.items():
        targets = _snapshots_at(target, {getattr(s, f"{fk}_id") for s in then.values()}, since)
        then = {
            pk: snapshot
            for pk, snapshot in then.items()
            if (t := targets.get(getattr(snapshot, f"{fk}_id"))) is not None
            and _listed_at(t, level)
        }
    if needs.any_of and level != Viewer.RESEARCH and then:
        holder, fk = needs.any_of
        ever = (
            event_model_for(holder)
            .objects.filter(**{f"{fk}_id__in": list(then), "pgh_created_at__lte": since})
            .values_list("pgh_obj_id", flat=True)
            .distinct()
        )
        held = {
            getattr(h, f"{fk}_id")
            for h in _snapshots_at(holder, set(ever), since).values()
            if _listed_at(h, level)
        }
        then = {pk: snapshot for pk, snapshot in then.items() if pk in held}
    key = getattr(view_class, "lookup_field", "pk")
    key = "pgh_obj_id" if key in ("pk", "id") else key
    return sorted(getattr(snapshot, key) for snapshot in then.values())


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
