"""The researchers' workspace for the civil-society side.

A CSO's page is where it is entered: inlines for its leaders (sensitive), capacity scores and
outgoing links; its incoming links, cooperation cases and the network of its towns shown
read-only. Every save goes through a service (:func:`csos.services.cso_save` for CSOs, so a
changed status obeys the allowed transitions, and links after
:func:`csos.services.link_check`, which refuses self-links and duplicates; see
:func:`csos.services.csos_record_save` and :mod:`governance.admin`). Lists load their
related rows up front (no N+1), search any spelling of any name through the folded
``search_text`` (Latin or Cyrillic), and filter by status, character, field, town and region.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from csos import workspace  # noqa: F401 - registers the civil-society parts of a town's workspace
from csos.imports import CSOLinkResource, CSOResource
from csos.models import (
    CSO,
    CapacityScore,
    CooperationCase,
    CSOLeadership,
    CSOLink,
    CSOStatus,
    CulturalAsset,
    FieldOfActivity,
)
from csos.services import cso_change_status, csos_record_save
from governance.admin import (
    AllOrNothingImportMixin,
    AtlasInlineMixin,
    AtlasModelAdmin,
    ResearchAdmin,
)
from governance.entry import BulkEntryActionsMixin
from governance.text import fold
from towns.models import Town

#: The shared import page: column help, dry run, and a rejection report by row and column.
IMPORT_TEMPLATE = "admin/towns/import.html"


class CSOsAdmin(BulkEntryActionsMixin, ResearchAdmin):
    """The admins of this app save through :func:`csos.services.csos_record_save`."""

    save_service = staticmethod(csos_record_save)
    actions = [*ResearchAdmin.actions, *BulkEntryActionsMixin.bulk_actions]


class FoldedNameSearchMixin:
    """Search every spelling of a name through folded ``search_text`` columns.

    ``name_paths`` lists the ``search_text`` fields to look in (the CSO's own, or a related
    CSO's or town's). Each word of the search must occur in one of them, so "brsm lepel" finds
    "BRSM district branch (Lepel)" and "Лепельская ... «БРСМ»" alike. The admin's plain
    ``search_fields`` are searched as well.
    """

    name_paths: tuple[str, ...] = ("search_text",)
    search_help_text = _("Any spelling of a name, Latin or Cyrillic; every word must match.")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = fold(search_term).split()
        if not words:
            return results, may_have_duplicates
        by_name = queryset
        for word in words:
            match = Q()
            for path in self.name_paths:
                match |= Q(**{f"{path}__contains": word})
            by_name = by_name.filter(match)
        # Paths through many-to-many relations can repeat a row.
        crosses_m2m = any("__" in path for path in self.name_paths)
        return results | by_name, may_have_duplicates or crosses_m2m


# --- Vocabulary ------------------------------------------------------------------------------


@admin.register(FieldOfActivity)
class FieldOfActivityAdmin(AtlasModelAdmin):
    list_display = ["code", "name_en", "name_be", "name_ru", "cso_count"]
    search_fields = ["code", "name_en", "name_be", "name_ru"]
    ordering = ["name_en"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(cso_count=Count("csos"))

    @admin.display(description=_("CSOs"), ordering="cso_count")
    def cso_count(self, field):
        return field.cso_count


# --- CSOs ------------------------------------------------------------------------------------


class CSOLeadershipInline(AtlasInlineMixin, admin.TabularInline):
    model = CSOLeadership
    extra = 0
    verbose_name_plural = _("leaders (sensitive: see the access level of the leaders above)")
    fields = [
        "person",
        "role",
        "start_date",
        "end_date",
        "sources",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    autocomplete_fields = ["person", "sources"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("person", "cso")
            .prefetch_related("sources")
        )


class CapacityScoreInline(AtlasInlineMixin, admin.TabularInline):
    model = CapacityScore
    extra = 0
    fields = [
        "dimension",
        "year",
        "score",
        "source",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source", "cso")


class OutgoingLinkInline(AtlasInlineMixin, admin.TabularInline):
    model = CSOLink
    fk_name = "source_cso"
    extra = 0
    verbose_name = _("link to another CSO")
    verbose_name_plural = _("links to other CSOs (links from them are listed above)")
    fields = [
        "target_cso",
        "kind",
        "start_date",
        "end_date",
        "sources",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    autocomplete_fields = ["target_cso", "sources"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("target_cso", "source_cso")
            .prefetch_related("sources")
        )


STATUS_HELP = _(
    "Allowed changes: registered → liquidated or abroad; informal → registered or abroad; "
    "liquidated → abroad or informal; abroad → registered or informal. A liquidation needs its "
    "date and grounds; leaving the liquidated status keeps the date with the grounds and in "
    "the history."
)


@admin.register(CSO)
class CSOAdmin(FoldedNameSearchMixin, AllOrNothingImportMixin, CSOsAdmin):
    list_display = [
        "name_en",
        "status",
        "character",
        "town_list",
        "field_list",
        "founding_year",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = [
        "status",
        "character",
        "fields_of_activity",
        ("towns", admin.RelatedOnlyFieldListFilter),
        "towns__region",
        "legal_form",
    ]
    search_fields = ["slug"]
    sortable_by = ["name_en", "status", "character", "founding_year", "state", "access_level"]
    ordering = ["name_en"]
    autocomplete_fields = ["towns", "fields_of_activity", "sources"]
    inlines = [CSOLeadershipInline, CapacityScoreInline, OutgoingLinkInline]
    # The review workflow of every research admin first, then the status moves of a CSO.
    actions = [*CSOsAdmin.actions, "mark_abroad", "mark_informal", "mark_registered"]
    resource_classes = [CSOResource]
    import_template_name = IMPORT_TEMPLATE
    import_help = _(
        "Columns: slug (which CSO; a new slug creates a CSO as a restricted draft), name_en, "
        "name_be, name_ru, legal_form, status, liquidation_date (YYYY-MM-DD), "
        "liquidation_grounds, character, character_evidence, founding_year, size_band, towns "
        "(town slugs separated by ;), fields_of_activity (codes separated by ;), sources "
        "(citations, slugs of citations or ids, separated by ;), access_level (set by "
        "reviewers; blank: the team's entry default). Codes as in the export. A changed status "
        "follows the allowed transitions. Only the columns in the file are changed."
    )
    related_fields = ["incoming_links", "cooperation_case_list", "town_networks"]
    fieldsets = [
        (None, {"fields": ["name_en", "name_be", "name_ru", "slug"]}),
        (
            _("Character"),
            {
                "fields": [
                    "legal_form",
                    "character",
                    "character_evidence",
                    "fields_of_activity",
                    "towns",
                    "founding_year",
                    "size_band",
                    "description",
                ]
            },
        ),
        (
            _("Status"),
            {
                "fields": ["status", "liquidation_date", "liquidation_grounds"],
                "description": STATUS_HELP,
            },
        ),
        (
            _("Sensitive"),
            {"fields": ["leaders_access_level", "contacts", "contacts_access_level"]},
        ),
        (
            _("Record"),
            {
                "fields": [
                    "sources",
                    "state",
                    "access_level",
                    "is_synthetic",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "towns",
                    queryset=Town.objects.only("id", "slug", "name_en", "name_be", "name_ru"),
                ),
                "fields_of_activity",
                "sources",
            )
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        related = (_("Links, cases and networks (read-only)"), {"fields": self.related_fields})
        return [*fieldsets, related]

    def get_prepopulated_fields(self, request, obj=None):
        # A slug is stable once it is used in links and files; only a new CSO gets one suggested.
        return {} if obj else {"slug": ["name_en"]}

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug", *self.related_fields] if obj else fields

    def get_object(self, request, object_id, from_field=None):
        cso = super().get_object(request, object_id, from_field)
        if cso is not None:
            # The network is computed for this viewer: read-only fields see only the object.
            cso._admin_viewer = request.user
        return cso

    @admin.display(description=_("towns"))
    def town_list(self, cso):
        return ", ".join(t.name for t in cso.towns.all())

    @admin.display(description=_("fields of activity"))
    def field_list(self, cso):
        return ", ".join(f.name for f in cso.fields_of_activity.all())

    @admin.display(description=_("links from other CSOs"))
    def incoming_links(self, cso):
        links = cso.links_in.select_related("source_cso").order_by("source_cso__name_en")
        if not links:
            return gettext("None.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({}, {})</li>',
                (
                    (
                        reverse("admin:csos_csolink_change", args=[link.pk]),
                        link.source_cso.name_en,
                        link.get_kind_display(),
                        link.get_state_display(),
                    )
                    for link in links
                ),
            ),
        )

    @admin.display(description=_("cooperation cases"))
    def cooperation_case_list(self, cso):
        cases = cso.cooperation_cases.select_related("town").order_by("-start_year")
        if not cases:
            return gettext("None.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a>: {}, {} ({}–{})</li>',
                (
                    (
                        reverse("admin:csos_cooperationcase_change", args=[case.pk]),
                        case.subject,
                        case.get_strategy_display(),
                        case.get_outcome_display(),
                        case.start_year,
                        case.end_year or "",
                    )
                    for case in cases
                ),
            ),
        )

    @admin.display(description=_("network of its towns (as your account sees it, today)"))
    def town_networks(self, cso):
        from csos.profile import town_network

        viewer = getattr(cso, "_admin_viewer", None)
        rows = []
        for town in cso.towns.all():
            metrics = town_network(town, user=viewer)
            rows.append(
                (
                    town.name,
                    gettext(
                        "%(csos)d CSOs, %(links)d links, %(components)d components, "
                        "brokers: %(brokers)s"
                    )
                    % {
                        "csos": metrics.csos,
                        "links": metrics.links,
                        "components": metrics.components,
                        "brokers": ", ".join(metrics.brokers) or "-",
                    },
                    metrics.explanation,
                )
            )
        if not rows:
            return gettext("It serves no town yet.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li><strong>{}</strong>: {}. {}</li>", rows),
        )

    def _change_status(self, request, queryset, status: str) -> None:
        """Move each selected CSO to ``status`` through the service; report each refusal."""
        moved, refused = 0, []
        for cso in queryset:
            try:
                cso_change_status(cso=cso, status=status, actor=request.user, via="admin")
            except ValidationError as error:
                refused.append(f"{cso}: {' '.join(error.messages)}")
            else:
                moved += 1
        label = CSOStatus(status).label
        if moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d CSO is now %(status)s.",
                    "%(count)d CSOs are now %(status)s.",
                    moved,
                )
                % {"count": moved, "status": str(label).lower()},
                messages.SUCCESS,
            )
        for text in refused:
            self.message_user(request, text, messages.ERROR)

    @admin.action(description=_("Mark as working from abroad"), permissions=["change"])
    def mark_abroad(self, request, queryset):
        self._change_status(request, queryset, CSOStatus.ABROAD)

    @admin.action(description=_("Mark as informal initiative"), permissions=["change"])
    def mark_informal(self, request, queryset):
        self._change_status(request, queryset, CSOStatus.INFORMAL)

    @admin.action(description=_("Mark as registered"), permissions=["change"])
    def mark_registered(self, request, queryset):
        self._change_status(request, queryset, CSOStatus.REGISTERED)


# --- Links -----------------------------------------------------------------------------------


@admin.register(CSOLink)
class CSOLinkAdmin(FoldedNameSearchMixin, AllOrNothingImportMixin, CSOsAdmin):
    name_paths = ("source_cso__search_text", "target_cso__search_text")
    list_display = [
        "source_cso",
        "target_cso",
        "kind",
        "start_date",
        "end_date",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = [
        "kind",
        "confidence",
        ("source_cso__towns", admin.RelatedOnlyFieldListFilter),
        "source_cso__towns__region",
    ]
    list_select_related = ["source_cso", "target_cso"]
    search_fields = ["note"]
    autocomplete_fields = ["source_cso", "target_cso", "sources"]
    resource_classes = [CSOLinkResource]
    import_template_name = IMPORT_TEMPLATE
    import_help = _(
        "Columns: source and target (CSO slugs), kind (partnership, joint_project, umbrella, "
        "funding, informal), start_date and end_date (YYYY-MM-DD, optional), note, sources "
        "(citations, slugs or ids separated by ;), access_level (set by reviewers). A row for "
        "an existing source, target and kind changes that link; new links are added as "
        "restricted drafts. A link from a CSO to itself, a repeated row and a second link of an "
        "undirected kind between the same two CSOs are refused."
    )


# --- Leaders, capacity -----------------------------------------------------------------------


@admin.register(CSOLeadership)
class CSOLeadershipAdmin(FoldedNameSearchMixin, CSOsAdmin):
    name_paths = ("cso__search_text",)
    list_display = ["person", "cso", "role", "start_date", "end_date", "state", "access_level"]
    list_filter = ["confidence", "cso__character"]
    list_select_related = ["person", "cso"]
    search_fields = ["person__name_en", "person__name_ru", "person__name_be", "role"]
    autocomplete_fields = ["cso", "person", "sources"]


@admin.register(CapacityScore)
class CapacityScoreAdmin(FoldedNameSearchMixin, CSOsAdmin):
    name_paths = ("cso__search_text",)
    list_display = ["cso", "dimension", "year", "score", "source", "state", "access_level"]
    list_filter = ["dimension", "year", "cso__character"]
    list_select_related = ["cso", "source"]
    search_fields = ["dimension"]
    autocomplete_fields = ["cso", "source"]


# --- Cooperation cases, cultural assets --------------------------------------------------------


@admin.register(CooperationCase)
class CooperationCaseAdmin(FoldedNameSearchMixin, CSOsAdmin):
    name_paths = ("town__search_text", "csos__search_text")
    list_display = [
        "subject",
        "town",
        "strategy",
        "outcome",
        "start_year",
        "end_year",
        "cso_list",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = [
        "strategy",
        "outcome",
        "town__region",
        ("town", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["town", "la_post"]
    search_fields = ["subject", "la_body", "lessons"]
    autocomplete_fields = ["town", "la_post", "csos", "sources"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("csos", queryset=CSO.objects.only("id", "name_en")), "sources"
            )
        )

    @admin.display(description=_("CSOs"))
    def cso_list(self, case):
        return ", ".join(c.name_en for c in case.csos.all())


@admin.register(CulturalAsset)
class CulturalAssetAdmin(FoldedNameSearchMixin, CSOsAdmin):
    name_paths = ("town__search_text",)
    list_display = [
        "name_en",
        "town",
        "kind",
        "confidence",
        "state",
        "access_level",
        "is_synthetic",
    ]
    list_filter = ["kind", "town__region", ("town", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["town"]
    search_fields = ["name_en", "name_be", "name_ru", "description"]
    autocomplete_fields = ["town", "sources"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sources")
