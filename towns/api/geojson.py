"""``/api/v1/towns.geojson``: every town matching the town list's filters, as GeoJSON.

The same filters, search and ordering as ``/api/v1/towns/`` (this view is the town list
without pagination: a map wants every point), rendered by :func:`towns.geo.town_features`.
``/api/v1/towns/?format=geojson`` gives the current page the same way.
"""

from django.urls import re_path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from towns.api.views import TownViewSet
from towns.geo import GEOJSON_MEDIA_TYPE, PROPERTIES, TownGeoJSONRenderer, town_features

FEATURE_COLLECTION_SCHEMA = {
    "type": "object",
    "description": "RFC 7946 FeatureCollection of Point features ([longitude, latitude]).",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"type": "string"},
                    "geometry": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string", "enum": ["Point"]},
                            "coordinates": {
                                "type": "array",
                                "items": {"type": "number"},
                                "minItems": 2,
                                "maxItems": 2,
                            },
                        },
                        "required": ["type", "coordinates"],
                    },
                    "properties": {
                        "type": "object",
                        "description": "Public profile: " + ", ".join(PROPERTIES) + ".",
                    },
                },
                "required": ["type", "geometry", "properties"],
            },
        },
    },
    "required": ["type", "features"],
}


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
        return Response(town_features(self.filter_queryset(self.get_queryset())))


urlpatterns = [
    re_path(
        r"^towns\.geojson$",
        TownGeoJSONView.as_view({"get": "collection"}),
        name="town-geojson",
    ),
]
