"""``/api/v1/my-revisions/``: a writer's own changes waiting for review, and what became of them.

A write to a published record answers ``202`` with the revision (governance.api.views); the
record itself keeps answering as published to everybody, its author included. Here the author
sees their pending version: the values they proposed, the status, and the reviewer's comment
when a change is sent back. Only the requester's own revisions are listed, never cached (the
read cache is shared by viewers of one level), and never an old value: ``changes`` holds the
published value beside the proposal, which the writer may not be allowed to read. Sensitive
fields (governance.redaction.POLICY: names, contacts, notes...) are left out of the proposal
below research level, as everywhere else.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.routers import SimpleRouter

from governance.access import Viewer, viewer_level
from governance.api.pagination import PageNumberPagination
from governance.api.views import AtlasFilterSet
from governance.models import Revision
from governance.redaction import sensitive_fields


class MyRevisionSerializer(serializers.ModelSerializer):
    record_type = serializers.SerializerMethodField(
        help_text="The kind of record, as app.model (e.g. towns.indicatorvalue)."
    )
    record_id = serializers.IntegerField(
        source="object_id", allow_null=True, help_text="Null for a new record not yet approved."
    )
    proposed = serializers.SerializerMethodField(
        help_text="The values proposed, by field (lists of ids for many-to-many relations)."
    )

    class Meta:
        model = Revision
        fields = [
            "id",
            "kind",
            "status",
            "record_type",
            "record_id",
            "proposed",
            "comment",
            "created_at",
            "reviewed_at",
        ]

    def get_record_type(self, revision: Revision) -> str:
        return f"{revision.content_type.app_label}.{revision.content_type.model}"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_proposed(self, revision: Revision) -> dict:
        model = revision.content_type.model_class()
        request = self.context.get("request")
        hidden: set[str] = set()
        if model is not None and viewer_level(getattr(request, "user", None)) < Viewer.RESEARCH:
            hidden = sensitive_fields(model)
        return {
            name: change.get("new")
            for name, change in sorted(revision.changes.items())
            if name not in hidden and isinstance(change, dict)
        }


class MyRevisionFilter(AtlasFilterSet):
    status = filters.ChoiceFilter(choices=Revision.Status.choices)

    class Meta:
        model = Revision
        fields = ["status"]


class MyRevisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Your own changes for review: pending, approved, sent back (with the reviewer's comment)
    or withdrawn; newest first. Only for a signed-in writer or a token: each sees their own."""

    serializer_class = MyRevisionSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = PageNumberPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = MyRevisionFilter

    queryset = Revision.objects.none()  # the model, for the schema

    def get_queryset(self) -> QuerySet[Revision]:
        if getattr(self, "swagger_fake_view", False):
            return Revision.objects.none()
        return (
            Revision.objects.filter(author=self.request.user)
            .select_related("content_type")
            .order_by("-created_at", "-id")
        )


router = SimpleRouter()
router.register("my-revisions", MyRevisionViewSet, basename="my-revision")
urlpatterns = router.urls
