"""``/api/v1/towns.geojson``: every town matching the town list's filters, as GeoJSON.

The same filters, search and ordering as ``/api/v1/towns/`` (this view is the town list
without pagination: a map wants every point), rendered by :func:`towns.geo.town_features`.
``/api/v1/towns/?format=geojson`` gives the current page the same way.

The whole map (no parameter: what a partner's map or a GIS tool downloads) is kept per change
(:mod:`towns.kept`, "Kept documents"): a current kept map answers with one query.
"""

import gzip

from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import re_path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api.etag import weak_etag
from governance.api.schema import success_contents
from governance.middleware import accepts_gzip
from towns import kept
from towns.api.views import TownViewSet
from towns.geo import (
    FEATURE_COLLECTION_SCHEMA,
    GEOJSON_MEDIA_TYPE,
    RenderedFeatures,
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
        if request.query_params:
            return Response(town_features_rendered(self.filter_queryset(self.get_queryset())))
        # The tag kept with it is this answer's (weak_etag of the same array, media type and
        # language); another media type (with parameters) is tagged per request as usual.
        tagged = request.accepted_media_type == GEOJSON_MEDIA_TYPE
        gzipped = tagged and accepts_gzip(request)
        found = kept.find_document("map", user=request.user, gzipped=gzipped)
        if found is not None and found.body is not None and gzipped:
            # The whole answer as it was compressed when kept (browsers, requests, QGIS accept it):
            # compressing a megabyte per request cost twice the rest of the request.
            response = HttpResponse(found.body, content_type=GEOJSON_MEDIA_TYPE)
            response["Content-Encoding"] = "gzip"
            response["ETag"] = found.etag
            return response
        if found is not None and found.body is not None:
            data = collection_of(found.count, RenderedFeatures([found.body]))
            if tagged:
                return Response(data, headers={"ETag": found.etag})
            return Response(data)
        data = town_features_rendered(self.filter_queryset(self.get_queryset()))
        if found is not None:
            keep_map(found, data)
        return Response(data)


def collection_of(count: int, features: RenderedFeatures) -> dict:
    """The FeatureCollection of ``count`` features (as :func:`towns.geo.town_features_rendered`
    writes it: the same members in the same order)."""
    return {
        "type": "FeatureCollection",
        "numberMatched": count,
        "numberReturned": count,
        "links": [],
        "features": features,
    }


def keep_map(found: kept.DocumentLookup, data: dict) -> bool:
    """Keep the whole map ``data`` (computed by :func:`town_features_rendered`) for what
    ``found`` says: its features joined in one text, its answer's tag, and the answer
    compressed as ``ApiCompressionMiddleware`` would, but without the random padding Django
    adds against BREACH: it answers a request without parameters, so nothing of a request
    (and no secret) is ever in it."""
    features = data["features"]
    body = ",".join(features)
    whole = collection_of(len(features), RenderedFeatures([body]))
    etag = weak_etag(whole, media_type=GEOJSON_MEDIA_TYPE, language=found.language)
    gzipped = gzip.compress(TownGeoJSONRenderer().render(whole), compresslevel=6, mtime=0)
    return kept.keep_document(found, count=len(features), body=body, etag=etag, gzipped=gzipped)


def whole_map(user) -> dict:
    """The whole map (no parameter) as ``user``'s level sees it, computed: the view's own
    queryset, filters and ordering, for the keeper (:func:`towns.kept.refresh_map`)."""
    request = Request(RequestFactory().get(reverse("town-geojson", kwargs={"version": "v1"})))
    request.user = user
    view = TownGeoJSONView(
        request=request, args=(), kwargs={}, format_kwarg=None, action="collection"
    )
    return town_features_rendered(view.filter_queryset(view.get_queryset()))


urlpatterns = [
    re_path(
        r"^towns\.geojson$",
        TownGeoJSONView.as_view({"get": "collection"}),
        name="town-geojson",
    ),
]
