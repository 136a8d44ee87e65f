import django_filters
from rest_framework.filters import SearchFilter

from towns.models import Town, TownKind


class TownFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__slug", label="Region slug")
    kind = django_filters.ChoiceFilter(choices=TownKind.choices)
    population_min = django_filters.NumberFilter(field_name="population", lookup_expr="gte")
    population_max = django_filters.NumberFilter(field_name="population", lookup_expr="lte")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Town
        fields = ["region", "kind", "is_synthetic"]


class AnyNameSearchFilter(SearchFilter):
    """``?search=`` matched against every spelling of every name (see governance.text)."""

    def get_search_fields(self, view, request):
        return ["search_text"]

    def filter_queryset(self, request, queryset, view):
        term = request.query_params.get(self.search_param, "").strip()
        if not term:
            return queryset
        return queryset.search(term[:100])
