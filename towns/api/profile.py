"""The computed profile of a town and its indicator time series, as API responses.

``/towns/{slug}/profile/`` turns :func:`towns.profile.town_profile` (computed only from what
the viewer may see) into JSON, each part with its explanation, plus the sections other apps
register in :mod:`governance.api.profile_sections` (the CSO network and the strategy advice
come from ``csos`` without ``towns`` importing it).

``/towns/{slug}/indicators/`` returns one series per indicator, of the values the viewer may
see, filtered by ``?indicator=code`` (repeatable) and ``?from=`` / ``?to=`` years.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api import profile_sections
from governance.api.rendered import RenderedRows
from towns.api.serializers import VentureSerializer
from towns.models import Indicator, IndicatorValue, Town, Typology
from towns.profile import town_profile

# --- Response shapes (documented in the schema) ------------------------------------------------


class BalanceSerializer(serializers.Serializer):
    own_share = serializers.FloatField(allow_null=True)
    alien_share = serializers.FloatField(allow_null=True)
    own_weight = serializers.FloatField()
    alien_weight = serializers.FloatField()
    explanation = serializers.CharField()
    derived_from_synthetic = serializers.BooleanField(
        help_text="Computed from at least one synthetic (generated) claim."
    )


class TypologySerializer(serializers.Serializer):
    label = serializers.ChoiceField(choices=Typology.choices)
    explanation = serializers.CharField()
    shares_by_kind = serializers.DictField(child=serializers.FloatField())
    derived_from_synthetic = serializers.BooleanField()
    claims = serializers.IntegerField(help_text="Influence claims it rests on.")
    sources = serializers.IntegerField(help_text="Different sources those claims cite.")
    high_confidence_share = serializers.FloatField(
        allow_null=True, help_text="Share of the weight held by claims at high confidence."
    )
    margin = serializers.CharField(help_text="The smallest single new claim that changes it.")
    margin_weight = serializers.FloatField(allow_null=True)


class FactsSerializer(serializers.Serializer):
    population = serializers.IntegerField(allow_null=True)
    industrial_enterprises = serializers.FloatField(allow_null=True)
    cultural_institutions = serializers.FloatField(allow_null=True)
    population_change_5y = serializers.FloatField(allow_null=True)
    synthetic = serializers.SerializerMethodField(help_text="The facts whose figure is synthetic.")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_synthetic(self, facts) -> list[str]:
        return sorted(facts.synthetic)


class CriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    holds = serializers.BooleanField(allow_null=True)
    evidence = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())
    derived_from_synthetic = serializers.BooleanField()


class ProfileVentureSerializer(VentureSerializer):
    activity = serializers.IntegerField(help_text="Id of the activity (see /activities/).")
    title = serializers.CharField()


class StoredAggregatesSerializer(serializers.Serializer):
    typology = serializers.ChoiceField(choices=Typology.choices)
    own_share = serializers.FloatField(allow_null=True)
    explanation = serializers.CharField()


class TownProfileSerializer(serializers.Serializer):
    town = serializers.SlugField()
    as_of = serializers.DateField()
    balance = BalanceSerializer()
    typology = TypologySerializer()
    published_aggregates = StoredAggregatesSerializer()
    facts = FactsSerializer()
    criteria = CriterionSerializer(many=True)
    ventures = ProfileVentureSerializer(many=True)
    flags = serializers.ListField(
        child=serializers.CharField(), help_text="For researchers only: empty for others."
    )
    synthetic_inputs = serializers.ListField(
        child=serializers.CharField(),
        help_text="The parts of this profile computed from synthetic (generated) records.",
    )
    derived_from_synthetic = serializers.BooleanField()
    sections = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Sections contributed by other parts of the atlas: 'network' (CSO network "
        "metrics with explanation) and 'advice' (strategy options 1-3 with reasons).",
    )


class SeriesValueSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    quarter = serializers.IntegerField(help_text="0 for the whole year, 1-4 for a quarter.")
    value = serializers.DecimalField(max_digits=16, decimal_places=4)
    confidence = serializers.CharField()
    is_synthetic = serializers.BooleanField()


class SeriesSerializer(serializers.Serializer):
    indicator = serializers.SlugField()
    name_en = serializers.CharField()
    name_be = serializers.CharField()
    name_ru = serializers.CharField()
    unit = serializers.CharField()
    system = serializers.IntegerField()
    direction = serializers.CharField()
    values = SeriesValueSerializer(many=True)


class TownSeriesSerializer(serializers.Serializer):
    town = serializers.SlugField()
    series = SeriesSerializer(many=True)


class ProfileQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)


class SeriesQuerySerializer(serializers.Serializer):
    """``?indicator=code`` (repeatable), ``?from=`` and ``?to=`` (years, inclusive)."""

    indicator = serializers.ListField(child=serializers.SlugField(), required=False)

    def get_fields(self):
        fields = super().get_fields()
        # "from" and "to" are what partners type; they are Python keywords, hence added here.
        fields["from"] = serializers.IntegerField(required=False, min_value=1990, max_value=2100)
        fields["to"] = serializers.IntegerField(required=False, min_value=1990, max_value=2100)
        return fields

    def validate_indicator(self, codes):
        # An unknown code matches nothing, as an unknown town slug does in a list filter: the
        # catalogue is data and may grow, so the schema cannot list the codes.
        return list(dict.fromkeys(codes))


# --- Builders ----------------------------------------------------------------------------------


def profile_data(town: Town, *, user=None, as_of: date | None = None) -> dict:
    """The profile of ``town`` for ``user``, ready for :class:`TownProfileSerializer`."""
    profile = town_profile(town, user=user, as_of=as_of)
    return {
        "town": town.slug,
        "as_of": profile.as_of,
        "balance": profile.balance,
        "typology": profile.typology,
        "published_aggregates": {
            "typology": town.typology,
            "own_share": None if town.own_share is None else float(town.own_share),
            "explanation": _(
                "Stored on the town from every published influence claim, whatever its access "
                "level: the aggregate is public while the claims behind it may stay hidden. "
                "'balance' and 'typology' above use only the claims you may see."
            ),
        },
        "facts": profile.facts,
        "criteria": profile.criteria,
        "ventures": [
            {
                "activity": activity.pk,
                "title": activity.title,
                "likelihood": assessment.likelihood,
                "score": assessment.score,
                "reasons": assessment.reasons,
                "contradicts_stance": assessment.contradicts_stance,
                "flag": assessment.flag,
            }
            for activity, assessment in profile.ventures
        ],
        "flags": profile.flags,
        "synthetic_inputs": profile.synthetic_inputs,
        "derived_from_synthetic": profile.derived_from_synthetic,
        "sections": profile_sections.render(town, user=user, as_of=profile.as_of),
    }


def series_values(town: Town | str, *, user, codes=None, year_from=None, year_to=None):
    """The values of ``town``'s series that ``user`` may see, of these indicators and years
    (``town`` a town or its slug: the town is then found in the same query)."""
    values = IndicatorValue.objects.visible_to(user)
    values = values.filter(town__slug=town) if isinstance(town, str) else values.filter(town=town)
    if codes:
        values = values.filter(indicator__code__in=codes)
    if year_from is not None:
        values = values.filter(year__gte=year_from)
    if year_to is not None:
        values = values.filter(year__lte=year_to)
    return values


def series_data(
    town: Town,
    *,
    user=None,
    codes: list[str] | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
) -> dict:
    """Time series of ``town`` (two queries), one per indicator with a visible value; its
    values as plain rows (:data:`VALUE_FIELDS`). :func:`series_payload` renders it."""
    values = series_values(town, user=user, codes=codes, year_from=year_from, year_to=year_to)
    indicators = Indicator.objects.order_by("system", "code")
    if codes:
        indicators = indicators.filter(code__in=codes)
    by_indicator: dict[int, list[dict]] = OrderedDict()
    # Plain rows, not model instances: a series of 10 indicators over 20 years is 200 values,
    # and building an instance for each was a third of the request.
    for indicator_id, *row in values.order_by("indicator_id", "year", "quarter", "pk").values_list(
        "indicator_id", *VALUE_FIELDS
    ):
        by_indicator.setdefault(indicator_id, []).append(dict(zip(VALUE_FIELDS, row, strict=True)))
    series = [
        {
            "indicator": indicator.code,
            "name_en": indicator.name_en,
            "name_be": indicator.name_be,
            "name_ru": indicator.name_ru,
            "unit": indicator.unit,
            "system": indicator.system,
            "direction": indicator.direction,
            "values": by_indicator[indicator.pk],
        }
        for indicator in (indicators.filter(pk__in=list(by_indicator)) if by_indicator else [])
    ]
    return {"town": town.slug, "series": series}


#: The members of one value of a series, in SeriesValueSerializer's order.
VALUE_FIELDS = ("year", "quarter", "value", "confidence", "is_synthetic")
#: The members of a series before its values, in SeriesSerializer's order.
SERIES_FIELDS = ("indicator", "name_en", "name_be", "name_ru", "unit", "system", "direction")
_VALUE = SeriesValueSerializer().fields["value"]


def _value_text(value) -> str:
    """What SeriesValueSerializer's ``value`` field gives: a Decimal of exactly four places
    and at most 16 digits (what the column holds) is unchanged by its quantize, so it is
    written as it is; anything else goes through the field."""
    if type(value) is Decimal:
        _sign, digits, exponent = value.as_tuple()
        if exponent == -4 and len(digits) <= 16:
            return f"{value:f}"
    return _VALUE.to_representation(value)


_AS = {
    "indicator": str,
    "name_en": str,
    "name_be": str,
    "name_ru": str,
    "unit": str,
    "system": int,
    "direction": str,
    "year": int,
    "quarter": int,
    "value": _value_text,
    "confidence": str,
    "is_synthetic": bool,
}


def _shown(row: dict, fields: tuple[str, ...]) -> dict:
    # As a DRF serializer does: None stays None, anything else through the field's type.
    return {f: None if row[f] is None else _AS[f](row[f]) for f in fields}


#: One text per indicator: :func:`series_payload`'s members and values, in its order, as
#: DRF's JSON renderer writes them. ``value`` is the column's text: numeric(16, 4) always has
#: its four places, which is what SeriesValueSerializer's DecimalField writes (``_value_text``).
SERIES_SQL = """
    SELECT '{"indicator":' || COALESCE(to_json(i.code::text)::text, 'null')
        || ',"name_en":' || COALESCE(to_json(i.name_en::text)::text, 'null')
        || ',"name_be":' || COALESCE(to_json(i.name_be::text)::text, 'null')
        || ',"name_ru":' || COALESCE(to_json(i.name_ru::text)::text, 'null')
        || ',"unit":' || COALESCE(to_json(i.unit::text)::text, 'null')
        || ',"system":' || COALESCE(i.system::text, 'null')
        || ',"direction":' || COALESCE(to_json(i.direction::text)::text, 'null')
        || ',"values":[' || string_agg(
            '{"year":' || COALESCE(v.year::text, 'null')
            || ',"quarter":' || COALESCE(v.quarter::text, 'null')
            || ',"value":' || COALESCE(to_json(v.value::text)::text, 'null')
            || ',"confidence":' || COALESCE(to_json(v.confidence::text)::text, 'null')
            || ',"is_synthetic":' || COALESCE(v.is_synthetic::text, 'null') || '}',
            ',' ORDER BY v.year, v.quarter, v.id) || ']}'
    FROM ({values}) v JOIN towns_indicator i ON i.id = v.indicator_id
    GROUP BY i.id
    ORDER BY i.system, i.code
"""


def series_rendered(slug: str, *, user=None, **options) -> dict:
    """``series_payload(series_data(town, ...))`` of the town with this ``slug``, in one query,
    each series written by PostgreSQL (tested byte for byte against the serializer): the values
    the viewer may see, selected by :func:`series_values` as for :func:`series_data` (same
    ``options``). The town is found in that query, so an empty series does not tell whether it
    exists (the API looks it up only then)."""
    from django.db import connections

    values = series_values(slug, user=user, **options)
    columns = ("id", "indicator_id", "year", "quarter", "value", "confidence", "is_synthetic")
    values = values.order_by().values(*columns)
    # On the connection the queryset reads from (the router's: a replica, when there is one).
    inner, params = values.query.get_compiler(values.db).as_sql()
    with connections[values.db].cursor() as cursor:
        cursor.execute(SERIES_SQL.replace("{values}", inner), params)
        texts = RenderedRows(row[0] for row in cursor.fetchall())
    return {"town": slug, "series": texts}


def series_payload(data: dict) -> dict:
    """``TownSeriesSerializer(data).data``, written directly: the same members in the same
    order with the same values (tested against the serializer, which stays the schema), without
    DRF's per-field machinery for each of a series' hundreds of values (two thirds of the
    request's time)."""
    return {
        "town": str(data["town"]),
        "series": [
            {
                **_shown(series, SERIES_FIELDS),
                "values": [_shown(value, VALUE_FIELDS) for value in series["values"]],
            }
            for series in data["series"]
        ],
    }
