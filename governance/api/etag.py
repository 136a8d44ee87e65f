"""Weak ETags for API reads, and ``If-None-Match`` answered with 304 Not Modified.

The tag is a hash of what the viewer is about to receive: the response data, its media type
and the language. Hashing the body (rather than ``max(updated_at)`` and a count) also changes
the tag when a record leaves the viewer's sight, when an aggregate changes, or when only a
related record changed, so a 304 is never stale. Two viewers with different access get
different bodies and so different tags; ``Vary`` keeps shared caches apart too.

A 304 still costs the queries of the page but not its transfer or the client's parsing:
"unchanged pages cost almost nothing" on the wire, which is what a syncing partner pays for.
"""

from __future__ import annotations

import hashlib
import json

from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

VARY = ("Accept", "Accept-Language", "Authorization", "Cookie")
COPIED_HEADERS = ("Cache-Control", "Vary", "Content-Location", "Expires")


def weak_etag(data, *, media_type: str = "", language: str = "") -> str:
    """``W/"<sha256 prefix>"`` of ``data`` serialised canonically (sorted keys)."""
    payload = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256()
    digest.update(f"{media_type}|{language}|".encode())
    digest.update(payload.encode())
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


def with_etag(request, response):
    """Tag a successful GET/HEAD response; a matching ``If-None-Match`` gets a 304 instead."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    data = getattr(response, "data", None)
    if data is None:
        return response
    media_type = getattr(request, "accepted_media_type", "") or ""
    etag = weak_etag(data, media_type=media_type, language=get_language() or "")
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
