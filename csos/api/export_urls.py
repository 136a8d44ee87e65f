"""Whole-dataset exports of the API, mounted under /api/v1/ by the root URLconf.

* ``export/popolo.json``: Popolo JSON for the viewer (anonymous, token or session), honouring
  the access levels and the field-redaction policy (:func:`csos.exports.popolo_export`); kept
  in the read cache per data state and viewer level, with an ETag (``If-None-Match``: 304).
* ``export/datapackage.zip``: the public data as CSVs with a Frictionless ``datapackage.json``,
  rebuilt when the data changes; its fingerprint is the ``ETag``, so ``If-None-Match`` answers
  304 while nothing changed.
"""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from csos.exports import datapackage_etag, datapackage_zip, popolo_export
from governance.api.etag import with_etag
from governance.api.renderers import ZipRenderer
from governance.cache import CachedReadMixin

_OBJECTS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
POPOLO_SCHEMA = {
    "type": "object",
    "description": (
        "Popolo JSON (http://www.popoloproject.com/specs/): every object validates against "
        "the Popolo JSON schemas. Persons whose names the viewer may not see are omitted, "
        "with the memberships pointing at them."
    ),
    "properties": {
        "persons": _OBJECTS,
        "organizations": _OBJECTS,
        "posts": _OBJECTS,
        "memberships": _OBJECTS,
        "areas": _OBJECTS,
    },
    "required": ["persons", "organizations", "posts", "memberships", "areas"],
}


class PopoloExportView(CachedReadMixin, APIView):
    """Persons, organisations (influence groups, CSOs), posts and memberships, as Popolo.

    Built once per data change and viewer level (the read cache, as every API read; research
    reads are never cached, and are logged), with a weak ETag of what this viewer receives, so
    a write to records the viewer may not see leaves the tag alone."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response = with_etag(request, response)
        self.keep_read(response)
        return response

    @extend_schema(
        operation_id="export_popolo",
        tags=["export"],
        summary="Popolo JSON export",
        responses={
            200: OpenApiResponse(POPOLO_SCHEMA, description="The Popolo document."),
            304: OpenApiResponse(description="Not modified: the If-None-Match ETag is current."),
        },
    )
    def get(self, request, *args, **kwargs):
        return Response(popolo_export(request.user, request=request))


class DataPackageView(APIView):
    """The public dataset as CSVs with a Frictionless data package descriptor, in a zip."""

    permission_classes = [AllowAny]
    renderer_classes = [ZipRenderer]

    @extend_schema(
        operation_id="export_datapackage",
        tags=["export"],
        summary="Frictionless data package (public data)",
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="datapackage.json and data/<table>.csv for every table.",
            ),
            (304, "application/zip"): OpenApiResponse(
                description="Not modified: the If-None-Match ETag is current."
            ),
        },
    )
    def get(self, request, *args, **kwargs):
        content, fingerprint = datapackage_zip()
        # What the public may see decides the tag, never a write to hidden records.
        etag = f'"{datapackage_etag(content, fingerprint)}"'
        if etag in request.headers.get("If-None-Match", ""):
            response = Response(status=304)
        else:
            response = Response(content, content_type="application/zip")
            response["Content-Disposition"] = (
                'attachment; filename="local-governance-atlas-datapackage.zip"'
            )
        response["ETag"] = etag
        return response


urlpatterns = [
    path("export/popolo.json", PopoloExportView.as_view(), name="export-popolo"),
    path("export/datapackage.zip", DataPackageView.as_view(), name="export-datapackage"),
]
