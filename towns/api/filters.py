"""Filters of the local-authority resources (django-filter).

Every list has ``updated_since``; research records also ``is_synthetic`` and claims
``confidence`` (see :mod:`governance.api.views`). Filters that point at a person, or at a
record that may be hidden, are ``research_only``: ignored below research level, so that a
filter cannot confirm what the viewer may not see.
"""

from __future__ import annotations

import re

import django_filters as filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import QueryArrayWidget
from drf_spectacular.utils import extend_schema_field

from governance.api.views import (
    AtlasFilterSet,
    ClaimFilterSet,
    CountFilter,
    DatedFilterSet,
    IdFilter,
    ResearchFilterSet,
    ShareFilter,
    YearFilter,
    bounded_filter,
)
from governance.models import Source
from towns.models import (
    Activity,
    ActivityField,
    ActivityStatus,
    Appointment,
    CorporateSector,
    Direction,
    District,
    GroupKind,
    GroupOrigin,
    Indicator,
    IndicatorSystem,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Origin,
    Person,
    Post,
    PostKind,
    RecruitedFrom,
    Region,
    Stance,
    Tie,
    TieKind,
    Town,
    TownKind,
    Typology,
)


def town_filters():
    return (
        filters.CharFilter(field_name="town__slug", label="Town slug"),
        filters.CharFilter(field_name="town__region__slug", label="Region slug"),
    )


class RegionFilter(AtlasFilterSet):
    class Meta:
        model = Region
        fields = ["code"]


class DistrictFilter(AtlasFilterSet):
    region = filters.CharFilter(field_name="region__slug", label="Region slug")

    class Meta:
        model = District
        fields = ["region"]


class TownFilter(AtlasFilterSet):
    region = filters.CharFilter(field_name="region__slug", label="Region slug")
    district = filters.CharFilter(field_name="district__slug", label="District slug")
    kind = filters.ChoiceFilter(choices=TownKind.choices)
    typology = filters.ChoiceFilter(choices=Typology.choices)
    population_min = CountFilter(field_name="population", lookup_expr="gte")
    population_max = CountFilter(field_name="population", lookup_expr="lte")
    own_share_min = ShareFilter(field_name="own_share", lookup_expr="gte")
    own_share_max = ShareFilter(field_name="own_share", lookup_expr="lte")
    is_synthetic = filters.BooleanFilter()

    class Meta:
        model = Town
        fields = ["region", "district", "kind", "typology", "is_synthetic"]


class SourceFilter(ResearchFilterSet):
    kind = filters.ChoiceFilter(choices=Source.Kind.choices)
    reliability = filters.ChoiceFilter(choices=Source.Reliability.choices)
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    interview_code = filters.CharFilter(label="Interview code (research level only)")

    research_only = ("interview_code",)

    class Meta:
        model = Source
        fields = ["kind", "reliability", "interview_code"]


class PersonFilter(ResearchFilterSet):
    origin = filters.ChoiceFilter(choices=Origin.choices)
    origin_town = filters.CharFilter(field_name="origin_town__slug", label="Home town slug")

    class Meta:
        model = Person
        fields = ["origin", "origin_town"]


class PostFilter(AtlasFilterSet):
    kind = filters.ChoiceFilter(choices=PostKind.choices)
    is_key = filters.BooleanFilter()

    class Meta:
        model = Post
        fields = ["kind", "is_key"]


class AppointmentFilter(DatedFilterSet):
    town, region = town_filters()
    post = IdFilter(field_name="post_id")
    post_kind = filters.ChoiceFilter(field_name="post__kind", choices=PostKind.choices)
    recruited_from = filters.ChoiceFilter(choices=RecruitedFrom.choices)
    person = IdFilter(field_name="person_id", label="Person id (research level)")
    influenced_by_group = IdFilter(
        field_name="influenced_by_groups", label="Influence group id (research level)"
    )

    research_only = ("person", "influenced_by_group")

    class Meta:
        model = Appointment
        fields = ["post", "recruited_from"]


class InfluenceGroupFilter(ResearchFilterSet):
    kind = filters.ChoiceFilter(choices=GroupKind.choices)
    origin = filters.ChoiceFilter(choices=GroupOrigin.choices)
    sector = filters.ChoiceFilter(choices=CorporateSector.choices)
    town = filters.CharFilter(method="filter_town", label="Town slug (through visible claims)")

    class Meta:
        model = InfluenceGroup
        fields = ["kind", "origin", "sector"]

    def filter_town(self, queryset, name, value):
        # Through the influence claims the viewer may see: a hidden claim must not tie a
        # group to a town.
        user = getattr(self.request, "user", None)
        claims = Influence.objects.visible_to(user).filter(town__slug=value)
        return queryset.filter(pk__in=claims.values("group_id"))


class TieFilter(DatedFilterSet):
    kind = filters.ChoiceFilter(choices=TieKind.choices)
    person = IdFilter(method="filter_person", label="Person id (research level)")

    research_only = ("person",)

    class Meta:
        model = Tie
        fields = ["kind"]

    def filter_person(self, queryset, name, value):
        return queryset.filter(person_a_id=value) | queryset.filter(person_b_id=value)


class IndicatorFilter(AtlasFilterSet):
    system = filters.ChoiceFilter(choices=IndicatorSystem.choices)
    direction = filters.ChoiceFilter(choices=Direction.choices)
    has_standard = filters.BooleanFilter(field_name="standard", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Indicator
        fields = ["system", "direction"]


CODE = re.compile(r"[-a-zA-Z0-9_]+")


class _IndicatorCodesField(forms.Field):
    widget = QueryArrayWidget

    def clean(self, value):
        # ``?indicator=`` (empty, as a form sends it) is no filter, like any empty parameter.
        codes = [code for code in (value or []) if code not in ("", None)]
        if any(not CODE.fullmatch(code) for code in codes):
            raise forms.ValidationError(
                _("An indicator code has only letters, digits, '-' and '_'."), code="invalid"
            )
        return codes


@extend_schema_field({"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"})
class IndicatorCodesFilter(filters.Filter):
    """``?indicator=code`` (repeatable): values of any of the codes. A code that is not in the
    catalogue matches nothing (as an unknown town slug does); a malformed one is a 400."""

    field_class = _IndicatorCodesField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


QuarterFilter = bounded_filter(
    "QuarterFilter", 0, 4, "0 (the whole year) or a quarter 1-4: anything else is a 400."
)


class IndicatorValueFilter(ClaimFilterSet):
    town, region = town_filters()
    indicator = IndicatorCodesFilter(
        field_name="indicator__code", label="Indicator code (repeat for several)"
    )
    system = filters.ChoiceFilter(field_name="indicator__system", choices=IndicatorSystem.choices)
    year = YearFilter()
    year_from = YearFilter(field_name="year", lookup_expr="gte")
    year_to = YearFilter(field_name="year", lookup_expr="lte")
    quarter = QuarterFilter()

    class Meta:
        model = IndicatorValue
        fields = ["indicator", "year", "quarter"]


class ActivityFilter(ClaimFilterSet):
    town, region = town_filters()
    status = filters.ChoiceFilter(choices=ActivityStatus.choices)
    field = filters.ChoiceFilter(choices=ActivityField.choices)
    la_stance = filters.ChoiceFilter(choices=Stance.choices)
    year_from = YearFilter(field_name="year", lookup_expr="gte")
    year_to = YearFilter(field_name="year", lookup_expr="lte")

    class Meta:
        model = Activity
        fields = ["status", "field", "la_stance"]
