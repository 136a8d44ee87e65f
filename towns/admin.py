"""The researchers' workspace for the local-authority side of a town.

A town's page is where its profile is entered: inlines for appointments, influence, the latest
indicator values and activities, and the computed profile (balance, typology, criteria,
ventures, flags) shown read-only as the researcher's account sees it. Every save goes through
:func:`towns.services.research_record_save` (see :mod:`governance.admin`). Lists select their
related rows in the same query (no N+1), search any spelling of a town's name, and filter by
region, typology, system and status.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from governance.admin import (
    AllOrNothingImportMixin,
    AtlasAdminForm,
    AtlasInlineMixin,
    AtlasModelAdmin,
    ResearchAdmin,
)
from governance.entry import BulkEntryActionsMixin
from governance.text import fold
from towns.imports import IndicatorValueResource, TownFactsResource
from towns.models import (
    Activity,
    Appointment,
    District,
    GroupMembership,
    GroupOrigin,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    Region,
    Tie,
    Town,
)
from towns.services import adopt_synthetic_twin, research_record_save
from towns.workspace import workspace_link, workspace_urls
from towns.workspace_entry import indicator_label

#: How many indicator values the town page shows (the newest); the list holds all of them.
LATEST_VALUES_ON_TOWN_PAGE = 40


class TownsAdmin(AtlasModelAdmin):
    save_service = staticmethod(research_record_save)


class TownsResearchAdmin(BulkEntryActionsMixin, ResearchAdmin):
    save_service = staticmethod(research_record_save)
    actions = [*ResearchAdmin.actions, *BulkEntryActionsMixin.bulk_actions]


class SearchByAnyNameMixin:
    """Admin search through ``search_text``, so any spelling of any name finds the place."""

    search_fields = ["search_text"]
    search_help_text = _("Any spelling of the name: Latin or Cyrillic.")

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return queryset.search(search_term), False


class TownNameSearchMixin:
    """Search the admin's ``search_fields`` and also any spelling of the town's name."""

    town_paths = ("town",)
    search_help_text = _("The town (any spelling, Latin or Cyrillic) or the fields listed.")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        key = fold(search_term)
        if key:
            by_town = Q()
            for path in self.town_paths:
                by_town |= Q(**{f"{path}__search_text__contains": key})
            results = results | queryset.filter(by_town)
        return results, may_have_duplicates


# --- Places ----------------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(TownsAdmin):
    list_display = ["code", "name_en", "name_be", "name_ru", "slug"]
    search_fields = ["name_en", "name_be", "name_ru", "code"]
    prepopulated_fields = {"slug": ["name_en"]}


@admin.register(District)
class DistrictAdmin(TownsAdmin):
    list_display = ["name_en", "name_be", "name_ru", "region"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["name_en", "name_be", "name_ru"]
    autocomplete_fields = ["region"]
    prepopulated_fields = {"slug": ["name_en"]}


class AppointmentInline(AtlasInlineMixin, admin.TabularInline):
    model = Appointment
    extra = 0
    fields = [
        "person",
        "post",
        "start_date",
        "end_date",
        "recruited_from",
        "influenced_by_groups",
        "influenced_by_persons",
        "sources",
        "confidence",
        "state",
        "access_level",
    ]
    autocomplete_fields = [
        "person",
        "post",
        "influenced_by_groups",
        "influenced_by_persons",
        "sources",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("person", "post", "town")
            .prefetch_related("influenced_by_groups", "influenced_by_persons", "sources")
        )


class InfluenceInline(AtlasInlineMixin, admin.TabularInline):
    model = Influence
    extra = 0
    fields = [
        "group",
        "strength",
        "start_date",
        "end_date",
        "sources",
        "confidence",
        "state",
        "access_level",
    ]
    autocomplete_fields = ["group", "sources"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("group", "town")
            .prefetch_related("sources")
        )


class LatestValuesFormSet(BaseInlineFormSet):
    """Only the newest values of a town: a town can have thousands, the page must stay light."""

    limit = LATEST_VALUES_ON_TOWN_PAGE
    newest_first = ("-year", "-quarter", "indicator__system", "indicator__code")

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            values = super().get_queryset()
            newest = values.order_by(*self.newest_first).values("pk")[: self.limit]
            self._queryset = values.filter(pk__in=newest).order_by(*self.newest_first)
        return self._queryset


class IndicatorPickerMixin:
    """The indicator of a value is picked from a list that shows its system, unit and legal
    standard ("System 1 · Population (persons; standard ≥ 6000)"), not a bare name."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name != "indicator":
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        field = super().formfield_for_foreignkey(db_field, request, widget=forms.Select, **kwargs)
        cache = request.__dict__.setdefault("_atlas_indicator_choices", [])
        if not cache:
            cache.append(("", "---------"))
            cache.extend(
                (i.pk, indicator_label(i)) for i in Indicator.objects.order_by("system", "name_en")
            )
        # A plain list: every row of an inline renders it without a query of its own.
        field.choices = cache
        return field


class IndicatorValueForm(AtlasAdminForm):
    """A new real value where a synthetic one exists for the same town, indicator and period
    takes the synthetic one's row (towns.services.adopt_synthetic_twin) instead of failing as a
    duplicate; the admin then says so."""

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if not instance._state.adding or cleaned.get("is_synthetic"):
            return cleaned
        town = cleaned.get("town") or getattr(instance, "town", None)
        probe = IndicatorValue(
            town=town if isinstance(town, Town) else None,
            indicator=cleaned.get("indicator"),
            year=cleaned.get("year"),
            quarter=cleaned.get("quarter") or 0,
        )
        if None in (probe.town_id, probe.indicator_id, probe.year):
            return cleaned
        if adopt_synthetic_twin(probe) is not None:
            instance.pk, instance.version = probe.pk, probe.version
            instance.created_at = probe.created_at
            instance._state.adding = False
            instance.replaced_synthetic = probe.replaced_synthetic
        return cleaned


def report_replaced_synthetic(model_admin, request, values) -> None:
    from towns.workspace_entry import synthetic_replaced_note

    for value in values:
        old = getattr(value, "replaced_synthetic", None)
        if old is not None:
            model_admin.message_user(request, synthetic_replaced_note(value, old), messages.WARNING)


class IndicatorValueInline(IndicatorPickerMixin, AtlasInlineMixin, admin.TabularInline):
    model = IndicatorValue
    form = IndicatorValueForm
    formset = LatestValuesFormSet
    extra = 1
    verbose_name_plural = format_lazy(
        "{} ({} {}; {})",
        _("indicator values"),
        _("the newest"),
        LATEST_VALUES_ON_TOWN_PAGE,
        _("all of them: “indicator values of this town” above"),
    )
    fields = [
        "indicator",
        "year",
        "quarter",
        "value",
        "source",
        "confidence",
        "is_synthetic",
        "state",
        "access_level",
        "note",
    ]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("indicator", "source", "town")


class ActivityInline(AtlasInlineMixin, admin.TabularInline):
    model = Activity
    extra = 0
    fields = [
        "title",
        "field",
        "status",
        "la_stance",
        "benefit",
        "cost",
        "threat",
        "year",
        "sources",
        "confidence",
        "state",
        "access_level",
    ]
    autocomplete_fields = ["sources"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")


YES_NO_UNKNOWN = {True: _("holds"), False: _("does not hold"), None: _("unknown")}
LIKELIHOOD = {
    "likely": _("likely to be backed"),
    "possible": _("possibly backed"),
    "unlikely": _("unlikely to be backed"),
    "unknown": _("not predictable yet"),
}


@admin.register(Town)
class TownAdmin(SearchByAnyNameMixin, AllOrNothingImportMixin, TownsAdmin):
    list_display = [
        "name_en",
        "name_be",
        "name_ru",
        "region",
        "kind",
        "population",
        "typology",
        "own_share_percent",
        "is_synthetic",
        "workspace",
    ]
    # "district: empty" lists the towns left for researchers to assign (load_demo counts them);
    # the verified flags list the machine-guessed names and kinds still to confirm.
    list_filter = [
        "region",
        ("district", admin.EmptyFieldListFilter),
        "kind",
        "names_verified",
        "kind_verified",
        "typology",
        "is_synthetic",
    ]
    list_select_related = ["region"]
    sortable_by = ["name_en", "region", "kind", "population", "typology", "own_share_percent"]
    ordering = ["name_en"]
    autocomplete_fields = ["region", "district"]
    inlines = [AppointmentInline, InfluenceInline, IndicatorValueInline, ActivityInline]
    list_per_page = 50
    change_list_template = "admin/towns/town/change_list.html"

    class Media:
        # Wide inlines scroll inside their box: the page stays as wide as the window.
        css = {"all": ["css/workspace.css"]}

    resource_classes = [TownFactsResource]
    import_template_name = "admin/towns/import.html"
    import_help = _(
        "Columns: slug or geonames_id (which town; at least one), name_be, name_ru, kind (a "
        "code: regional_city, district_centre, urban_settlement, agrotown, capital), "
        "population, population_year, population_source. Only the columns in the file are "
        "changed; a blank kind is left as it is. No town is created."
    )
    profile_fields = [
        "workspace",
        "profile_typology",
        "profile_balance",
        "profile_criteria",
        "profile_ventures",
        "profile_flags",
        "published_typology",
        "published_own_share",
        "indicator_values_link",
    ]
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

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        profile = (
            _("Profile (computed from the records below, as your account sees them)"),
            {"fields": self.profile_fields},
        )
        return [*fieldsets[:1], profile, *fieldsets[1:]]

    @admin.display(description=_("workspace"))
    def workspace(self, town):
        return workspace_link(town)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is IndicatorValue:
            report_replaced_synthetic(self, request, (f.instance for f in formset.saved_forms))

    def get_urls(self):
        # The town's workspace, the review queue and a town's review (towns/workspace.py).
        return workspace_urls(self) + super().get_urls()

    def get_prepopulated_fields(self, request, obj=None):
        # A slug is stable once published in links; only a new town gets one suggested.
        return {} if obj else {"slug": ["name_en"]}

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "geonames_id"]
        return [*fields, "slug", *self.profile_fields] if obj else fields

    def get_object(self, request, object_id, from_field=None):
        town = super().get_object(request, object_id, from_field)
        if town is not None:
            # The profile is computed for this viewer: read-only fields see only the object.
            town._admin_viewer = request.user
        return town

    def profile(self, town):
        from towns.profile import town_profile

        if "_admin_profile" not in town.__dict__:
            town._admin_profile = town_profile(town, user=getattr(town, "_admin_viewer", None))
        return town._admin_profile

    @admin.display(description=_("share of 'our own'"), ordering="own_share")
    def own_share_percent(self, town):
        return None if town.own_share is None else f"{town.own_share * 100:.0f}%"

    @admin.display(description=_("published typology (lists and public pages)"))
    def published_typology(self, town):
        # Stored from published claims only, so it can differ from the researcher's view above.
        return town.get_typology_display()

    @admin.display(description=_("published share of 'our own'"))
    def published_own_share(self, town):
        return self.own_share_percent(town)

    @admin.display(description=_("typology"))
    def profile_typology(self, town):
        typology = self.profile(town).typology
        label = dict(Town._meta.get_field("typology").choices).get(typology.label, typology.label)
        return format_html("<strong>{}</strong><br>{}", label, typology.explanation)

    @admin.display(description=_("influence balance"))
    def profile_balance(self, town):
        balance = self.profile(town).balance
        if balance.own_share is None:
            head = gettext("No weighted influence claims.")
        else:
            head = gettext(
                "Our own %(own).0f%%, aliens %(alien).0f%% (weights %(ow)s : %(aw)s)"
            ) % {
                "own": balance.own_share * 100,
                "alien": balance.alien_share * 100,
                "ow": f"{balance.own_weight:g}",
                "aw": f"{balance.alien_weight:g}",
            }
        return format_html("<strong>{}</strong><br>{}", head, balance.explanation)

    @admin.display(description=_("regional subordination criteria"))
    def profile_criteria(self, town):
        rows = format_html_join(
            "",
            "<li><strong>{}</strong>: {}. {}{}</li>",
            (
                (
                    c.label,
                    YES_NO_UNKNOWN[c.holds],
                    c.evidence,
                    (" " + gettext("Missing: %s.") % ", ".join(c.missing)) if c.missing else "",
                )
                for c in self.profile(town).criteria
            ),
        )
        return format_html("<ul>{}</ul>", rows)

    @admin.display(description=_("ventures (activities)"))
    def profile_ventures(self, town):
        ventures = self.profile(town).ventures
        if not ventures:
            return gettext("No activities recorded.")
        rows = format_html_join(
            "",
            "<li><strong>{}</strong>: {}. {}{}</li>",
            (
                (
                    activity.title,
                    LIKELIHOOD.get(assessment.likelihood, assessment.likelihood),
                    " ".join(str(r) for r in assessment.reasons),
                    (" ⚠ " + assessment.flag) if assessment.contradicts_stance else "",
                )
                for activity, assessment in ventures
            ),
        )
        return format_html("<ul>{}</ul>", rows)

    @admin.display(description=_("flags for the researcher"))
    def profile_flags(self, town):
        flags = self.profile(town).flags
        if not flags:
            return gettext("None.")
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((f,) for f in flags))
        )

    @admin.display(description=_("indicator values of this town"))
    def indicator_values_link(self, town):
        count = town.indicator_values.count()
        url = reverse("admin:towns_indicatorvalue_changelist") + f"?town__id__exact={town.pk}"
        return format_html(
            '<a href="{}">{}</a>', url, gettext("All %(count)d values") % {"count": count}
        )


# --- Who governs -----------------------------------------------------------------------------


@admin.register(Person)
class PersonAdmin(TownsResearchAdmin):
    list_display = [
        "name_en",
        "name_ru",
        "origin",
        "origin_town",
        "names_access_level",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = ["origin", "names_access_level"]
    list_select_related = ["origin_town"]
    search_fields = ["name_en", "name_be", "name_ru", "given_name", "family_name"]
    autocomplete_fields = ["origin_town", "sources"]


@admin.register(Post)
class PostAdmin(TownsAdmin):
    list_display = ["name_en", "name_ru", "kind", "organization", "is_key"]
    list_filter = ["kind", "is_key"]
    search_fields = ["name_en", "name_be", "name_ru", "organization"]


class GroupMembershipInline(AtlasInlineMixin, admin.TabularInline):
    model = GroupMembership
    extra = 0
    fields = [
        "person",
        "role",
        "start_date",
        "end_date",
        "sources",
        "confidence",
        "state",
        "access_level",
    ]
    autocomplete_fields = ["person", "sources"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("person", "group")
            .prefetch_related("sources")
        )


class InfluenceGroupForm(AtlasAdminForm):
    """The kind decides the origin (InfluenceGroup.derive_origin): it is picked only for "other"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        origin = self.fields.get("origin")
        if origin is not None:
            origin.required = False
            origin.choices = [("", gettext("set from the kind")), *GroupOrigin.choices]
            origin.help_text = _(
                "Set from the kind (superior state and outside corporate structures are "
                "aliens; clans, quasi-communities and ecclesial communities are our own). "
                "Choose it only for a group of the kind “Other”."
            )


@admin.register(InfluenceGroup)
class InfluenceGroupAdmin(TownsResearchAdmin):
    form = InfluenceGroupForm
    list_display = ["name_en", "origin", "kind", "sector", "state", "access_level", "is_synthetic"]
    list_filter = ["origin", "kind", "sector"]
    search_fields = ["name_en", "name_be", "name_ru", "description"]
    autocomplete_fields = ["sources"]
    inlines = [GroupMembershipInline]


@admin.register(GroupMembership)
class GroupMembershipAdmin(TownsResearchAdmin):
    list_display = ["person", "group", "role", "start_date", "end_date", "confidence", "state"]
    list_filter = ["group__kind", "group__origin", "confidence"]
    list_select_related = ["person", "group"]
    search_fields = ["person__name_en", "person__name_ru", "group__name_en", "role"]
    autocomplete_fields = ["group", "person", "sources"]


@admin.register(Influence)
class InfluenceAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = [
        "group",
        "town",
        "strength",
        "start_date",
        "end_date",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = ["group__origin", "group__kind", "strength", "confidence", "town__region"]
    list_select_related = ["group", "town"]
    search_fields = ["group__name_en", "group__name_ru"]
    autocomplete_fields = ["group", "town", "sources"]


@admin.register(Appointment)
class AppointmentAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = [
        "person",
        "post",
        "town",
        "start_date",
        "end_date",
        "recruited_from",
        "confidence",
        "state",
    ]
    list_filter = ["post__kind", "recruited_from", "confidence", "town__region"]
    list_select_related = ["person", "post", "town"]
    search_fields = ["person__name_en", "person__name_ru", "person__name_be", "post__name_en"]
    autocomplete_fields = [
        "person",
        "post",
        "town",
        "influenced_by_groups",
        "influenced_by_persons",
        "sources",
    ]


@admin.register(Tie)
class TieAdmin(TownsResearchAdmin):
    list_display = ["person_a", "person_b", "kind", "start_date", "end_date", "confidence", "state"]
    list_filter = ["kind", "confidence"]
    list_select_related = ["person_a", "person_b"]
    search_fields = [
        "person_a__name_en",
        "person_a__name_ru",
        "person_b__name_en",
        "person_b__name_ru",
    ]
    autocomplete_fields = ["person_a", "person_b", "sources"]


# --- What is governed ------------------------------------------------------------------------


@admin.register(Indicator)
class IndicatorAdmin(TownsAdmin):
    list_display = ["code", "name_en", "system", "unit", "direction", "standard", "standard_kind"]
    list_filter = ["system", "direction", "standard_kind"]
    search_fields = ["code", "name_en", "name_be", "name_ru"]
    autocomplete_fields = ["definition_source"]


@admin.register(IndicatorValue)
class IndicatorValueAdmin(
    IndicatorPickerMixin, TownNameSearchMixin, AllOrNothingImportMixin, TownsResearchAdmin
):
    list_display = [
        "town",
        "indicator",
        "period",
        "value",
        "unit",
        "synthetic",
        "confidence",
        "state",
        "access_level",
        "source",
    ]
    list_filter = [
        "indicator__system",
        "indicator",
        "town__region",
        "year",
        "quarter",
        "is_synthetic",
        "state",
        "confidence",
    ]
    list_select_related = ["town", "indicator", "source"]
    search_fields = ["indicator__code", "indicator__name_en"]
    autocomplete_fields = ["town", "source"]
    resource_classes = [IndicatorValueResource]
    import_template_name = "admin/towns/import.html"
    import_help = _(
        "Columns: town (slug or GeoNames id), indicator (code), year, quarter (0 or blank for "
        "the whole year, 1-4), value (a number with a decimal point), and optionally source "
        "(a source's citation, the slug of its citation, or its id), confidence (low, medium, "
        "high), is_synthetic (1/0), note, access_level (public, partner, restricted: set by "
        "reviewers; blank gives a new row the team's entry default). A row for an existing "
        "town, indicator and period changes that value; a real value replaces a synthetic one "
        "(kept in history); new ones are added as drafts. state is exported for reading and "
        "ignored on import."
    )

    form = IndicatorValueForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        report_replaced_synthetic(self, request, [obj])

    @admin.display(description=_("period"), ordering="year")
    def period(self, value):
        return value.period_label

    @admin.display(description=_("unit"))
    def unit(self, value):
        return value.indicator.unit

    @admin.display(description=_("synthetic"), ordering="is_synthetic")
    def synthetic(self, value):
        # Spelled out, not an icon: a generated figure must never pass for a fact.
        return gettext("synthetic") if value.is_synthetic else ""


# --- The gap ---------------------------------------------------------------------------------


@admin.register(Activity)
class ActivityAdmin(TownNameSearchMixin, TownsResearchAdmin):
    list_display = [
        "title",
        "town",
        "field",
        "status",
        "la_stance",
        "benefit",
        "cost",
        "threat",
        "year",
        "state",
    ]
    list_filter = ["status", "la_stance", "field", "town__region"]
    list_select_related = ["town"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["town", "sources"]


# How power is implemented, society, ways of life and communication sites (issue 17).
from towns import admin_society  # noqa: E402, F401

# --- The research's thresholds (towns.models.ResearchSettings; history kept by pghistory) -------
from towns.models import ResearchSettings  # noqa: E402


@admin.register(ResearchSettings)
class ResearchSettingsAdmin(admin.ModelAdmin):
    """One row of thresholds that reviewers change; docs/scoring.md explains each."""

    list_display = ["__str__", "updated_at", "version"]

    def has_add_permission(self, request):
        return not ResearchSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        """Reviewers (senior researchers) and admins change the thresholds, not researchers."""
        user = request.user
        return super().has_change_permission(request, obj) and (
            user.is_superuser or user.groups.filter(name__in=("reviewer", "admin")).exists()
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The stored typologies follow the new thresholds at once.
        from towns.services import town_profile_refresh

        for town in Town.objects.all():
            town_profile_refresh(town=town)
