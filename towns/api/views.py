"""Resources of the local-authority side under /api/v1/.

Places (regions, districts, towns) are public reference data and read-only here. Research
records (sources, persons, appointments, influence groups, ties, indicator values, activities)
are read through ``visible_to(request.user)`` and written by researchers through
:func:`towns.services.research_record_save` (which also refreshes the towns' stored
aggregates). Posts and indicators are reference data researchers may add and correct, but
not delete (values and appointments point at them).

Pagination: towns and indicator values page by cursor in their default order (see
:class:`governance.api.views.CursorUnlessPaged`); every other list pages by number.
"""

from __future__ import annotations

import json

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from governance.api.changes import Needs
from governance.api.rendered import (
    AtlasJSONRenderer,
    NotRendered,
    rendered_zone,
    rows_as_rendered,
)
from governance.api.views import CursorUnlessPaged, ReadOnlyResource, ResearchResource
from governance.models import Source
from towns import kept
from towns.api import filters as f
from towns.api import serializers as s
from towns.api.bulk import (
    MAX_ROWS,
    BulkRejected,
    BulkValueRowSerializer,
    indicator_values_bulk_create,
)
from towns.api.profile import (
    ProfileQuerySerializer,
    SeriesQuerySerializer,
    TownProfileSerializer,
    TownSeriesSerializer,
    profile_data,
    series_data,
    series_payload,
    series_rendered,
)
from towns.api.rendered import town_texts
from towns.geo import TownGeoJSONRenderer
from towns.models import (
    Activity,
    Appointment,
    District,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    Region,
    Tie,
    Town,
)
from towns.services import research_record_save

NAME_SEARCH = ["name_en", "name_be", "name_ru"]


def visible_sources(user):
    return Prefetch("sources", queryset=Source.objects.visible_to(user).only("pk"))


# --- Places ------------------------------------------------------------------------------------

BULK_REJECTED = inline_serializer(
    "BulkRejected",
    fields={
        "detail": serializers.CharField(),
        "errors": inline_serializer(
            "BulkRowError",
            fields={
                "row": serializers.IntegerField(),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
            # A body that is not JSON at all is a 400 with "detail" only.
            required=False,
        ),
    },
)

#: The years an indicator value may have (the model's validators).
YEARS = {"type": "integer", "minimum": 1990, "maximum": 2100}


class RegionViewSet(ReadOnlyResource):
    """Regions (voblasts) of Belarus and Minsk city. Public place data."""

    serializer_class = s.RegionDetailSerializer
    list_serializer_class = s.RegionSerializer
    lookup_field = "slug"
    filterset_class = f.RegionFilter
    search_fields = NAME_SEARCH
    ordering_fields = ["code", "name_en", "updated_at"]
    ordering = ["code"]

    def get_queryset(self):
        return Region.objects.all()


class DistrictViewSet(ReadOnlyResource):
    """Districts (raions). Public place data."""

    serializer_class = s.DistrictSerializer
    lookup_field = "slug"
    filterset_class = f.DistrictFilter
    search_fields = NAME_SEARCH
    ordering_fields = ["name_en", "updated_at"]
    ordering = ["region__code", "name_en"]

    def get_queryset(self):
        return District.objects.select_related("region")


class TownViewSet(ReadOnlyResource):
    """Towns with names in three languages. ``search`` matches any spelling of any name.

    ``typology`` and ``own_share`` are aggregates stored from published claims (public by
    design); ``/profile/`` computes them again from what the viewer may see, with the rest.
    """

    serializer_class = s.TownDetailSerializer
    list_serializer_class = s.TownSerializer
    lookup_field = "slug"
    filterset_class = f.TownFilter
    pagination_class = CursorUnlessPaged
    # ?format=geojson gives the current page (or the one town) as an RFC 7946
    # FeatureCollection; the profile and the indicator series are not places, so not GeoJSON.
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, TownGeoJSONRenderer]
    search_fields = ["search_text"]
    search_key_field = "search_text"
    ordering_fields = ["name_en", "population", "own_share", "updated_at"]
    ordering = ["name_en", "pk"]

    def get_queryset(self):
        if getattr(self, "action", None) == "indicators":
            return Town.objects.only("pk", "slug")  # the series needs no more of the town
        return Town.objects.select_related("region", "district")

    def list(self, request, *args, **kwargs):
        """When the answer is JSON, the page's rows are written by PostgreSQL in the query that
        reads them (:mod:`governance.api.rendered`: byte for byte the serializer's text);
        other formats (CSV, GeoJSON, the browsable API) go through the serializer."""
        if not isinstance(getattr(request, "accepted_renderer", None), AtlasJSONRenderer):
            return super().list(request, *args, **kwargs)
        try:
            texts = town_texts(rendered_zone())
        except NotRendered:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        # Each row of the page is read with only the columns its order needs (a cursor is made
        # of them) and its text, written by PostgreSQL.
        orders = [*self.ordering_fields, *self.research_ordering_fields, *self.ordering]
        columns = {term.lstrip("-") for term in orders}
        queryset = queryset.select_related(None).only(*columns)
        page = self.paginate_queryset(queryset.annotate(atlas_json=texts.annotation))
        rows = rows_as_rendered(row.atlas_json for row in page)
        if rows is None:
            return super().list(request, *args, **kwargs)
        return self.get_paginated_response(rows)

    def get_renderers(self):
        renderers = super().get_renderers()
        if getattr(self, "action", None) not in ("profile", "indicators"):
            return renderers
        return [r for r in renderers if not isinstance(r, TownGeoJSONRenderer)]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                description="The profile as of this day (default today).",
            )
        ],
        responses={200: TownProfileSerializer},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def profile(self, request, *args, **kwargs):
        """The computed profile: balance, typology, criteria, ventures, network, advice.

        Everything is computed only from the records the viewer may see, and each part
        carries its explanation.
        """
        query = (
            {"as_of": request.query_params["as_of"]} if request.query_params.get("as_of") else {}
        )
        checked = ProfileQuerySerializer(data=query)
        checked.is_valid(raise_exception=True)
        as_of = checked.validated_data.get("as_of")
        if as_of is None:
            # Today's profile is kept per change (towns.kept), not computed per request: a
            # current kept row answers with one query, before the town itself is loaded.
            found = kept.find(kwargs[self.lookup_field], user=request.user)
            if found is not None and found.body is not None:
                self.check_object_permissions(request, Town(pk=found.town_id))
                return Response(json.loads(found.body))
            town = self.get_object()
            return Response(kept.profile_for(town, user=request.user, found=found))
        town = self.get_object()
        data = profile_data(town, user=request.user, as_of=as_of)
        return Response(TownProfileSerializer(data).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "indicator",
                {"type": "array", "items": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}},
                explode=True,
                description="Indicator code(s); an unknown code is a 400.",
            ),
            OpenApiParameter("from", YEARS, description="First year (inclusive)."),
            OpenApiParameter(
                "to", YEARS, description="Last year (inclusive); before 'from': no values."
            ),
        ],
        responses={200: TownSeriesSerializer},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def indicators(self, request, *args, **kwargs):
        """Time series of one or many indicators of the town (values the viewer may see)."""
        params = request.query_params
        query = {"indicator": [code for code in params.getlist("indicator") if code]}
        for key in ("from", "to"):
            if params.get(key):
                query[key] = params[key]
        checked = SeriesQuerySerializer(data=query)
        checked.is_valid(raise_exception=True)
        options = {
            "user": request.user,
            "codes": checked.validated_data.get("indicator"),
            "year_from": checked.validated_data.get("from"),
            "year_to": checked.validated_data.get("to"),
        }
        if isinstance(getattr(request, "accepted_renderer", None), AtlasJSONRenderer):
            # Written by PostgreSQL, byte for byte as below (towns.api.profile), the town found
            # by its slug in the same query. Only an empty series looks the town up (a 404 for
            # a town that does not exist); values found mean it does.
            slug = kwargs[self.lookup_field]
            data = series_rendered(slug, **options)
            if data["series"]:
                self.check_object_permissions(request, Town(slug=slug))
            else:
                self.get_object()
            return Response(data)
        town = self.get_object()
        return Response(series_payload(series_data(town, **options)))


# --- Evidence and who governs ------------------------------------------------------------------


class SourceViewSet(ResearchResource):
    """Sources of evidence. Interview codes and notes are research level only."""

    serializer_class = s.SourceSerializer
    write_serializer_class = s.SourceWriteSerializer
    filterset_class = f.SourceFilter
    search_fields = ["citation"]
    ordering_fields = ["citation", "date", "updated_at"]
    ordering = ["citation", "pk"]

    def get_queryset(self):
        return Source.objects.visible_to(self.request.user)


class PersonViewSet(ResearchResource):
    """Persons in power and in networks. Names follow ``names_access_level``: a viewer below
    it gets the record without any name key. Name search and ordering: research level only."""

    serializer_class = s.PersonDetailSerializer
    list_serializer_class = s.PersonSerializer
    write_serializer_class = s.PersonWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("sources",)
    filterset_class = f.PersonFilter
    search_fields = [*NAME_SEARCH, "given_name", "family_name", "patronymic_name"]
    research_search_only = True
    ordering_fields = ["id", "name_en", "updated_at"]
    research_ordering_fields = ("name_en",)
    # Not by name: the order of a list must not reveal hidden names.
    ordering = ["id"]

    def get_queryset(self):
        qs = Person.objects.visible_to(self.request.user).select_related("origin_town")
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(self.request.user))
        return qs


class PostViewSet(ResearchResource):
    """Posts (positions) such as the chairman of the district executive committee."""

    # Public only through a visible appointment (governance.api.changes).
    tombstone_needs = Needs(any_of=(Appointment, "post"))

    serializer_class = s.PostSerializer
    write_serializer_class = s.PostWriteSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    filterset_class = f.PostFilter
    search_fields = [*NAME_SEARCH, "organization"]
    ordering_fields = ["name_en", "kind", "updated_at"]
    ordering = ["name_en", "pk"]

    def get_queryset(self):
        return Post.objects.visible_to(self.request.user)


class AppointmentViewSet(ResearchResource):
    """Who held which post in which town, when, and where they were recruited from.

    ``person`` is present only when the viewer may see who it is.
    """

    serializer_class = s.AppointmentDetailSerializer
    list_serializer_class = s.AppointmentSerializer
    write_serializer_class = s.AppointmentWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("influenced_by_groups", "influenced_by_persons", "sources")
    filterset_class = f.AppointmentFilter
    ordering_fields = ["start_date", "end_date", "updated_at", "id"]
    ordering = ["-start_date", "id"]

    def get_queryset(self):
        user = self.request.user
        qs = Appointment.objects.visible_to(user).select_related("person", "post", "town")
        if self.action != "list":
            qs = qs.prefetch_related(
                Prefetch(
                    "influenced_by_groups",
                    queryset=InfluenceGroup.objects.visible_to(user).only("pk"),
                ),
                Prefetch("influenced_by_persons", queryset=Person.objects.visible_to(user)),
                visible_sources(user),
            )
        return qs


class InfluenceGroupViewSet(ResearchResource):
    """Groups and structures of influence ("our own" or "aliens") and their claims on towns."""

    serializer_class = s.InfluenceGroupDetailSerializer
    list_serializer_class = s.InfluenceGroupSerializer
    write_serializer_class = s.InfluenceGroupWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("sources",)
    filterset_class = f.InfluenceGroupFilter
    search_fields = NAME_SEARCH
    ordering_fields = ["name_en", "kind", "updated_at"]
    ordering = ["name_en", "pk"]

    def get_queryset(self):
        user = self.request.user
        qs = InfluenceGroup.objects.visible_to(user)
        if self.action != "list":
            qs = qs.prefetch_related(
                visible_sources(user),
                Prefetch(
                    "influences",
                    queryset=Influence.objects.visible_to(user)
                    .select_related("town")
                    .order_by("town__name_en", "pk"),
                ),
            )
        return qs


class TieViewSet(ResearchResource):
    """Informal ties between persons (restricted unless opened). Persons as in appointments."""

    serializer_class = s.TieDetailSerializer
    list_serializer_class = s.TieSerializer
    write_serializer_class = s.TieWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("sources",)
    filterset_class = f.TieFilter
    ordering_fields = ["start_date", "updated_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        user = self.request.user
        qs = Tie.objects.visible_to(user).select_related("person_a", "person_b")
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(user))
        return qs


# --- What is governed and the gap --------------------------------------------------------------


class IndicatorViewSet(ResearchResource):
    """The indicators of the two systems (1: national standards; 2: "problem-free")."""

    serializer_class = s.IndicatorDetailSerializer
    list_serializer_class = s.IndicatorSerializer
    write_serializer_class = s.IndicatorWriteSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    lookup_field = "code"
    filterset_class = f.IndicatorFilter
    search_fields = [*NAME_SEARCH, "code"]
    ordering_fields = ["system", "code", "updated_at"]
    ordering = ["system", "code"]

    def get_queryset(self):
        return Indicator.objects.select_related("definition_source")


class IndicatorValueViewSet(ResearchResource):
    """Values of indicators per town and period (quarter 0 = the whole year).

    Long list: pages by cursor in the default order (by id, stable for incremental sync).
    ``POST /indicator-values/bulk/`` uploads many values at once, all or nothing.
    """

    serializer_class = s.IndicatorValueDetailSerializer
    list_serializer_class = s.IndicatorValueSerializer
    write_serializer_class = s.IndicatorValueWriteSerializer
    save_service = staticmethod(research_record_save)
    write_scope = "write:indicators"
    filterset_class = f.IndicatorValueFilter
    pagination_class = CursorUnlessPaged
    ordering_fields = ["id", "year", "value", "updated_at"]
    ordering = ["id"]

    def get_queryset(self):
        return IndicatorValue.objects.visible_to(self.request.user).select_related(
            "town", "indicator", "source"
        )

    @extend_schema(
        request=BulkValueRowSerializer(many=True),
        responses={
            201: inline_serializer("BulkCreated", fields={"created": serializers.IntegerField()}),
            400: OpenApiResponse(
                response=BULK_REJECTED,
                description=(
                    "Nothing was saved; each error names its row (from 0) and field. A body "
                    "that cannot be parsed has only the detail."
                ),
            ),
            422: OpenApiResponse(
                response=BULK_REJECTED,
                description=(
                    "Nothing was saved: the rows are well-formed but name a town, indicator or "
                    "source that does not exist (or that you may not see), repeat a value, or "
                    "break a rule of the research; each error names its row and field."
                ),
            ),
        },
        description=f"Upload up to {MAX_ROWS} values: all are saved, or none.",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request, *args, **kwargs):
        """Create many indicator values in one transaction; a row report on any error."""
        try:
            created = indicator_values_bulk_create(
                rows=request.data, actor=request.user, request=request
            )
        except BulkRejected as rejected:
            return Response(
                {
                    "detail": "The upload has errors; no row was saved.",
                    "errors": [
                        {"row": e.row, "field": e.field, "message": e.message}
                        for e in rejected.errors
                    ],
                },
                # Only unknown names, duplicates and the research's rules: a well-formed
                # upload the data refuses (422); any malformed row makes it a 400.
                status=(
                    status.HTTP_422_UNPROCESSABLE_ENTITY
                    if all(e.against_data for e in rejected.errors)
                    else status.HTTP_400_BAD_REQUEST
                ),
            )
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class ActivityViewSet(ResearchResource):
    """Activities (initiatives) and their place relative to the indicators: covered, in the
    gap, forbidden. The detail carries the venture assessment (how likely the LA backs it)."""

    serializer_class = s.ActivityDetailSerializer
    list_serializer_class = s.ActivitySerializer
    write_serializer_class = s.ActivityWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("sources",)
    filterset_class = f.ActivityFilter
    search_fields = ["title"]
    ordering_fields = ["title", "year", "updated_at", "id"]
    ordering = ["title", "id"]

    def get_queryset(self):
        user = self.request.user
        qs = Activity.objects.visible_to(user).select_related("town")
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(user))
        return qs


def bulk_request_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: the bulk upload's body holds 1 to ``MAX_ROWS`` rows (what
    :func:`towns.api.bulk.indicator_values_bulk_create` accepts; drf-spectacular does not carry
    a list's bounds over to a request body)."""
    operation = result.get("paths", {}).get("/api/v1/indicator-values/bulk/", {}).get("post")
    if operation:
        for content in operation.get("requestBody", {}).get("content", {}).values():
            if content.get("schema", {}).get("type") == "array":
                content["schema"].update(minItems=1, maxItems=MAX_ROWS)
    return result
