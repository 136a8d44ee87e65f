"""Towns as GeoJSON (RFC 7946), for the API and the map page.

A FeatureCollection of Point features, coordinates ``[longitude, latitude]`` in WGS 84 (RFC
7946 §3.1.1: longitude first), with the town's public profile as properties: names, region,
district, kind, population, and the published aggregates ``typology`` and ``own_share``
(computed from published claims only, see ``towns.profile.refresh_town_aggregates``). Place
data is public; nothing here depends on the viewer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Func, TextField, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from rest_framework.renderers import BaseRenderer

from governance.api.etag import JSONTexts
from governance.api.rendered import Joined
from towns.models import Town, TownKind, Typology

GEOJSON_MEDIA_TYPE = "application/geo+json"

PROPERTIES = (
    "slug",
    "name_en",
    "name_be",
    "name_ru",
    "region",
    "district",
    "kind",
    "population",
    "population_year",
    "typology",
    "own_share",
    "aggregates_synthetic",
    "is_synthetic",
    "url",
)


def town_feature(town: Town) -> dict[str, Any]:
    """One town as a GeoJSON Feature (needs ``region`` and ``district`` joined)."""
    return {
        "type": "Feature",
        "id": town.slug,
        "geometry": {
            "type": "Point",
            # RFC 7946: longitude, latitude; 5 decimals are about a metre, as stored.
            "coordinates": [round(float(town.longitude), 5), round(float(town.latitude), 5)],
        },
        "properties": {
            "slug": town.slug,
            "name_en": town.name_en,
            "name_be": town.name_be,
            "name_ru": town.name_ru,
            "region": town.region.slug,
            "district": town.district.slug if town.district_id else None,
            "kind": town.kind,
            "population": town.population,
            "population_year": town.population_year,
            "typology": town.typology,
            "own_share": None if town.own_share is None else float(town.own_share),
            "aggregates_synthetic": town.aggregates_synthetic,
            "is_synthetic": town.is_synthetic,
            "url": town.get_absolute_url(),
        },
    }


def town_features(queryset: Iterable[Town]) -> dict[str, Any]:
    """A FeatureCollection of the towns of ``queryset`` (a queryset is joined here), with the
    OGC API Features members ``numberReturned`` and ``numberMatched`` (all of them, here)."""
    if hasattr(queryset, "select_related"):
        queryset = queryset.select_related("region", "district")
    features = [town_feature(t) for t in queryset]
    return {
        "type": "FeatureCollection",
        "numberMatched": len(features),
        "numberReturned": len(features),
        "links": [],
        "features": features,
    }


class RenderedFeatures(JSONTexts):
    """Features already written as JSON text by PostgreSQL: the renderer puts them in as they
    are (a list of ``str``), and the ETag hashes them as they are."""


def town_features_rendered(queryset) -> dict[str, Any]:
    """:func:`town_features` with each feature written by PostgreSQL: Python only joins the
    texts. For the whole map (``/api/v1/towns.geojson``), where building 2,261 features in
    Python was two thirds of an uncached request (issue 19). Same members and values as
    :func:`town_feature`.

    Each feature is read from :class:`~towns.models.TownMapFeature` (kept per change by
    PostgreSQL), with its language-dependent ``url`` added; a town without one (there should be
    none) gets it built in the same query by the SQL function that writes the kept texts
    (``atlas_town_feature``), so the answer never depends on the kept text being there.
    """
    marker = "0-atlas-slug-0"
    prefix, _, suffix = reverse("towns:detail", kwargs={"slug": marker}).partition(marker)
    # The URL goes into the JSON text as it is: it must need no escaping.
    if any(c in prefix + suffix for c in '"\\') or any(ord(c) < 32 for c in prefix + suffix):
        raise ValueError(f"a town URL that JSON would escape: {prefix!r} {suffix!r}")

    feature = Joined(
        Coalesce(
            F("map_feature__text"),
            Func(F("pk"), function="atlas_town_feature", output_field=TextField()),
        ),
        Value(f', "url" : "{prefix}'),
        F("slug"),
        Value(f'{suffix}"}}}}'),
    )
    texts = RenderedFeatures(
        queryset.annotate(atlas_feature=feature).values_list("atlas_feature", flat=True)
    )
    return {
        "type": "FeatureCollection",
        "numberMatched": len(texts),
        "numberReturned": len(texts),
        "links": [],
        "features": texts,
    }


def page_links(page: dict) -> list[dict[str, str]]:
    """The ``links`` member of a page (OGC API Features style) from a paginated body's
    ``next``/``previous`` (already free of credentials, see governance.api.pagination)."""
    return [
        {"href": page[key], "rel": rel, "type": GEOJSON_MEDIA_TYPE}
        for key, rel in (("next", "next"), ("previous", "prev"))
        if page.get(key)
    ]


_NULLABLE_STRING = {"type": "string", "nullable": True}
_NULLABLE_INTEGER = {"type": "integer", "nullable": True}

#: The OpenAPI schema of what this module writes (``application/geo+json``).
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "RFC 7946 FeatureCollection of Point features ([longitude, latitude], WGS 84). A page "
        "of the town list also carries its neighbours in `links` (and in the Link header); "
        "`numberMatched` counts every town matching the filters, `numberReturned` those here."
    ),
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "href": {"type": "string", "format": "uri"},
                    "rel": {"type": "string", "enum": ["next", "prev"]},
                    "type": {"type": "string", "enum": [GEOJSON_MEDIA_TYPE]},
                },
                "required": ["href", "rel", "type"],
            },
        },
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
                        "description": "The town's public profile.",
                        "properties": {
                            "slug": {"type": "string"},
                            "name_en": {"type": "string"},
                            "name_be": {"type": "string"},
                            "name_ru": {"type": "string"},
                            "region": {"type": "string", "description": "The region's slug."},
                            "district": {
                                **_NULLABLE_STRING,
                                "description": "The district's slug (null: not assigned).",
                            },
                            "kind": {"type": "string", "enum": [k.value for k in TownKind]},
                            "population": {**_NULLABLE_INTEGER, "minimum": 0},
                            "population_year": {
                                **_NULLABLE_INTEGER,
                                "minimum": 1800,
                                "maximum": 2100,
                            },
                            "typology": {"type": "string", "enum": [t.value for t in Typology]},
                            "own_share": {
                                "type": "number",
                                "nullable": True,
                                "minimum": 0,
                                "maximum": 1,
                                "description": "Share of 'our own' influence (null: unknown).",
                            },
                            "aggregates_synthetic": {"type": "boolean"},
                            "is_synthetic": {"type": "boolean"},
                            "url": {"type": "string", "description": "The town's page."},
                        },
                        "required": list(PROPERTIES),
                        "additionalProperties": False,
                    },
                },
                "required": ["type", "id", "geometry", "properties"],
            },
        },
    },
    "required": ["type", "numberMatched", "numberReturned", "links", "features"],
}


def _page_objects(view) -> Iterable[Town] | None:
    paginator = getattr(view, "paginator", None)
    # A paginator that delegates (cursor or page numbers) keeps the one it used in ``active``.
    paginator = getattr(paginator, "active", paginator)
    page = getattr(paginator, "page", None) if paginator is not None else None
    if page is not None:
        return list(page)
    return None


class TownGeoJSONRenderer(BaseRenderer):
    """``?format=geojson`` on the town list: the towns of the current page (same filters).

    Given a FeatureCollection (the ``towns.geojson`` view) it writes it as is; given the
    serialized page of a town list it writes the page's towns as features. Errors (400, 404)
    keep their JSON body.
    """

    media_type = GEOJSON_MEDIA_TYPE
    format = "geojson"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = "application/json"
        elif not (isinstance(data, dict) and data.get("type") == "FeatureCollection"):
            objects = _page_objects(view)
            if objects is None and view is not None:
                if getattr(view, "action", None) == "retrieve":
                    objects = [view.get_object()]
                else:
                    objects = view.filter_queryset(view.get_queryset())
            page = data if isinstance(data, dict) and "results" in data else None
            data = town_features(objects or [])
            if page is not None:
                data["numberMatched"] = page.get("count", data["numberMatched"])
                data["links"] = page_links(page)
        features = data.get("features") if isinstance(data, dict) else None
        if isinstance(features, RenderedFeatures):
            head = json.dumps(
                {k: v for k, v in data.items() if k != "features"},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            return head[:-1].encode() + b',"features":[' + features.joined() + b"]}"
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
