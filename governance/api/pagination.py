"""Pagination shared by every list of the API.

Every paginated answer, in every format (JSON, CSV, GeoJSON), carries its neighbours in an
RFC 8288 ``Link`` header (``rel="next"``, ``rel="prev"``, and ``rel="first"``) and, where the
list counts its records, the total in ``X-Total-Count``; JSON bodies also have ``next`` and
``previous``. A link never repeats a credential: parameters such as ``token`` or ``api_key``
in the request's query string (ignored for authentication anyway) are left out of every link.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.core.paginator import Paginator
from django.db.models import IntegerField, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

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


def plain_records(rows) -> bool:
    """Whether ``rows`` is a queryset of whole records: no DISTINCT, GROUP BY, union or
    ``values()``, so that it can be re-ordered and re-read by primary key."""
    if not isinstance(rows, QuerySet) or rows._fields is not None:
        return False
    query = rows.query
    return not (query.distinct or query.group_by is not None or query.combinator)


class TotalOf(Subquery):
    """The number of records of ``queryset``, as a column of another query of the same list.

    A page and its total in one statement: the count is an uncorrelated sub-select, so
    PostgreSQL computes it once (an InitPlan) with the plan a separate ``COUNT(*)`` would have
    had, and the request saves a round trip and the ORM's aggregation machinery (about 0.5 ms
    of a cold list or search at 2,261 towns). A window ``COUNT(*) OVER ()`` was measured too and
    rejected: it buffers every matching row, wide, so the unfiltered list got slower (3.9 ms →
    6.0 ms).
    """

    template = "(SELECT COUNT(*) FROM (%(subquery)s) atlas_counted)"

    def __init__(self, queryset: QuerySet):
        super().__init__(queryset.order_by().values("pk"), output_field=IntegerField())


#: The name of the column :class:`TotalOf` is read from.
TOTAL = "atlas_page_total"

#: PostgreSQL's largest OFFSET and LIMIT (bigint).
BIGGEST_OFFSET = 2**63 - 1


class KeysFirstPaginator(Paginator):
    """Numbered pages that read the page's keys first, then its rows by key.

    To skip to a deep page PostgreSQL orders every matching row, joined and wide, and throws
    most of them away: at 2,261 towns page 30 of the town list took 6.7 ms of SQL for 50 rows
    (``make bench-explain``). Ordering and skipping the keys alone, then reading 50 rows by key,
    does the same work on narrow rows. The rows come back in the keys' order; a row deleted
    between the two queries is simply missing from the page. A queryset that is not a plain
    list of records (DISTINCT, GROUP BY, a union, ``values()``) is paged as Django does.

    The total comes with the first query (:class:`TotalOf`): the first page is one query, a
    deeper one two. Only a page past the end (no row to carry the total) counts apart, to tell
    an empty list's first page from a page that does not exist.
    """

    def page(self, number):
        rows = self.object_list
        if "count" in self.__dict__ or not plain_records(rows):
            return self._counted_page(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            wanted = int(number)
        except (TypeError, ValueError):
            return self._counted_page(number)  # Django's own error for it
        bottom = (wanted - 1) * self.per_page
        end = bottom + self.per_page + self.orphans
        if wanted < 1 or end > BIGGEST_OFFSET:
            # Not a page (Django's error); or past any list PostgreSQL can hold, which its
            # OFFSET could not even be given: counted, so that it is a 404 as before.
            return self._counted_page(number)
        with_total = rows.annotate(**{TOTAL: TotalOf(rows)})
        if bottom == 0:
            found = list(with_total[:end])
            total = getattr(found[0], TOTAL) if found else None
        else:
            found = list(with_total.values_list("pk", TOTAL)[bottom:end])
            total = found[0][1] if found else None
        if total is None:
            return self._counted_page(number)
        self.__dict__["count"] = total  # Paginator.count is a cached property
        number = self.validate_number(wanted)
        found = found[: self._top(bottom) - bottom]
        if bottom == 0:
            return self._get_page(found, number, self)
        return self._rows_by_key([key for key, _ in found], number)

    def _top(self, bottom: int) -> int:
        """Where the page starting at ``bottom`` ends (the last page takes the orphans)."""
        top = bottom + self.per_page
        return self.count if top + self.orphans >= self.count else top

    def _rows_by_key(self, keys: list, number: int):
        """The page of the records with these keys, in the keys' order."""
        found = {row.pk: row for row in self.object_list.filter(pk__in=keys)}
        return self._get_page([found[key] for key in keys if key in found], number, self)

    def _counted_page(self, number):
        """The page once the total is known (counted apart if it is not yet)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list
        if bottom == 0 or not plain_records(rows):
            return super().page(number)
        keys = list(rows.values_list("pk", flat=True)[bottom : self._top(bottom)])
        return self._rows_by_key(keys, number)


class PageNumberPagination(LinkHeaderMixin, pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    django_paginator_class = KeysFirstPaginator

    def paginate_queryset(self, queryset, request, view=None):
        return super().paginate_queryset(with_tie_breaker(queryset), request, view)


def with_tie_breaker(queryset):
    """``queryset`` ordered with its primary key last: in an order with ties (``?ordering=
    -population``, names alike) PostgreSQL may return the tied rows in any order, so page 2
    could repeat a record of page 1 and skip another. Left as it is when it is not a plain
    list of records or orders by an expression."""
    if not plain_records(queryset):
        return queryset
    terms = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if not all(isinstance(term, str) for term in terms):
        return queryset
    if any(term.lstrip("-") in ("pk", "id") for term in terms):
        return queryset
    return queryset.order_by(*terms, "pk")


class KeysetPagination(LinkHeaderMixin, pagination.BasePagination):
    """Cursor pages in any order the list offers (keyset pagination, fast at any depth).

    The cursor holds the values of the last (or first) record shown in every field of the
    order, the primary key last, so that ties and empty values page exactly: each page starts
    where the last one ended, whatever was added or removed meanwhile, and never repeats or
    skips a record. The order is PostgreSQL's: ascending puts empty (NULL) values last,
    descending first, and going back reverses both. The cursor is signed (a tampered or
    foreign one is a 404, as a page that does not exist) and names its order, so it cannot be
    reused with another ``ordering``. The total is counted (``count``, ``X-Total-Count``).
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    max_page_size = settings.API_MAX_PAGE_SIZE
    salt = "atlas.api.cursor"
    count: int | None = None
    page: list | None = None

    # -- the order

    def ordering_of(self, queryset, request, view) -> list[str]:
        """The order the list uses (``?ordering=`` or the view's default), the primary key
        last as the final tie-breaker."""
        ordering: list[str] = []
        for backend in getattr(view, "filter_backends", ()):
            if hasattr(backend, "get_ordering"):
                ordering = list(backend().get_ordering(request, queryset, view) or [])
        if not ordering:
            ordering = list(getattr(view, "ordering", None) or queryset.query.order_by or [])
        names = [term for term in ordering if isinstance(term, str)]
        if not any(term.lstrip("-") in ("pk", "id") for term in names):
            names.append("pk")
        return names

    @staticmethod
    def _value(obj, term: str):
        value = obj
        for part in term.lstrip("-").split("__"):
            value = None if value is None else getattr(value, part)
        return getattr(value, "pk", value)

    @staticmethod
    def _after(ordering: list[str], values: list, *, backwards: bool) -> Q:
        """Records after ``values`` in ``ordering`` (before them when going ``backwards``)."""
        condition = Q(pk__in=[])
        equal = Q()
        for term, value in zip(ordering, values, strict=True):
            name = term.lstrip("-")
            descending = term.startswith("-") != backwards
            if value is None:
                # NULLs come last going up, first going down.
                later = Q(**{f"{name}__isnull": False}) if descending else Q(pk__in=[])
                same = Q(**{f"{name}__isnull": True})
            else:
                lookup = "lt" if descending else "gt"
                later = Q(**{f"{name}__{lookup}": value})
                if not descending:
                    later |= Q(**{f"{name}__isnull": True})
                same = Q(**{name: value})
            condition |= equal & later
            equal &= same
        return condition

    @staticmethod
    def _ordered(queryset, ordering: list[str], *, backwards: bool):
        flipped = [t[1:] if t.startswith("-") else f"-{t}" for t in ordering]
        return queryset.order_by(*(flipped if backwards else ordering))

    # -- cursors

    def _encode(self, direction: str, ordering: list[str], values: list) -> str:
        payload = {
            "d": direction,
            "o": ordering,
            "v": [None if v is None else str(v) for v in values],
        }
        url = self.request.build_absolute_uri()
        token = signing.dumps(payload, salt=self.salt, compress=True)
        return without_credentials(
            pagination.replace_query_param(url, self.cursor_query_param, token)
        )

    def _decode(self, ordering: list[str]) -> tuple[str, list] | None:
        raw = self.request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            payload = signing.loads(raw, salt=self.salt)
            direction, named, values = payload["d"], payload["o"], payload["v"]
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise NotFound(_("Invalid cursor.")) from None
        if direction not in ("n", "p") or named != ordering or len(values) != len(ordering):
            raise NotFound(_("Invalid cursor."))
        return direction, values

    # -- paging

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.ordering = self.ordering_of(queryset, request, view)
        cursor = self._decode(self.ordering)
        backwards = cursor is not None and cursor[0] == "p"
        ordered = self._ordered(queryset, self.ordering, backwards=backwards)
        if cursor is not None:
            ordered = ordered.filter(self._after(self.ordering, cursor[1], backwards=backwards))
        # The total of the whole list (not only what follows the cursor) comes with the page;
        # counted apart only when a cursor's page is empty or the list is not plain records.
        folded = plain_records(queryset)
        if folded:
            ordered = ordered.annotate(**{TOTAL: TotalOf(queryset)})
        rows = list(ordered[: self.page_size + 1])
        if folded and rows:
            self.count = getattr(rows[0], TOTAL)
        elif folded and cursor is None:
            self.count = 0  # the first page of the list is empty: so is the list
        else:
            self.count = queryset.count()
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.page = rows
        return rows

    def _values(self, obj) -> list:
        return [self._value(obj, term) for term in self.ordering]

    def get_next_link(self):
        if not (self.page and self.has_next):
            return None
        return self._encode("n", self.ordering, self._values(self.page[-1]))

    def get_previous_link(self):
        if not (self.page and self.has_previous):
            return None
        return self._encode("p", self.ordering, self._values(self.page[0]))

    def get_paginated_response(self, data):
        return self.with_link_headers(
            Response(
                {
                    "count": self.count,
                    "next": self.get_next_link(),
                    "previous": self.get_previous_link(),
                    "results": data,
                }
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The page to show: take it from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Number of results to return per page.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
