"""Pagination shared by every list of the API.

Every paginated answer, in every format (JSON, CSV, GeoJSON), carries its neighbours in an
RFC 8288 ``Link`` header (``rel="next"``, ``rel="prev"``, and ``rel="first"``) and, where the
list counts its records, the total in ``X-Total-Count``; JSON bodies also have ``next`` and
``previous``. A link never repeats a credential: parameters such as ``token`` or ``api_key``
in the request's query string (ignored for authentication anyway) are left out of every link.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

#: Query parameters that look like credentials: never copied into a link (lower-cased).
CREDENTIAL_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "auth_token",
        "api_key",
        "apikey",
        "key",
        "password",
        "secret",
        "authorization",
        "sessionid",
        "csrftoken",
        "csrfmiddlewaretoken",
    }
)


def without_credentials(url: str | None) -> str | None:
    """``url`` without any credential-like query parameter."""
    if not url:
        return url
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in CREDENTIAL_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_header(links: dict[str, str | None]) -> str:
    """An RFC 8288 ``Link`` value from ``rel → URL`` (missing URLs left out)."""
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)


class LinkHeaderMixin:
    """Credential-free ``next``/``previous`` links, also sent as ``Link`` and ``X-Total-Count``.

    The body keeps whatever shape the paginator gives it; the headers are set on the response
    before any renderer runs, so CSV and GeoJSON pages carry them too.
    """

    def get_page_size(self, request):
        """``?page_size=``: a whole number from 1 (larger than the maximum: the maximum);
        anything else is a 400, never silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [_("Enter a whole number ≥ 1.")]})
        return min(size, self.max_page_size) if self.max_page_size else size

    def get_schema_operation_parameters(self, view):
        """The schema says what :meth:`get_page_size` accepts: a whole number from 1."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters

    def get_next_link(self):
        return without_credentials(super().get_next_link())

    def get_previous_link(self):
        return without_credentials(super().get_previous_link())

    def get_first_link(self) -> str | None:
        request = getattr(self, "request", None)
        if request is None:
            return None
        url = request.build_absolute_uri()
        for param in ("page", "cursor"):
            url = pagination.remove_query_param(url, param)
        return without_credentials(url)

    def get_paginated_response(self, data):
        return self.with_link_headers(super().get_paginated_response(data))

    def with_link_headers(self, response):
        """``response`` (a paginated body) with its ``Link`` and ``X-Total-Count`` headers."""
        body = response.data
        links = {
            "next": body.get("next"),
            "prev": body.get("previous"),
            "first": self.get_first_link(),
        }
        response["Link"] = link_header(links)
        if isinstance(body.get("count"), int):
            response["X-Total-Count"] = str(body["count"])
        return response


class PageNumberPagination(LinkHeaderMixin, pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
