"""Resources of the civil-society side under /api/v1/: CSOs, their links, cooperation cases.

Reads go through ``visible_to(request.user)``: a link or a case is listed only with the CSOs
the viewer may see (a link to a hidden CSO is absent altogether). Writes go through
:func:`csos.services.csos_record_save`, the admin's service (status transitions, no self-link
or duplicate link). CSOs page by cursor in their default order; links and cases by number.
"""

from __future__ import annotations

from django.db.models import Prefetch

from csos.api import filters as f
from csos.api import serializers as s
from csos.models import CSO, CooperationCase, CSOLeadership, CSOLink
from csos.services import csos_record_save
from governance.api.changes import Needs
from governance.api.views import CursorUnlessPaged, ResearchResource
from governance.models import Source
from towns.models import Town


def visible_sources(user):
    return Prefetch("sources", queryset=Source.objects.visible_to(user).only("pk"))


class CSOViewSet(ResearchResource):
    """Civil society organisations. ``search`` matches any spelling of any name; contacts and
    leaders are present only at or above the CSO's own access levels for them."""

    serializer_class = s.CSODetailSerializer
    list_serializer_class = s.CSOSerializer
    write_serializer_class = s.CSOWriteSerializer
    save_service = staticmethod(csos_record_save)
    m2m_fields = ("fields_of_activity", "towns", "sources")
    lookup_field = "slug"
    filterset_class = f.CSOFilter
    pagination_class = CursorUnlessPaged
    search_fields = ["search_text"]
    search_key_field = "search_text"
    ordering_fields = ["name_en", "founding_year", "updated_at"]
    ordering = ["name_en", "pk"]

    def get_queryset(self):
        user = self.request.user
        qs = CSO.objects.visible_to(user).prefetch_related(
            Prefetch("towns", queryset=Town.objects.only("pk", "slug")),
            "fields_of_activity",
        )
        if self.action != "list":
            qs = qs.prefetch_related(
                visible_sources(user),
                Prefetch(
                    "leaderships",
                    # A leader whose person record is hidden is listed without the person
                    # (see governance.api.serializers.PersonRefField).
                    queryset=CSOLeadership.objects.visible_to(user)
                    .select_related("person")
                    .order_by("start_date", "pk"),
                ),
            )
        return qs


class CSOLinkViewSet(ResearchResource):
    """Links between CSOs (partnership, joint project, umbrella, funding, informal)."""

    # A link is listed only while both its CSOs are visible (governance.api.changes).
    tombstone_needs = Needs(each={"source_cso": CSO, "target_cso": CSO})

    serializer_class = s.CSOLinkDetailSerializer
    list_serializer_class = s.CSOLinkSerializer
    write_serializer_class = s.CSOLinkWriteSerializer
    save_service = staticmethod(csos_record_save)
    m2m_fields = ("sources",)
    filterset_class = f.CSOLinkFilter
    ordering_fields = ["id", "start_date", "updated_at"]
    ordering = ["id"]

    def get_queryset(self):
        user = self.request.user
        visible = CSO.objects.visible_to(user)
        qs = (
            CSOLink.objects.visible_to(user)
            .filter(source_cso__in=visible, target_cso__in=visible)
            .select_related("source_cso", "target_cso")
        )
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(user))
        return qs


class CooperationCaseViewSet(ResearchResource):
    """Cases of cooperation between a local authority and CSOs, with strategy and outcome."""

    serializer_class = s.CooperationCaseDetailSerializer
    list_serializer_class = s.CooperationCaseSerializer
    write_serializer_class = s.CooperationCaseWriteSerializer
    save_service = staticmethod(csos_record_save)
    m2m_fields = ("csos", "sources")
    filterset_class = f.CooperationCaseFilter
    search_fields = ["subject", "la_body"]
    ordering_fields = ["start_year", "updated_at", "id"]
    ordering = ["-start_year", "id"]

    def get_queryset(self):
        user = self.request.user
        qs = (
            CooperationCase.objects.visible_to(user)
            .select_related("town", "la_post")
            .prefetch_related(
                Prefetch("csos", queryset=CSO.objects.visible_to(user).only("pk", "slug"))
            )
        )
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(user))
        return qs
