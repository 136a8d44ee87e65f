"""The API root (every list endpoint under /api/v1/), the per-viewer schema and the docs."""

from collections import OrderedDict

from django.urls import NoReverseMatch, get_resolver
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

SCHEMA_VARY = ("Accept", "Accept-Language", "Authorization", "Cookie")


class APIRootView(APIView):
    """Entry point of the Local Governance Atlas API, version 1."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        names = sorted(
            name
            for name in get_resolver().reverse_dict
            if isinstance(name, str) and name.endswith("-list")
        )
        links = OrderedDict()
        for name in names:
            try:
                url = reverse(
                    name, request=request, kwargs={"version": kwargs.get("version", "v1")}
                )
            except NoReverseMatch:
                continue
            # Keyed by the resource's path segment ("towns", "cso-links"), as clients see it.
            links[url.rstrip("/").rsplit("/", 1)[-1]] = url
        links = OrderedDict(sorted(links.items()))
        # The whole-dataset formats, named as their files are.
        for name, key in (
            ("town-geojson", "towns.geojson"),
            ("export-popolo", "popolo.json"),
            ("export-datapackage", "datapackage.zip"),
            ("api-changes", "changes"),
        ):
            try:
                links[key] = reverse(name, request=request, kwargs={"version": "v1"})
            except NoReverseMatch:
                continue
        links["schema"] = reverse("api-schema", request=request, kwargs={"version": "v1"})
        links["docs"] = reverse("api-docs", request=request, kwargs={"version": "v1"})
        return Response(links)


class AtlasSchemaView(SpectacularAPIView):
    """The OpenAPI schema as the requesting viewer may see it (:mod:`governance.api.schema`).

    The body depends on who asks, so responses vary by ``Authorization`` and ``Cookie``, and
    a schema for a signed-in viewer or a token is never stored by a cache.
    """

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, SCHEMA_VARY)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class AtlasDocsView(SpectacularSwaggerSplitView):
    """Swagger UI, offline (bundled assets), with its start-up script served from this URL
    (``?script``) rather than inline, as the Content-Security-Policy requires. The page asks
    for the viewer's own schema; authorising with a token in the page reloads it."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, SCHEMA_VARY)
        if request.user.is_authenticated:
            # The script carries the session's CSRF token.
            patch_cache_control(response, private=True, no_store=True)
        return response
