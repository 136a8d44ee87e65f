"""Filters of the civil-society resources (django-filter)."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q

from csos.models import (
    CSO,
    Character,
    CooperationCase,
    CSOLink,
    CSOStatus,
    LegalForm,
    LinkKind,
    Outcome,
    SizeBand,
    Strategy,
)
from governance.api.views import ClaimFilterSet, DatedFilterSet, ResearchFilterSet, YearFilter


class CSOFilter(ResearchFilterSet):
    town = filters.CharFilter(field_name="towns__slug", distinct=True, label="Town slug")
    region = filters.CharFilter(
        field_name="towns__region__slug", distinct=True, label="Region slug"
    )
    field = filters.CharFilter(
        field_name="fields_of_activity__code", distinct=True, label="Field of activity code"
    )
    status = filters.ChoiceFilter(choices=CSOStatus.choices)
    character = filters.ChoiceFilter(choices=Character.choices)
    legal_form = filters.ChoiceFilter(choices=LegalForm.choices)
    size_band = filters.ChoiceFilter(choices=SizeBand.choices)
    founded_from = YearFilter(field_name="founding_year", lookup_expr="gte")
    founded_to = YearFilter(field_name="founding_year", lookup_expr="lte")

    class Meta:
        model = CSO
        fields = ["status", "character", "legal_form", "size_band"]


class CSOLinkFilter(DatedFilterSet):
    cso = filters.CharFilter(method="filter_cso", label="CSO slug (either end)")
    town = filters.CharFilter(method="filter_town", label="Town slug (both ends serve it)")
    kind = filters.ChoiceFilter(choices=LinkKind.choices)

    class Meta:
        model = CSOLink
        fields = ["kind"]

    def filter_cso(self, queryset, name, value):
        return queryset.filter(Q(source_cso__slug=value) | Q(target_cso__slug=value))

    def filter_town(self, queryset, name, value):
        serving = CSO.objects.filter(towns__slug=value).values("pk")
        return queryset.filter(source_cso__in=serving, target_cso__in=serving)


class CooperationCaseFilter(ClaimFilterSet):
    town = filters.CharFilter(field_name="town__slug", label="Town slug")
    region = filters.CharFilter(field_name="town__region__slug", label="Region slug")
    cso = filters.CharFilter(method="filter_cso", label="CSO slug")
    strategy = filters.ChoiceFilter(choices=Strategy.choices)
    outcome = filters.ChoiceFilter(choices=Outcome.choices)
    year_from = YearFilter(method="filter_year_from", label="Active in or after")
    year_to = YearFilter(field_name="start_year", lookup_expr="lte")

    class Meta:
        model = CooperationCase
        fields = ["strategy", "outcome"]

    def filter_cso(self, queryset, name, value):
        # Only through CSOs the viewer may see: a hidden CSO must not be found via its cases.
        visible = CSO.objects.visible_to(getattr(self.request, "user", None))
        return queryset.filter(
            pk__in=CooperationCase.csos.through.objects.filter(
                cso__in=visible.filter(slug=value)
            ).values("cooperationcase_id")
        )

    def filter_year_from(self, queryset, name, value):
        return queryset.filter(Q(end_year__isnull=True) | Q(end_year__gte=value))
