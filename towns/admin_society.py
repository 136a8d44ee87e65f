"""The researchers' workspace for how power is implemented and the society of a town.

Lists for mechanisms of management (and their extendable vocabulary), society observations,
self-organisation events, ways of life and communication sites, with the review workflow,
history and soft deletion of every research record (:class:`towns.admin.TownsResearchAdmin`);
and inlines on the town's page, so that a town's profile is entered in one place.
"""

from django.contrib import admin

from governance.admin import AtlasInlineMixin
from towns.admin import TownAdmin, TownNameSearchMixin, TownsAdmin, TownsResearchAdmin
from towns.models import (
    CommunicationSite,
    ManagementMechanism,
    MechanismKind,
    SelfOrganisationEvent,
    SocietyObservation,
    WayOfLife,
)

REVIEW = ["confidence", "state", "access_level"]


@admin.register(MechanismKind)
class MechanismKindAdmin(TownsAdmin):
    list_display = ["name_en", "name_be", "name_ru", "code"]
    search_fields = ["name_en", "name_be", "name_ru", "code"]
    prepopulated_fields = {"code": ["name_en"]}


@admin.register(ManagementMechanism)
class ManagementMechanismAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = ["kind", "town", "start_date", "end_date", "confidence", "state"]
    list_filter = ["kind", "town__region", "confidence"]
    list_select_related = ["town", "kind"]
    search_fields = ["description", "kind__name_en"]
    autocomplete_fields = [
        "town",
        "kind",
        "indicators",
        "groups",
        "suppresses",
        "tolerates",
        "sources",
    ]


@admin.register(SocietyObservation)
class SocietyObservationAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = [
        "town",
        "year",
        "measure",
        "value",
        "unit",
        "level",
        "instrument",
        "sample_size",
        "state",
    ]
    list_filter = ["measure", "instrument", "level", "year", "town__region"]
    list_select_related = ["town"]
    search_fields = ["description"]
    autocomplete_fields = ["town", "sources"]


@admin.register(SelfOrganisationEvent)
class SelfOrganisationEventAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = ["title", "town", "date", "kind", "outcome", "state"]
    list_filter = ["kind", "outcome", "town__region"]
    list_select_related = ["town"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["town", "sources"]
    date_hierarchy = "date"


@admin.register(WayOfLife)
class WayOfLifeAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = ["name", "town", "category", "availability", "year", "state"]
    list_filter = ["category", "availability", "town__region"]
    list_select_related = ["town"]
    search_fields = ["name", "barriers"]
    autocomplete_fields = ["town", "sources"]


@admin.register(CommunicationSite)
class CommunicationSiteAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = [
        "name",
        "town",
        "kind",
        "operator",
        "open_to_independent",
        "dialogue_place",
        "coordinates_access_level",
        "state",
    ]
    list_filter = [
        "kind",
        "operator",
        "open_to_independent",
        "dialogue_place",
        "town__region",
    ]
    list_select_related = ["town"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["town", "sources"]


# --- On the town's page ------------------------------------------------------------------------


class SocietyInline(AtlasInlineMixin):
    """Collapsed rows with their sources, loaded in one query per inline."""

    extra = 0
    classes = ["collapse"]
    autocomplete_fields = ["sources"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")


class MechanismInline(SocietyInline, admin.StackedInline):
    model = ManagementMechanism
    fields = ["kind", "description", "start_date", "end_date", "sources", *REVIEW]
    autocomplete_fields = ["kind", "sources"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("kind")


class ObservationInline(SocietyInline, admin.TabularInline):
    model = SocietyObservation
    fields = [
        "year",
        "measure",
        "value",
        "unit",
        "level",
        "instrument",
        "sample_size",
        "sources",
        *REVIEW,
    ]


class EventInline(SocietyInline, admin.TabularInline):
    model = SelfOrganisationEvent
    fields = ["date", "kind", "title", "outcome", "sources", *REVIEW]


class WayOfLifeInline(SocietyInline, admin.TabularInline):
    model = WayOfLife
    fields = ["category", "name", "availability", "barriers", "sources", *REVIEW]


class SiteInline(SocietyInline, admin.TabularInline):
    model = CommunicationSite
    fields = [
        "name",
        "kind",
        "operator",
        "open_to_independent",
        "dialogue_place",
        "sources",
        *REVIEW,
    ]


# The town's page is where a profile is entered: its sections gain these inlines.
TownAdmin.inlines = [
    *TownAdmin.inlines,
    MechanismInline,
    ObservationInline,
    EventInline,
    WayOfLifeInline,
    SiteInline,
]
