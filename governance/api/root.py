"""The API root: lists every list endpoint mounted under /api/v1/ by the apps."""

from collections import OrderedDict

from django.urls import NoReverseMatch, get_resolver
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


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
        links["schema"] = reverse("api-schema", request=request, kwargs={"version": "v1"})
        links["docs"] = reverse("api-docs", request=request, kwargs={"version": "v1"})
        return Response(links)
