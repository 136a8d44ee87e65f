"""Whole-dataset exports: Popolo JSON and a Frictionless data package.

Both read through ``visible_to`` and the redaction policy (:mod:`governance.redaction`), like
every page and API response. They live in csos because they span both sides of the atlas
(csos may import towns; towns never imports csos).

**Popolo** (http://www.popoloproject.com): persons, organizations (influence groups and CSOs),
posts, memberships (group memberships, appointments to posts, CSO leaderships) and the areas
(towns) they point at, for the viewer. Popolo needs a person's ``name``: a person the viewer may
see but whose names it may not is left out, with every membership pointing at them. CSO
leaderships appear only where the viewer may see that CSO's leaders; no notes are exported.

**Data package** (https://specs.frictionlessdata.io/data-package/): one CSV per table at the
**public** level (what the anonymous public sees), with a ``datapackage.json`` describing every
column (type, description, primary and foreign keys). It is built once per data change (the
read cache's exact fingerprint of the committed data) and shared by every worker.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Model, Prefetch, QuerySet
from django.utils import timezone

from csos.exports_society import society_tables
from csos.models import CSO, CooperationCase, CSOLeadership, CSOLink, FieldOfActivity
from governance.api.renderers import neutralise
from governance.models import Source
from governance.redaction import (
    PERSON_NAME_FIELDS,
    hidden_fields,
    note_restricted_read,
    restricted_fields_shown,
)
from towns.models import (
    Activity,
    Appointment,
    District,
    GroupMembership,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    Region,
    Town,
)

# --- Popolo ------------------------------------------------------------------------------------

LANGUAGE_NOTES = {"name_be": "be", "name_ru": "ru"}


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def _other_names(obj) -> list[dict[str, str]]:
    return [
        {"name": getattr(obj, f), "note": f"name in {lang}"}
        for f, lang in LANGUAGE_NOTES.items()
        if getattr(obj, f, "")
    ]


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def _stamps(obj) -> dict[str, str | None]:
    return {"created_at": _iso(obj.created_at), "updated_at": _iso(obj.updated_at)}


def popolo_person(person: Person) -> dict[str, Any]:
    return _drop_empty(
        {
            "id": f"person/{person.pk}",
            "name": person.name_en,
            "other_names": _other_names(person),
            "given_name": person.given_name,
            "family_name": person.family_name,
            "patronymic_name": person.patronymic_name,
            **_stamps(person),
        }
    )


def popolo_group(group: InfluenceGroup) -> dict[str, Any]:
    return _drop_empty(
        {
            "id": f"influence-group/{group.pk}",
            "name": group.name_en,
            "other_names": _other_names(group),
            "classification": f"influence group: {group.kind}",
            "description": group.description,
            **_stamps(group),
        }
    )


def popolo_cso(cso: CSO, user) -> dict[str, Any]:
    hidden = hidden_fields(cso, user)
    data = {
        "id": f"cso/{cso.slug}",
        "name": cso.name_en,
        "other_names": _other_names(cso),
        "classification": "civil society organisation",
        "description": cso.description,
        "founding_date": str(cso.founding_year) if cso.founding_year else None,
        "dissolution_date": _iso(cso.liquidation_date),
        **_stamps(cso),
    }
    if "contacts" not in hidden and cso.contacts:
        data["contact_details"] = [{"type": "text", "value": cso.contacts}]
    return _drop_empty(data)


def popolo_post(post: Post) -> dict[str, Any]:
    return _drop_empty(
        {
            "id": f"post/{post.pk}",
            "label": post.name_en,
            "other_label": [x for x in (post.name_be, post.name_ru) if x],
            "role": post.kind,
            **_stamps(post),
        }
    )


def popolo_area(town: Town) -> dict[str, Any]:
    return _drop_empty(
        {
            "id": f"town/{town.slug}",
            "name": town.name_en,
            "identifier": str(town.geonames_id) if town.geonames_id else None,
            "classification": town.kind,
            "geometry": {
                "type": "Point",
                "coordinates": [float(town.longitude), float(town.latitude)],
            },
        }
    )


def _membership(obj, kind: str, **fields) -> dict[str, Any]:
    return _drop_empty(
        {
            "id": f"{kind}/{obj.pk}",
            **fields,
            "start_date": _iso(obj.start_date),
            "end_date": _iso(obj.end_date),
            **_stamps(obj),
        }
    )


def popolo_export(user, *, request=None) -> dict[str, list[dict[str, Any]]]:
    """The Popolo document for ``user`` (None: the public). Queries are bounded per table.

    With ``request``, every restricted field the document shows is noted for the access log
    (:class:`governance.models.FieldAccessLog`: who, which records, which fields, never values).
    """
    persons = [
        p for p in Person.objects.visible_to(user) if "name_en" not in hidden_fields(p, user)
    ]
    named = {p.pk for p in persons}
    groups = list(InfluenceGroup.objects.visible_to(user))
    group_ids = {g.pk for g in groups}
    csos = list(CSO.objects.visible_to(user))
    leaders_shown = {c.pk: c.slug for c in csos if "leaderships" not in hidden_fields(c, user)}

    memberships: list[dict[str, Any]] = []
    for m in GroupMembership.objects.visible_to(user).filter(
        person_id__in=named, group_id__in=group_ids
    ):
        memberships.append(
            _membership(
                m,
                "group-membership",
                person_id=f"person/{m.person_id}",
                organization_id=f"influence-group/{m.group_id}",
                role=m.role,
            )
        )
    appointments = list(
        Appointment.objects.visible_to(user)
        .filter(person_id__in=named)
        .select_related("post", "town")
    )
    towns: dict[int, Town] = {}
    for a in appointments:
        towns[a.town_id] = a.town
        memberships.append(
            _membership(
                a,
                "appointment",
                person_id=f"person/{a.person_id}",
                post_id=f"post/{a.post_id}",
                area_id=f"town/{a.town.slug}",
                label=f"{a.post.name_en}, {a.town.name_en}",
                role=a.post.name_en,
            )
        )
    for lead in CSOLeadership.objects.visible_to(user).filter(
        person_id__in=named, cso_id__in=leaders_shown
    ):
        memberships.append(
            _membership(
                lead,
                "cso-leadership",
                person_id=f"person/{lead.person_id}",
                organization_id=f"cso/{leaders_shown[lead.cso_id]}",
                role=lead.role,
            )
        )
    if request is not None:
        _note_popolo_reads(request, user, persons, csos, leaders_shown)
    return {
        "persons": [popolo_person(p) for p in persons],
        "organizations": [popolo_group(g) for g in groups] + [popolo_cso(c, user) for c in csos],
        "posts": [popolo_post(p) for p in Post.objects.visible_to(user)],
        "memberships": memberships,
        "areas": [popolo_area(t) for t in sorted(towns.values(), key=lambda t: t.slug)],
    }


#: The restricted fields a Popolo document can show, per kind of record.
POPOLO_PERSON_FIELDS = frozenset(PERSON_NAME_FIELDS) - {"name"}


def _note_popolo_reads(request, user, persons, csos, leaders_shown) -> None:
    """Note the restricted fields of the document for the access log of ``request``."""
    for person in persons:
        note_restricted_read(
            request, person, restricted_fields_shown(person, user) & POPOLO_PERSON_FIELDS
        )
    for cso in csos:
        shown = restricted_fields_shown(cso, user) - hidden_fields(cso, user)
        fields = set()
        if "contacts" in shown and cso.contacts:
            fields.add("contacts")
        if "leaderships" in shown and cso.pk in leaders_shown:
            fields.add("leaderships")
        note_restricted_read(request, cso, fields)


# --- Data package ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a table: its Table Schema type and description, and how to read it."""

    name: str
    type: str
    description: str
    get: Callable[[Any], Any] | None = None
    required: bool = False

    def value(self, obj) -> Any:
        return self.get(obj) if self.get else getattr(obj, self.name)

    @property
    def lookup(self) -> str | None:
        """The ORM lookup that reads this column straight from the database (``town__slug``),
        or None when only Python can (a property, a redacted name)."""
        if self.get is None:
            return self.name
        lookup = getattr(self.get, "lookup", None)
        return lookup() if callable(lookup) else lookup


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    rows: Callable[[], QuerySet | Iterable[Model]]
    columns: tuple[Column, ...]
    primary_key: str
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, table, column)
    extra: dict[str, Any] = field(default_factory=dict)
    # Written by PostgreSQL (``COPY ... TO STDOUT``, :func:`copy_csv`) instead of row by row in
    # Python: for the big tables whose columns are all fields of the row or of a related row
    # (``Column.lookup``), and whose rows need no redaction beyond ``visible_to``. The
    # indicator values took 4.1 s at demo size (68,000 rows) as model instances and 0.44 s as
    # tuples; at the benchmark's scale (2.4 million rows) 21 s as tuples, which with the rest
    # of the package passed gunicorn's 30 s. A test checks that every way writes the same bytes.
    flat: bool = False

    def records(self) -> Iterable[tuple[Any, ...]]:
        """The rows as tuples of column values, in column order."""
        rows = self.rows()
        if self.flat:
            return rows.values_list(*self.lookups()).iterator(chunk_size=5000)
        return (tuple(c.value(obj) for c in self.columns) for obj in rows)

    def lookups(self) -> list[str]:
        lookups = [c.lookup for c in self.columns]
        if None in lookups:
            raise ValueError(f"{self.name}: a flat table needs a lookup for every column")
        return lookups


def _names(what: str) -> tuple[Column, ...]:
    return (
        Column("name_en", "string", f"Name of the {what} in English.", required=True),
        Column("name_be", "string", f"Name of the {what} in Belarusian."),
        Column("name_ru", "string", f"Name of the {what} in Russian."),
    )


def _ref(attr: str, key: str = "slug") -> Callable[[Any], Any]:
    """A column holding the ``key`` of the related row ``attr`` (its foreign key's target)."""

    def get(obj):
        related = getattr(obj, attr)
        return getattr(related, key) if related is not None else None

    get.lookup = f"{attr}__{key}"
    return get


def _slug(attr: str) -> Callable[[Any], Any]:
    return _ref(attr, "slug")


def _joined(model, relation: str, key: str) -> Callable[[Any], Any]:
    """A column listing the ``key`` of every row of the many-to-many ``relation``, sorted (by
    code point, as Python sorts) and separated by spaces: in Python from the prefetched rows,
    in SQL (``lookup``) as a ``string_agg`` subquery ordered in the "C" collation."""

    def get(obj):
        return " ".join(sorted(getattr(row, key) for row in getattr(obj, relation).all()))

    def lookup():
        from django.contrib.postgres.aggregates import StringAgg
        from django.db.models import F, OuterRef, Subquery
        from django.db.models.functions import Collate

        field = model._meta.get_field(relation)
        through = field.remote_field.through
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        joined = (
            through.objects.filter(**{source: OuterRef("pk")})
            .values(source)
            .annotate(
                joined=StringAgg(
                    f"{target}__{key}", " ", order_by=Collate(F(f"{target}__{key}"), "C")
                )
            )
            .values("joined")
        )
        return Subquery(joined)

    get.lookup = lookup
    return get


def _public(model) -> QuerySet:
    """What the anonymous public sees of a research model."""
    return model.objects.visible_to(None)


SYNTHETIC = Column(
    "is_synthetic", "boolean", "Generated or fictional data (demo), not a researched fact."
)
CONFIDENCE = Column("confidence", "string", "Confidence of the claim: low, medium or high.")
DATES = (
    Column("start_date", "date", "Start of the period (empty: unknown or open)."),
    Column("end_date", "date", "End of the period (empty: ongoing or unknown)."),
)


def _public_persons() -> list[Person]:
    return [p for p in _public(Person) if "name_en" not in hidden_fields(p, None)]


TABLES: tuple[Table, ...] = (
    Table(
        "regions",
        "Regions (voblasts) and Minsk city",
        lambda: Region.objects.order_by("code"),
        (
            Column("slug", "string", "Identifier of the region.", required=True),
            Column("code", "string", "GeoNames admin1 code.", required=True),
            *_names("region"),
        ),
        "slug",
    ),
    Table(
        "districts",
        "Districts (raions)",
        lambda: District.objects.select_related("region").order_by("slug"),
        (
            Column("slug", "string", "Identifier of the district.", required=True),
            Column("region", "string", "Region (regions.slug).", _slug("region"), True),
            *_names("district"),
        ),
        "slug",
        (("region", "regions", "slug"),),
    ),
    Table(
        "towns",
        "Towns with their public profile",
        lambda: Town.objects.select_related("region", "district").order_by("slug"),
        (
            Column("slug", "string", "Identifier of the town.", required=True),
            *_names("town"),
            Column("region", "string", "Region (regions.slug).", _slug("region"), True),
            Column("district", "string", "District (districts.slug).", _slug("district")),
            Column("kind", "string", "Kind of locality (regional_city, district_centre, ...)."),
            Column("latitude", "number", "Latitude, WGS 84 degrees."),
            Column("longitude", "number", "Longitude, WGS 84 degrees."),
            Column("population", "integer", "Population (persons)."),
            Column("population_year", "integer", "Year the population figure refers to."),
            Column("population_source", "string", "Source of the population figure."),
            Column("geonames_id", "integer", "GeoNames id of the place."),
            Column("typology", "string", "Type of governance, from published claims only."),
            Column(
                "own_share",
                "number",
                "Share (0-1) of 'our own' influence in the weighted influence on the town.",
            ),
            Column(
                "aggregates_synthetic",
                "boolean",
                "typology and own_share rest on at least one synthetic (demonstration) claim.",
            ),
            Column("is_synthetic", "boolean", "A generated town (scale data), not a real one."),
            Column(
                "names_verified",
                "boolean",
                "A researcher confirmed the Belarusian and Russian names (false: machine-picked).",
            ),
            Column(
                "kind_verified",
                "boolean",
                "A researcher confirmed the kind (false: guessed from the population).",
            ),
        ),
        "slug",
        (("region", "regions", "slug"), ("district", "districts", "slug")),
    ),
    Table(
        "sources",
        "Sources of the research (public)",
        lambda: _public(Source).order_by("pk"),
        (
            Column("id", "integer", "Identifier of the source.", required=True),
            Column("kind", "string", "Kind: interview, document, media, statistics, ..."),
            Column("citation", "string", "Citation of the source."),
            Column("date", "date", "Date of the source."),
            Column("url", "string", "Address of the source, if online."),
            Column("reliability", "string", "Reliability grade A-D."),
            SYNTHETIC,
        ),
        "id",
    ),
    Table(
        "indicators",
        "Catalogue of indicators",
        lambda: Indicator.objects.order_by("code"),
        (
            Column("code", "string", "Identifier of the indicator.", required=True),
            *_names("indicator"),
            Column("system", "integer", "Indicator system (1-3)."),
            Column("unit", "string", "Unit of the values."),
            Column("direction", "string", "Whether higher or lower values are better."),
            Column("standard", "number", "National standard, if any."),
            Column("standard_kind", "string", "Whether the standard is a minimum or maximum."),
        ),
        "code",
    ),
    Table(
        "indicator_values",
        "Values of the indicators per town and period (public)",
        lambda: _public(IndicatorValue).select_related("town", "indicator").order_by("pk"),
        (
            Column("id", "integer", "Identifier of the value.", required=True),
            Column("town", "string", "Town (towns.slug).", _slug("town"), True),
            Column(
                "indicator", "string", "Indicator (indicators.code).", _ref("indicator", "code")
            ),
            Column("year", "integer", "Year."),
            Column("quarter", "integer", "Quarter 1-4, or 0 for the whole year."),
            Column("value", "number", "The value, in the indicator's unit."),
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("town", "towns", "slug"), ("indicator", "indicators", "code")),
        flat=True,
    ),
    Table(
        "activities",
        "Activities in towns: covered, gaps and forbidden (public)",
        lambda: _public(Activity).select_related("town").order_by("pk"),
        (
            Column("id", "integer", "Identifier of the activity.", required=True),
            Column("town", "string", "Town (towns.slug).", _slug("town"), True),
            Column("title", "string", "Title of the activity."),
            Column("field", "string", "Field of the activity."),
            Column("status", "string", "covered, gap or forbidden."),
            Column("la_stance", "string", "The local authority's observed stance."),
            Column("benefit", "integer", "Benefit, 1-5."),
            Column("cost", "integer", "Cost, 1-5."),
            Column("threat", "integer", "Threat to the indicators, 1-5."),
            Column("year", "integer", "Year observed."),
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("town", "towns", "slug"),),
    ),
    Table(
        "posts",
        "Posts (positions) of local government",
        lambda: Post.objects.visible_to(None).order_by("pk"),
        (
            Column("id", "integer", "Identifier of the post.", required=True),
            *_names("post"),
            Column("kind", "string", "Kind of post."),
            Column("organization", "string", "Body the post belongs to."),
            Column("is_key", "boolean", "Counts for 'who governs' on town profiles."),
        ),
        "id",
    ),
    Table(
        "persons",
        "Persons whose names are public",
        _public_persons,
        (
            Column("id", "integer", "Identifier of the person.", required=True),
            Column("name_en", "string", "Name in English.", required=True),
            Column("name_be", "string", "Name in Belarusian."),
            Column("name_ru", "string", "Name in Russian."),
            Column("origin", "string", "Where the person comes from, as residents perceive it."),
            SYNTHETIC,
        ),
        "id",
    ),
    Table(
        "appointments",
        "Appointments of persons with public names to posts (public)",
        lambda: (
            _public(Appointment)
            .filter(person__in=[p.pk for p in _public_persons()])
            .select_related("town")
            .order_by("pk")
        ),
        (
            Column("id", "integer", "Identifier of the appointment.", required=True),
            Column("person", "integer", "Person (persons.id).", lambda a: a.person_id, True),
            Column("post", "integer", "Post (posts.id).", lambda a: a.post_id, True),
            Column("town", "string", "Town (towns.slug).", _slug("town"), True),
            Column("recruited_from", "string", "Where the person was recruited from."),
            *DATES,
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("person", "persons", "id"), ("post", "posts", "id"), ("town", "towns", "slug")),
    ),
    Table(
        "influence_groups",
        "Influence groups (public)",
        lambda: _public(InfluenceGroup).order_by("pk"),
        (
            Column("id", "integer", "Identifier of the group.", required=True),
            *_names("group"),
            Column("origin", "string", "our_own or alien."),
            Column("kind", "string", "Kind of influence group."),
            Column("sector", "string", "Sector, for outside corporate structures."),
            SYNTHETIC,
        ),
        "id",
    ),
    Table(
        "influences",
        "Influence of groups on towns (public)",
        lambda: (
            _public(Influence)
            .filter(group__in=_public(InfluenceGroup))
            .select_related("town")
            .order_by("pk")
        ),
        (
            Column("id", "integer", "Identifier of the claim.", required=True),
            Column("group", "integer", "Group (influence_groups.id).", lambda i: i.group_id, True),
            Column("town", "string", "Town (towns.slug).", _slug("town"), True),
            Column("strength", "integer", "Strength 1-5."),
            *DATES,
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("group", "influence_groups", "id"), ("town", "towns", "slug")),
    ),
    Table(
        "fields_of_activity",
        "Fields of activity of CSOs",
        lambda: FieldOfActivity.objects.order_by("code"),
        (
            Column("code", "string", "Identifier of the field.", required=True),
            Column("name_en", "string", "Name in English.", required=True),
            Column("name_be", "string", "Name in Belarusian."),
            Column("name_ru", "string", "Name in Russian."),
        ),
        "code",
    ),
    Table(
        "csos",
        "Civil society organisations (public)",
        lambda: (
            _public(CSO)
            .prefetch_related(Prefetch("towns", queryset=Town.objects.only("id", "slug")))
            .prefetch_related("fields_of_activity")
            .order_by("slug")
        ),
        (
            Column("slug", "string", "Identifier of the CSO.", required=True),
            *_names("CSO"),
            Column("legal_form", "string", "Legal form."),
            Column("status", "string", "Status (active, liquidated, ...)."),
            Column("liquidation_date", "date", "Date of liquidation, if liquidated."),
            Column("character", "string", "Character of the CSO."),
            Column("founding_year", "integer", "Year founded."),
            Column("size_band", "string", "Size band."),
            Column(
                "towns",
                "string",
                "Towns served (towns.slug), separated by spaces.",
                _joined(CSO, "towns", "slug"),
            ),
            Column(
                "fields_of_activity",
                "string",
                "Fields of activity (fields_of_activity.code), separated by spaces.",
                _joined(CSO, "fields_of_activity", "code"),
            ),
            SYNTHETIC,
        ),
        "slug",
        flat=True,
    ),
    Table(
        "cso_links",
        "Links between CSOs (public)",
        lambda: (
            _public(CSOLink)
            .filter(source_cso__in=_public(CSO), target_cso__in=_public(CSO))
            .select_related("source_cso", "target_cso")
            .order_by("pk")
        ),
        (
            Column("id", "integer", "Identifier of the link.", required=True),
            Column("source_cso", "string", "From CSO (csos.slug).", _slug("source_cso"), True),
            Column("target_cso", "string", "To CSO (csos.slug).", _slug("target_cso"), True),
            Column("kind", "string", "Kind of link."),
            *DATES,
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("source_cso", "csos", "slug"), ("target_cso", "csos", "slug")),
        flat=True,
    ),
    Table(
        "cooperation_cases",
        "Cases of cooperation between local authorities and CSOs (public)",
        lambda: (
            _public(CooperationCase)
            .select_related("town")
            .prefetch_related(Prefetch("csos", queryset=_public(CSO).only("id", "slug")))
            .order_by("pk")
        ),
        (
            Column("id", "integer", "Identifier of the case.", required=True),
            Column("town", "string", "Town (towns.slug).", _slug("town"), True),
            Column("la_body", "string", "The local authority body."),
            Column(
                "csos",
                "string",
                "CSOs involved (csos.slug), separated by spaces.",
                lambda c: " ".join(sorted(x.slug for x in c.csos.all())),
            ),
            Column("start_year", "integer", "From year."),
            Column("end_year", "integer", "To year."),
            Column("subject", "string", "Subject of the cooperation."),
            Column("strategy", "integer", "Strategy option 1-3."),
            Column("outcome", "string", "Outcome."),
            CONFIDENCE,
            SYNTHETIC,
        ),
        "id",
        (("town", "towns", "slug"),),
    ),
    # How power is implemented, society, ways of life, communication sites (towns.models.society).
    # Popolo has no place for them; the data package has.
    *society_tables(Table, Column, _public, _slug, CONFIDENCE, SYNTHETIC, DATES),
)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))


#: How PostgreSQL writes a cell the way :func:`_csv_value` does, by Table Schema type.
_SQL_CELL = {
    "integer": "{c}::text",
    # An integral value without its zeros (7147.0000 -> 7147), any other with its scale.
    "number": "CASE WHEN {c} = trunc({c}) THEN trunc({c})::text ELSE {c}::text END",
    "boolean": "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",
    "date": "to_char({c}, 'YYYY-MM-DD')",
    # neutralise(), and no empty string (COPY would quote it; Python writes nothing).
    "string": (
        "NULLIF(CASE WHEN left({c}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
        "AND {c} !~ '{plain}' THEN '''' || {c} ELSE {c} END, '')"
    ),
}


def copy_csv(table: Table, using: str | None = None) -> bytes | None:
    """The rows of a flat table as CSV written by PostgreSQL (``COPY ... TO STDOUT``), the
    same bytes :func:`table_csv` writes in Python; None when that cannot be promised (a column
    of another type, an ordering not on a column, or a value that needed quoting, since COPY
    and Python's csv module quote differently): the caller then writes it in Python."""
    from django.db import connections, router

    from governance.api.renderers import PLAIN_NUMBER_PATTERN

    if any(c.type not in _SQL_CELL for c in table.columns):
        return None
    lookups = table.lookups()
    queryset = table.rows()
    model = queryset.model
    order = []
    for term in queryset.query.order_by or model._meta.ordering:
        if not isinstance(term, str):
            return None
        name = term.lstrip("-")
        name = model._meta.pk.name if name == "pk" else name
        if name not in lookups:
            return None
        order.append(f"t.c{lookups.index(name)}{' DESC' if term.startswith('-') else ''}")
    inner, params = queryset.order_by().values_list(*lookups).query.sql_with_params()
    cells = ", ".join(
        _SQL_CELL[c.type].format(c=f"t.c{i}", plain=PLAIN_NUMBER_PATTERN)
        for i, c in enumerate(table.columns)
    )
    names = ", ".join(f"c{i}" for i in range(len(lookups)))
    ordering = f" ORDER BY {', '.join(order)}" if order else ""
    using = using or router.db_for_read(model)
    with connections[using].cursor() as cursor:
        select = cursor.mogrify(
            f"SELECT {cells} FROM ({inner}) AS t({names}){ordering}",  # noqa: S608 (our own SQL)
            params,
        ).decode()
        out = io.BytesIO()
        cursor.copy_expert(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", out)
    data = out.getvalue()
    if b'"' in data:
        return None
    header = ",".join(c.name for c in table.columns).encode() + b"\r\n"
    # Nothing was quoted, so every LF ends a row: RFC 4180's CRLF, as the csv module writes.
    return header + data.replace(b"\n", b"\r\n")


def table_csv(table: Table, *, using: str | None = None) -> bytes:
    """The table as CSV (RFC 4180): written by PostgreSQL for a flat table where it can be,
    else row by row in Python."""
    if table.flat:
        written = copy_csv(table, using)
        if written is not None:
            return written
    out = io.StringIO()
    # CRLF as RFC 4180 says: with "\n" the csv module would not quote a CR inside a value.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    for record in table.records():
        writer.writerow([_csv_value(value) for value in record])
    return out.getvalue().encode("utf-8")


def table_resource(table: Table) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [
            {
                "name": c.name,
                "type": c.type,
                "description": c.description,
                **({"constraints": {"required": True}} if c.required else {}),
            }
            for c in table.columns
        ],
        "primaryKey": [table.primary_key],
        "missingValues": [""],
    }
    if table.foreign_keys:
        schema["foreignKeys"] = [
            {"fields": [col], "reference": {"resource": ref, "fields": [ref_col]}}
            for col, ref, ref_col in table.foreign_keys
        ]
    return {
        "name": table.name,
        "title": table.title,
        "path": f"data/{table.name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def datapackage_descriptor(generated: datetime | None = None) -> dict[str, Any]:
    return {
        "profile": "tabular-data-package",
        "name": "local-governance-atlas",
        "title": "Local Governance Atlas: public data",
        "description": (
            "Who governs small towns in Belarus, what they govern and how, and where local "
            "authorities and civil society organisations can cooperate. Published records at "
            "the public access level only; persons whose names are not public are left out. "
            "Records marked is_synthetic are fictional demo data."
        ),
        "created": _iso(generated or timezone.now()),
        "sources": [{"title": "GeoNames (places, CC BY 4.0)", "path": "https://www.geonames.org/"}],
        "resources": [table_resource(t) for t in TABLES],
    }


def datapackage_fingerprint() -> str:
    """The exact state of the data the package is built from: the read cache's fingerprint
    (:func:`governance.cache.data_state`), which moves with every committed write however it
    was made (admin, API, import, a queryset ``update()``, ``psql``) and never repeats, even
    across a restore. Row counts and ``updated_at``, used before, missed writes that leave
    ``updated_at`` alone (a stored aggregate refreshed in bulk, SQL)."""
    from governance.cache import data_state, read_database

    return hashlib.sha256(data_state(read_database()).encode()).hexdigest()[:32]


def build_datapackage_zip() -> bytes:
    """The zip file: ``datapackage.json`` and ``data/<table>.csv`` for every table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "datapackage.json",
            json.dumps(datapackage_descriptor(), ensure_ascii=False, indent=2),
        )
        for table in TABLES:
            archive.writestr(f"data/{table.name}.csv", table_csv(table))
    return buffer.getvalue()


def datapackage_etag(content: bytes, fingerprint: str) -> str:
    """The ETag of the package ``content``: a hash of what it holds (every file, the
    descriptor without its creation time), so it changes only when the published data does.
    A write to hidden records rebuilds the file but leaves the tag alone: the tag is no signal
    that restricted work is going on. Cached per build (``fingerprint``)."""

    def content_hash() -> str:
        digest = hashlib.sha256()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in sorted(archive.namelist()):
                data = archive.read(name)
                if name == "datapackage.json":
                    descriptor = json.loads(data)
                    descriptor.pop("created", None)
                    data = json.dumps(descriptor, sort_keys=True).encode()
                digest.update(name.encode() + b"\0" + data + b"\0")
        return digest.hexdigest()[:32]

    return cache.get_or_set(f"atlas:datapackage-etag:{fingerprint}", content_hash, 24 * 3600)


def datapackage_zip() -> tuple[bytes, str]:
    """The current data package and its fingerprint, built once per data change for all the
    workers (and machines sharing the read cache): kept in the read cache, and built under a
    PostgreSQL advisory lock, so that a worker asking while another builds waits for that build
    instead of doing the same 10 s of work again."""
    from django.db import connections, transaction

    from governance.cache import read_cache, read_database

    fingerprint = datapackage_fingerprint()
    key = f"atlas:datapackage:{fingerprint}"
    store = read_cache() if settings.READ_CACHE_TIMEOUT > 0 else cache
    content = store.get(key)
    if content is not None:
        return content, fingerprint
    using = read_database()
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
        content = store.get(key)
        if content is None:
            content = build_datapackage_zip()
            store.set(key, content, timeout=24 * 3600)
    return content, fingerprint
