"""The researchers' workspace for places."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from towns.models import District, Region, Town


class SearchByAnyNameMixin:
    """Admin search through ``search_text``, so any spelling of any name finds the place."""

    search_fields = ["search_text"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return queryset.search(search_term), False


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_be", "name_ru", "slug"]
    search_fields = ["name_en", "name_be", "name_ru", "code"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_be", "name_ru", "region"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["name_en", "name_be", "name_ru"]
    autocomplete_fields = ["region"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(Town)
class TownAdmin(SearchByAnyNameMixin, admin.ModelAdmin):
    list_display = ["name_en", "name_be", "name_ru", "region", "kind", "population", "is_synthetic"]
    list_filter = ["region", "kind", "is_synthetic"]
    list_select_related = ["region"]
    sortable_by = ["name_en", "region", "kind", "population"]
    ordering = ["name_en"]
    autocomplete_fields = ["region", "district"]
    readonly_fields = ["geonames_id", "created_at", "updated_at"]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["name_en", "name_be", "name_ru", "alternate_names", "slug"]}),
        (_("Place"), {"fields": ["region", "district", "kind", "latitude", "longitude"]}),
        (
            _("Population"),
            {
                "fields": [
                    "population",
                    "population_year",
                    "population_source",
                    "population_source_url",
                ]
            },
        ),
        (_("Record"), {"fields": ["geonames_id", "is_synthetic", "created_at", "updated_at"]}),
    ]

    def get_prepopulated_fields(self, request, obj=None):
        # A slug is stable once published in links; only a new town gets one suggested.
        return {} if obj else {"slug": ["name_en"]}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if obj else fields
