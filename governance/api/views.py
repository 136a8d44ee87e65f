"""What every resource of the API shares: filters, ordering, pagination, ETags and writes.

* :class:`ReadOnlyResource` and :class:`ResearchResource` are the two base viewsets. Both
  choose a list, a detail and a write serializer in ``get_serializer_class()``, write the
  restricted-field access log once per response, and tag reads with a weak ETag
  (:mod:`governance.api.etag`).
* Reads are open (:class:`governance.api.access.ResearchWrite`); every resource builds its
  queryset with ``Model.objects.visible_to(request.user)``.
* Writes go through the service the admin uses (``save_service``); a Django
  ``ValidationError`` becomes a 400 with field errors (:mod:`governance.api.exceptions`).
  Deletion is soft: the record gets ``deleted_at`` and disappears for everyone but stays in the
  history, recoverable from the admin.
* Filters, search and ordering on restricted fields are ignored below research level
  (``research_only`` filters, ``research_ordering_fields``, ``research_search_only``), so that
  they cannot be used as an oracle.

Pagination
----------
Short lists (regions, districts, posts, indicators, persons, ...) use page numbers
(``?page=``, ``?page_size=``, with a ``count``). Long lists (towns, CSOs, indicator values)
use :class:`CursorUnlessPaged`: they page by an opaque ``?cursor=`` in every order they offer
(keyset pagination on all the ordering fields, fast at any depth:
:class:`governance.api.pagination.KeysetPagination`), and by number only when the client asks
for a numbered page (``?page=``). Both shapes have ``count``, ``next``, ``previous`` and
``results``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime

from django import forms
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.filters import BooleanFilter
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import BooleanWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, pagination, serializers, status, viewsets
from rest_framework.exceptions import APIException, MethodNotAllowed, ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request, clone_request
from rest_framework.response import Response

from governance.api.access import ResearchWrite, is_research_viewer
from governance.api.etag import if_match_holds, representation_etag, with_etag
from governance.api.pagination import KeysetPagination, PageNumberPagination
from governance.api.serializers import READS_ATTR, flush_restricted_reads
from governance.cache import CachedReadMixin
from governance.entry import apply_entry_defaults
from governance.models import Confidence
from governance.services import VersionConflict, is_versioned, record_save, version_conflict
from governance.text import search_filter

# --- Filtering ---------------------------------------------------------------------------------


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 datetime, converted to UTC before it reaches PostgreSQL.

    Python accepts offsets up to ±23:59 but PostgreSQL only ±15:59, so a client's
    ``…T01:40-19:31`` would otherwise fail in the database instead of being answered.
    """

    def filter(self, qs, value):
        if value is not None:
            value = value.astimezone(datetime.UTC)
        return super().filter(qs, value)


class StrictBooleanWidget(BooleanWidget):
    """``true``/``false``/``1``/``0`` as django-filter reads them; anything else is handed to
    the field as it is, to be refused (django-filter would read it as "no filter")."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value == "":
            return None
        known = super().value_from_datadict(data, files, name)
        return value if known is None else known


class StrictBooleanField(forms.NullBooleanField):
    """A boolean filter value: true, false or absent; ``?is_synthetic=maybe`` is a 400."""

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        raise forms.ValidationError(_("Enter true or false."), code="invalid")

    def validate(self, value):
        pass


def _own_copy(prepared):
    """A shallow copy of a prepared filter for one filter set: a ``method`` filter's
    ``FilterMethod`` names the filter it belongs to, so the copy gets its own."""
    copied = copy.copy(prepared)
    if prepared.method is not None:
        copied.method = prepared.method
    return copied


class AtlasFilterSet(filters.FilterSet):
    """Every list can be synced incrementally with ``updated_since`` (an ISO 8601 datetime).

    Filters named in ``research_only`` (e.g. by person) are dropped for viewers below
    research level: they could tell which hidden person holds which post.
    """

    updated_since = UTCDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label=_("Changed at or after this ISO 8601 datetime"),
    )

    research_only: tuple[str, ...] = ()

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # django-filter's own __init__, but for the filters: django-filter deep-copies the
        # class's filters for each request and builds their form fields and a form class
        # again, a fifth of an uncached list request (about 1.5 ms). The filters of a class
        # and viewer level are prepared once (:meth:`_prepared`); each request gets shallow
        # copies (their own ``model`` and ``parent``) and the prepared form class.
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        model = queryset.model
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        filters_, self._atlas_form_class = self._prepared(is_research_viewer(request))
        self.filters = {name: _own_copy(filter_) for name, filter_ in filters_.items()}
        for filter_ in self.filters.values():
            filter_.model = model
            filter_.parent = self

    @classmethod
    def _prepared(cls, research: bool) -> tuple[dict, type]:
        """The filters a viewer of this level has (strict booleans; the research-only ones
        left out below research level), with their form fields built, and the form class."""
        kept = cls.__dict__.get("_atlas_prepared")
        if kept is None:
            kept = {}
            cls._atlas_prepared = kept
        found = kept.get(research)
        if found is not None:
            return found
        filters_ = copy.deepcopy(cls.base_filters)
        for declared in filters_.values():
            if isinstance(declared, BooleanFilter):
                declared.field_class = StrictBooleanField
                declared.extra["widget"] = StrictBooleanWidget
                declared.__dict__.pop("_field", None)  # built before, e.g. by the schema
        if not research:
            for name in cls.research_only:
                filters_.pop(name, None)
        fields = {name: filter_.field for name, filter_ in filters_.items()}
        form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        kept[research] = (filters_, form_class)
        return kept[research]

    def get_form_class(self):
        if list(self.filters) == list(self._atlas_form_class.base_fields):
            return self._atlas_form_class
        return super().get_form_class()  # filters changed since: as django-filter does


class ResearchFilterSet(AtlasFilterSet):
    """Filters of research records: confidence (claims) and the synthetic flag."""

    is_synthetic = filters.BooleanFilter()


class ClaimFilterSet(ResearchFilterSet):
    confidence = filters.ChoiceFilter(choices=Confidence.choices)


def dated_overlap(queryset, *, year_from: int | None = None, year_to: int | None = None):
    """Records whose ``start_date``–``end_date`` period overlaps the years (open ends do)."""
    if year_from is not None:
        queryset = queryset.filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__year__gte=year_from)
        )
    if year_to is not None:
        queryset = queryset.filter(
            models.Q(start_date__isnull=True) | models.Q(start_date__year__lte=year_to)
        )
    return queryset


PG_INTEGER_MAX = 2147483647


def bounded_filter(name: str, minimum, maximum, doc: str, *, integer: bool = True) -> type:
    """A number filter that refuses, with a 400, any value outside ``minimum``-``maximum`` (or
    not whole, for ``integer``), and says its bounds in the OpenAPI schema: a value the schema
    allows is never refused by the server, and one it refuses never reaches the database."""

    class Bounded(filters.NumberFilter):
        if integer:
            field_class = forms.IntegerField

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("min_value", minimum)
            kwargs.setdefault("max_value", maximum)
            super().__init__(*args, **kwargs)

    Bounded.__name__ = Bounded.__qualname__ = name
    Bounded.__doc__ = doc
    schema = {"type": "integer" if integer else "number", "minimum": minimum, "maximum": maximum}
    return extend_schema_field(schema)(Bounded)


YearFilter = bounded_filter(
    "YearFilter", 1000, 2999, "A whole year between 1000 and 2999: anything else is a 400."
)
IdFilter = bounded_filter(
    "IdFilter", 1, PG_INTEGER_MAX, "A record id: a whole number from 1 (PostgreSQL's integer)."
)
CountFilter = bounded_filter(
    "CountFilter", 0, PG_INTEGER_MAX, "A whole number from 0 (a population)."
)
ShareFilter = bounded_filter(
    "ShareFilter", 0, 1, "A share between 0 and 1: anything else is a 400.", integer=False
)


class DatedFilterSet(ClaimFilterSet):
    """Claims with a period: ``year_from``/``year_to`` keep those overlapping the years."""

    year_from = YearFilter(method="filter_year_from", label=_("Active in or after"))
    year_to = YearFilter(method="filter_year_to", label=_("Active in or before"))

    def filter_year_from(self, queryset, name, value):
        return dated_overlap(queryset, year_from=int(value))

    def filter_year_to(self, queryset, name, value):
        return dated_overlap(queryset, year_to=int(value))


class AtlasSearchFilter(SearchFilter):
    """``?search=`` in any of the three languages.

    With ``search_key_field`` (towns, CSOs) the folded search key is matched, so Latin,
    Cyrillic and Łacinka spellings all meet (see :mod:`governance.text`); otherwise the view's
    ``search_fields``. With ``research_search_only`` (persons) only research-level viewers
    search at all: a name search must not confirm who is in the data.
    """

    def get_search_fields(self, view, request):
        if getattr(view, "research_search_only", False) and not is_research_viewer(request):
            return ()
        return super().get_search_fields(view, request)

    def filter_queryset(self, request, queryset, view):
        key_field = getattr(view, "search_key_field", None)
        if key_field is None:
            return super().filter_queryset(request, queryset, view)
        term = request.query_params.get(self.search_param, "")[:100]
        where = search_filter(term, key_field)
        return queryset if where is None else queryset.filter(where)


class LevelAwareOrderingFilter(OrderingFilter):
    """``?ordering=``: one or more of the view's ``ordering_fields``, comma-separated, each
    with an optional leading ``-``. Anything else is a 400 naming the fields allowed (never
    silently the default order). Below research level the ``research_ordering_fields`` (e.g.
    person names) are not allowed: sorting by a hidden field would leak it one comparison at a
    time; the refusal is the same whatever the data, so it tells nothing either."""

    def get_valid_fields(self, queryset, view, context=None):
        if getattr(view, "ordering_fields", None) is None:
            return []  # no ordering offered (DRF's default would be every serializer field)
        valid = super().get_valid_fields(queryset, view, context or {})
        hidden = set(getattr(view, "research_ordering_fields", ()))
        if hidden and not is_research_viewer(context.get("request") if context else None):
            valid = [(name, label) for name, label in valid if name not in hidden]
        return valid

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw:
            allowed = [
                name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
            ]
            if any(term.removeprefix("-") not in allowed for term in raw.split(",")):
                message = (
                    gettext(
                        "Order by one or more of: %(fields)s, separated by commas, each "
                        "optionally preceded by '-' for descending order."
                    )
                    % {"fields": ", ".join(allowed)}
                    if allowed
                    else gettext("This list has no ordering to choose.")
                )
                raise ValidationError({self.ordering_param: [message]})
        return super().get_ordering(request, queryset, view)


# --- Pagination --------------------------------------------------------------------------------


class CursorUnlessPaged(pagination.BasePagination):
    """Long lists: keyset cursor pages (:class:`KeysetPagination`) in whatever order the client
    asks for; page numbers only when the client asks for a numbered page (``?page=N``, random
    access, documented in docs/api.md; slower deep in a long list)."""

    def __init__(self):
        self.cursor = KeysetPagination()
        self.pages = PageNumberPagination()
        self.active: pagination.BasePagination = self.cursor

    def paginate_queryset(self, queryset, request, view=None):
        numbered = request.query_params.get(self.pages.page_query_param)
        self.active = self.pages if numbered else self.cursor
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return self.cursor.get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view):
        seen: dict[str, dict] = {}
        for paginator in (self.cursor, self.pages):
            for parameter in paginator.get_schema_operation_parameters(view):
                seen.setdefault(parameter["name"], parameter)
        seen["page"] = {
            **seen["page"],
            "description": "A numbered page, for random access (without it: cursor pages).",
        }
        return list(seen.values())

    def get_results(self, data):
        return data["results"]

    def to_html(self):
        return self.active.to_html() if self.active is self.pages else ""

    @property
    def display_page_controls(self):
        return self.active is self.pages and getattr(self.active, "display_page_controls", False)


# --- Viewsets ----------------------------------------------------------------------------------


class AtlasViewMixin(CachedReadMixin):
    """Serializer choice, filters, the access log, ETags and the read cache of every resource."""

    @property
    def allowed_methods(self):
        """The methods ``Allow`` names: those this client may call here, as its schema lists
        them (an anonymous reader is offered GET, HEAD and OPTIONS, not the writes it would be
        refused). Decided by the view's own permission classes, as for OPTIONS' ``actions``."""
        methods = super().allowed_methods
        request = getattr(self, "request", None)
        if request is None or not hasattr(request, "_user"):
            # DRF asks at the start of dispatch, before authentication (which must not run
            # early: a CSRF failure would be lost); finalize_response sets the real list.
            return methods
        return [m for m in methods if m in SAFE_METHODS or self._may_call(request, m)]

    def get_renderers(self):
        renderers = super().get_renderers()
        request = getattr(self, "request", None)
        if request is not None and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            # A write answers with the record (or a problem): JSON, or the browsable API.
            renderers = [r for r in renderers if r.format in ("json", "api")] or renderers
        return renderers

    def perform_content_negotiation(self, request, force=False):
        # A method the view does not have is a 405 whatever the Accept header: negotiate
        # leniently so that the 405 is not masked by a 406 (DRF negotiates first).
        handler = getattr(self, request.method.lower(), None)
        if request.method.lower() not in self.http_method_names or handler is None:
            force = True
        # A write answers in JSON whatever ?format= says: a client that may not write gets
        # its 401 or 403 (or 405), not a 406 about the format of an answer it cannot have.
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            force = True
        return super().perform_content_negotiation(request, force=force)

    def _may_call(self, request, method: str) -> bool:
        probe = clone_request(request, method)
        try:
            return all(p.has_permission(probe, self) for p in self.get_permissions())
        except APIException:  # e.g. the credentials failed: this client may call no write
            return False

    permission_classes = [ResearchWrite]
    filter_backends = [DjangoFilterBackend, AtlasSearchFilter, LevelAwareOrderingFilter]
    pagination_class = PageNumberPagination
    list_serializer_class = None
    write_serializer_class = None
    research_ordering_fields: tuple[str, ...] = ()
    research_search_only = False
    search_key_field: str | None = None

    def get_serializer_class(self):
        if self.action == "list" and self.list_serializer_class is not None:
            return self.list_serializer_class
        if (
            self.action in ("create", "update", "partial_update")
            and self.write_serializer_class is not None
        ):
            return self.write_serializer_class
        return self.serializer_class

    def detail_serializer(self, instance):
        return self.serializer_class(instance, context=self.get_serializer_context())

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(request, Request):
            # Authenticate, if nothing did yet, for Allow; a failure is already the answer.
            with contextlib.suppress(APIException):
                request.user  # noqa: B018
            self.headers["Allow"] = ", ".join(self.allowed_methods)
        response = super().finalize_response(request, response, *args, **kwargs)
        flush_restricted_reads(request)
        response = with_etag(request, response)
        self.keep_read(response)
        return response


class ReadOnlyResource(AtlasViewMixin, viewsets.ReadOnlyModelViewSet):
    """Public reference data (places): read-only through the API."""


def soft_delete(*, instance: models.Model, actor, save_service=record_save) -> None:
    """Delete ``instance`` recoverably through the review workflow (logged, audited)."""
    from governance.workflow import record_soft_delete

    record_soft_delete(record=instance, actor=actor, via="api", save_service=save_service)


class ServiceWriteMixin:
    """Create, update and (soft) delete through the service the admin uses.

    ``m2m_fields`` are set after the save by the service (``record_save(m2m=...)``). The
    response of a write is the detail representation, as the writer may see it, with its ETag.

    Concurrent edits (see :mod:`governance.services` and :mod:`governance.api.etag`):

    * ``If-Match`` on PUT, PATCH or DELETE that does not match the record's current ETag
      (weak comparison with the detail GET's tag) → 412 Precondition Failed, nothing written;
    * ``version`` in a PUT or PATCH body other than the record's current one → 409 Conflict
      with a message naming the changed fields and the current record as the writer may see
      it; so does losing a race to another writer between reading and saving the record;
    * neither → the write proceeds from the version just read (still refused with 409 if
      another write lands between that read and the save, never overwritten silently).

    A change or deletion of a published record (or of reference data), and a new reference
    record, is not applied: the service stores it as the writer's pending revision
    (governance.revisions) and the answer is ``202 Accepted`` with the revision and the record
    as published (``current``: null for a new record) (:meth:`pending_response`).
    """

    save_service = staticmethod(record_save)
    m2m_fields: tuple[str, ...] = ()

    def _split(self, validated: dict) -> tuple[dict, dict]:
        data = dict(validated)
        m2m = {name: list(data.pop(name)) for name in self.m2m_fields if name in data}
        return data, m2m

    def _respond(self, instance, serializer, status_code):
        try:
            instance = self.get_queryset().get(pk=instance.pk)
        except instance.DoesNotExist:
            # Saved, but not visible to the writer (e.g. a draft from a partner token): the
            # answer says so and echoes nothing of the record, not even what was sent (the
            # write serializer holds fields the writer may not read).
            return Response(
                {
                    "id": instance.pk,
                    "detail": gettext(
                        "Saved. The record is not visible to you as it is now (for example "
                        "a draft waiting for review)."
                    ),
                },
                status=status_code,
            )
        data = self.detail_serializer(instance).data
        return Response(
            data, status=status_code, headers={"ETag": representation_etag(self.request, data)}
        )

    # -- the optimistic lock

    def _quiet_detail(self, instance) -> dict:
        """The detail representation, for its ETag only: not logged as a read (not sent)."""
        reads = getattr(self.request, "_request", self.request).__dict__
        noted = reads.pop(READS_ATTR, None)
        try:
            return self.detail_serializer(instance).data
        finally:
            reads.pop(READS_ATTR, None)
            if noted is not None:
                reads[READS_ATTR] = noted

    def precondition_failed(self, instance) -> Response | None:
        """412 when ``If-Match`` is given and does not match the record's current ETag."""
        if not self.request.META.get("HTTP_IF_MATCH", "").strip():
            return None
        etag = representation_etag(self.request, self._quiet_detail(instance))
        if if_match_holds(self.request, etag):
            return None
        return Response(
            {
                "detail": gettext(
                    "The record changed since you read it: its ETag no longer matches "
                    "If-Match. Nothing was written; GET it again and repeat the change."
                ),
                "code": "precondition_failed",
            },
            status=status.HTTP_412_PRECONDITION_FAILED,
            headers={"ETag": etag},
        )

    def stated_version(self) -> int | None:
        """The ``version`` of the request body, when it is a whole number (else the
        serializer answers 400)."""
        data = self.request.data
        raw = data.get("version") if hasattr(data, "get") else None
        if raw is None or isinstance(raw, bool):
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None

    def conflict_response(self, conflict: VersionConflict) -> Response:
        """409 with the message and the current record as the writer may see it (or null)."""
        current = None
        try:
            record = self.get_queryset().get(pk=conflict.instance.pk)
        except conflict.instance.DoesNotExist:
            record = None
        headers = {}
        if record is not None:
            current = self.detail_serializer(record).data
            headers["ETag"] = representation_etag(self.request, current)
        shown = [c for c in conflict.changes if current is not None and c.name in current]
        message = conflict.describe(
            show_values=False,
            show_editors=is_research_viewer(self.request),
            changes=shown,
        )
        return Response(
            {
                "detail": message,
                "code": "version_conflict",
                "your_version": conflict.expected,
                "current_version": None if current is None else current.get("version"),
                "changed_fields": [c.name for c in shown],
                "current": current,
            },
            status=status.HTTP_409_CONFLICT,
            headers=headers,
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields, m2m = self._split(serializer.validated_data)
        instance = serializer.Meta.model(**fields)
        # The team's entry defaults (access level, state) as in the admin and imports, except
        # what the writer sent (a reviewer may send an access level).
        apply_entry_defaults(instance, explicit=set(fields))
        self.save_service(instance=instance, actor=request.user, via="api", m2m=m2m)
        if getattr(instance, "_pending_revision", None) is not None:
            return self.pending_response(instance)  # a new reference record waits for review
        serializer.instance = instance
        return self._respond(instance, serializer, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        failed = self.precondition_failed(instance)
        if failed is not None:
            return failed
        versioned = is_versioned(instance)
        stated = self.stated_version() if versioned else None
        if stated is not None and stated != instance.version:
            # Refused before validating: the client must read the record again anyway.
            return self.conflict_response(
                version_conflict(
                    instance, expected=stated, current=instance.version, actor=request.user
                )
            )
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields, m2m = self._split(serializer.validated_data)
        fields.pop("version", None)  # checked above; the service raises it
        for name, value in fields.items():
            setattr(instance, name, value)
        try:
            self.save_service(instance=instance, actor=request.user, via="api", m2m=m2m)
        except VersionConflict as conflict:
            # Another write landed between our read and our save (the row lock decided).
            return self.conflict_response(conflict)
        if getattr(instance, "_pending_revision", None) is not None:
            return self.pending_response(instance)
        return self._respond(instance, serializer, status.HTTP_200_OK)

    def pending_response(self, instance) -> Response:
        """202: the change waits for a reviewer (governance.revisions); the record as published."""
        revision = instance._pending_revision
        current = None
        if instance.pk is not None:
            try:
                current = self.detail_serializer(self.get_queryset().get(pk=instance.pk)).data
            except instance.DoesNotExist:
                current = None
        return Response(
            {
                "detail": gettext(
                    "Saved for review: a reviewer must approve this change before anyone "
                    "else sees it. Until then the record stays as published."
                ),
                "code": "pending_review",
                "revision": {
                    "id": revision.pk,
                    "kind": revision.kind,
                    "fields": sorted(revision.changes),
                    "status": revision.status,
                },
                "current": current,
            },
            status=status.HTTP_202_ACCEPTED,
        )

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        if not hasattr(instance, "deleted_at"):
            raise MethodNotAllowed(request.method)
        failed = self.precondition_failed(instance)
        if failed is not None:
            return failed
        try:
            self.perform_destroy(instance)
        except VersionConflict as conflict:
            return self.conflict_response(conflict)
        if getattr(instance, "_pending_revision", None) is not None:
            return self.pending_response(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, instance):
        if not hasattr(instance, "deleted_at"):
            raise MethodNotAllowed(self.request.method)
        soft_delete(instance=instance, actor=self.request.user, save_service=self.save_service)


class ResearchResource(
    AtlasViewMixin,
    ServiceWriteMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """A research resource: open reads of what the viewer may see, writes for researchers."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The schema shows what a write takes (write serializer) and what it answers (detail).
        write, detail = (
            cls.__dict__.get("write_serializer_class"),
            cls.__dict__.get("serializer_class"),
        )
        if write is not None and detail is not None:
            conflict = conflict_serializer(detail)
            changed = {
                200: detail,
                409: OpenApiResponse(
                    conflict,
                    description="A stale `version` in the body (or a concurrent write won the "
                    "race): nothing written; the current record as you may see it.",
                ),
                412: OpenApiResponse(
                    PreconditionFailedSerializer,
                    description="`If-Match` does not match the record's current ETag: "
                    "nothing written.",
                ),
            }
            deleted = {
                204: None,
                409: changed[409],
                412: changed[412],
            }
            extend_schema_view(
                create=extend_schema(request=write, responses={201: detail}),
                update=extend_schema(request=write, responses=changed, parameters=[IF_MATCH]),
                partial_update=extend_schema(
                    request=write, responses=changed, parameters=[IF_MATCH]
                ),
                destroy=extend_schema(responses=deleted, parameters=[IF_MATCH]),
            )(cls)


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the record's detail GET (weak comparison). When it no longer "
    "matches, the write answers 412 and nothing is written. Leave it out to skip the check.",
)


class PreconditionFailedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


def conflict_serializer(detail) -> serializers.Serializer:
    """The body of a 409: the message, the versions, changed fields and the current record."""
    name = detail.__name__.removesuffix("Serializer").removesuffix("Detail")
    return inline_serializer(
        name=f"{name}VersionConflict",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "your_version": serializers.IntegerField(),
            "current_version": serializers.IntegerField(allow_null=True),
            "changed_fields": serializers.ListField(child=serializers.CharField()),
            "current": detail(allow_null=True),
        },
    )
