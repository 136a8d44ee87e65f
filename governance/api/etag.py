"""Weak ETags for API reads, and ``If-None-Match`` answered with 304 Not Modified.

The tag is a hash of what the viewer is about to receive: the response data, its media type
and the language. Hashing the body (rather than ``max(updated_at)`` and a count) also changes
the tag when a record leaves the viewer's sight, when an aggregate changes, or when only a
related record changed, so a 304 is never stale. Two viewers with different access get
different bodies and so different tags; ``Vary`` keeps shared caches apart too.

A 304 still costs the queries of the page but not its transfer or the client's parsing:
"unchanged pages cost almost nothing" on the wire, which is what a syncing partner pays for.

Writes: ``If-Match``
--------------------
A PUT, PATCH or DELETE of a record may send ``If-Match`` with the ETag of its detail GET. It
is compared (:func:`if_match_holds`) with the tag of the record's detail representation as the
writer would GET it now (same ``Accept`` and ``Accept-Language``), by *weak* comparison: the
tags here are weak (a hash of the representation, not of bytes), and RFC 9110's strong
comparison would make every weak tag fail. ``*`` matches any existing record. A mismatch
answers 412 Precondition Failed with the current tag; no ``If-Match`` skips the check. A
successful PUT or PATCH answers with the new tag, ready for the next ``If-Match``.
"""

from __future__ import annotations

import hashlib
import json

from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

VARY = ("Accept", "Accept-Language", "Authorization", "Cookie")
COPIED_HEADERS = ("Cache-Control", "Vary", "Content-Location", "Expires")


class JSONTexts(list):
    """Items already written as JSON text (by PostgreSQL, e.g. the map's features,
    ``towns.geo.RenderedFeatures``): a renderer puts them in as they are, joined with commas
    inside the array's brackets, and :func:`weak_etag` hashes them the same way. Encoding
    2,261 features again as JSON strings only to hash them was a sixth of an uncached map
    request (4 of 25 ms).

    A member may itself be several items already joined with commas (a kept map is one text,
    ``towns.kept``, "Kept documents"): the array written is the same, and so is the tag. A
    member may be UTF-8 bytes (the kept map is read as it is stored, not decoded only to be
    encoded again: 3 of a kept map's 7 ms)."""

    def joined(self) -> bytes:
        """The members joined with commas, in UTF-8: the array's content."""
        return b",".join(t if isinstance(t, bytes) else t.encode() for t in self)


def weak_etag(data, *, media_type: str = "", language: str = "") -> str:
    """``W/"<sha256 prefix>"`` of ``data`` serialised canonically (sorted keys); a member of a
    dict that holds :class:`JSONTexts` is hashed as the array the renderer writes (its texts
    joined with commas), after the rest."""
    texts = {}
    if isinstance(data, dict):
        texts = {key: value for key, value in data.items() if isinstance(value, JSONTexts)}
        if texts:
            data = {key: value for key, value in data.items() if key not in texts}
    payload = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256()
    digest.update(f"{media_type}|{language}|".encode())
    digest.update(payload.encode())
    for key in sorted(texts):
        digest.update(f"|{key}|[".encode())
        digest.update(texts[key].joined())
        digest.update(b"]")
    return f'W/"{digest.hexdigest()[:32]}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2) of ``etag`` with an ``If-None-Match`` header."""
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def representation_etag(request, data) -> str:
    """The weak ETag a GET by ``request``'s viewer would get for the representation ``data``."""
    media_type = getattr(request, "accepted_media_type", "") or ""
    return weak_etag(data, media_type=media_type, language=get_language() or "")


def if_match_holds(request, etag: str) -> bool:
    """Whether a write may go on: no ``If-Match`` header, or one matching ``etag`` (weakly)."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None or not header.strip():
        return True
    return etag_matches(header, etag)


def with_etag(request, response):
    """Tag a successful GET/HEAD response; a matching ``If-None-Match`` gets a 304 instead."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    data = getattr(response, "data", None)
    # A view that tagged its answer already (a kept document, tagged when it was kept with
    # this function's hash of the same data, media type and language; sent compressed, it has
    # no data) keeps its tag.
    etag = response.get("ETag")
    if etag is None:
        if data is None:
            return response
        etag = representation_etag(request, data)
    response["ETag"] = etag
    patch_vary_headers(response, VARY)
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        for header in COPIED_HEADERS:
            if header in response:
                not_modified[header] = response[header]
        return not_modified
    return response
