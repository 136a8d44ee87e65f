"""``/api/v1/towns.geojson``: every town matching the town list's filters, as GeoJSON.

The same filters, search and ordering as ``/api/v1/towns/`` (this view is the town list
without pagination: a map wants every point), rendered by :func:`towns.geo.town_features`.
``/api/v1/towns/?format=geojson`` gives the current page the same way.
"""

from django.urls import re_path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from governance.api.schema import success_contents
from towns.api.views import TownViewSet
from towns.geo import (
    FEATURE_COLLECTION_SCHEMA,
    GEOJSON_MEDIA_TYPE,
    TownGeoJSONRenderer,
    town_features_rendered,
)


def geojson_schema_hook(result, generator, request, public, **kwargs):
    """POSTPROCESSING_HOOKS entry: every ``application/geo+json`` answer is described by the
    one typed ``TownFeatureCollection`` (:data:`towns.geo.FEATURE_COLLECTION_SCHEMA`), not by
    the JSON list's schema drf-spectacular would repeat for each renderer."""
    used = False
    for content in success_contents(result):
        if GEOJSON_MEDIA_TYPE in content:
            content[GEOJSON_MEDIA_TYPE] = {"schema": {"$ref": REF}}
            used = True
    if used:
        schemas = result.setdefault("components", {}).setdefault("schemas", {})
        schemas["TownFeatureCollection"] = FEATURE_COLLECTION_SCHEMA
    return result


REF = "#/components/schemas/TownFeatureCollection"


class TownGeoJSONView(TownViewSet):
    """Every town matching the filters, as a GeoJSON FeatureCollection (RFC 7946)."""

    renderer_classes = [TownGeoJSONRenderer]
    pagination_class = None

    @extend_schema(
        operation_id="towns_geojson",
        tags=["towns"],
        filters=True,
        summary="Towns as GeoJSON",
        responses={
            (200, GEOJSON_MEDIA_TYPE): OpenApiResponse(
                FEATURE_COLLECTION_SCHEMA, description="The towns as a FeatureCollection."
            )
        },
    )
    def collection(self, request, *args, **kwargs):
        # Not named "list": the response is one FeatureCollection, not an array of towns.
        return Response(town_features_rendered(self.filter_queryset(self.get_queryset())))


urlpatterns = [
    re_path(
        r"^towns\.geojson$",
        TownGeoJSONView.as_view({"get": "collection"}),
        name="town-geojson",
    ),
]
