"""Serializers of the civil-society side: list, detail and write shapes per resource.

A CSO's ``contacts`` and ``leaders`` follow its own access levels (absent below them, see
:mod:`governance.redaction`); a leader's person appears only for viewers who may see who it
is. Related records come prefetched and narrowed by ``visible_to`` in the views.
"""

from __future__ import annotations

from rest_framework import serializers

from csos.models import CSO, CooperationCase, CSOLeadership, CSOLink, FieldOfActivity
from governance.api.serializers import (
    PersonRefField,
    RedactingModelSerializer,
    ResearchWriteSerializer,
    VisibleIdsField,
)
from towns.models import Town

RECORD_FIELDS = ["access_level", "state", "is_synthetic", "updated_at", "version"]
NAMES = ["name_en", "name_be", "name_ru"]


class SlugListField(serializers.ListField):
    """Slugs (or codes) of a prefetched relation, already narrowed by the view."""

    child = serializers.SlugField()

    def __init__(self, *, slug_field: str = "slug", **kwargs):
        self.slug_field = slug_field
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, data):
        return [getattr(obj, self.slug_field) for obj in data.all()]


class LeadershipSerializer(serializers.ModelSerializer):
    person = PersonRefField(help_text="Absent when the viewer may not see who it is.")

    class Meta:
        model = CSOLeadership
        fields = ["person", "role", "start_date", "end_date", "confidence"]


class CSOSerializer(RedactingModelSerializer):
    fields_of_activity = SlugListField(slug_field="code")
    towns = SlugListField()

    class Meta:
        model = CSO
        fields = [
            "slug",
            *NAMES,
            "legal_form",
            "status",
            "liquidation_date",
            "character",
            "fields_of_activity",
            "towns",
            "founding_year",
            "size_band",
            *RECORD_FIELDS,
        ]


class CSODetailSerializer(CSOSerializer):
    leaders = LeadershipSerializer(
        source="leaderships",
        many=True,
        read_only=True,
        help_text="Absent below the CSO's leaders access level.",
    )
    sources = VisibleIdsField()

    class Meta(CSOSerializer.Meta):
        fields = [
            *CSOSerializer.Meta.fields,
            "liquidation_grounds",
            "character_evidence",
            "description",
            "contacts",
            "contacts_access_level",
            "leaders",
            "leaders_access_level",
            "sources",
            "created_at",
        ]


class CSOWriteSerializer(ResearchWriteSerializer):
    fields_of_activity = serializers.SlugRelatedField(
        slug_field="code", queryset=FieldOfActivity.objects.all(), many=True, required=False
    )
    towns = serializers.SlugRelatedField(
        slug_field="slug", queryset=Town.objects.all(), many=True, required=False
    )

    class Meta:
        model = CSO
        fields = [
            "slug",
            *NAMES,
            "legal_form",
            "status",
            "liquidation_date",
            "liquidation_grounds",
            "character",
            "character_evidence",
            "fields_of_activity",
            "towns",
            "founding_year",
            "size_band",
            "description",
            "contacts",
            "contacts_access_level",
            "leaders_access_level",
            "sources",
            "access_level",
            "is_synthetic",
        ]


class CSOLinkSerializer(RedactingModelSerializer):
    source_cso = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target_cso = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CSOLink
        fields = [
            "id",
            "source_cso",
            "target_cso",
            "kind",
            "start_date",
            "end_date",
            "confidence",
            *RECORD_FIELDS,
        ]


class CSOLinkDetailSerializer(CSOLinkSerializer):
    sources = VisibleIdsField()

    class Meta(CSOLinkSerializer.Meta):
        fields = [*CSOLinkSerializer.Meta.fields, "note", "sources", "created_at"]


class CSOLinkWriteSerializer(ResearchWriteSerializer):
    source_cso = serializers.SlugRelatedField(slug_field="slug", queryset=CSO.objects.all())
    target_cso = serializers.SlugRelatedField(slug_field="slug", queryset=CSO.objects.all())

    class Meta:
        model = CSOLink
        fields = [
            "id",
            "source_cso",
            "target_cso",
            "kind",
            "start_date",
            "end_date",
            "note",
            "sources",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]
        # Duplicates (also mirrored ones) are refused by csos.services.link_check.
        validators: list = []


class LAPostSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)


class CooperationCaseSerializer(RedactingModelSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    la_post = LAPostSerializer(read_only=True, allow_null=True)
    csos = SlugListField(help_text="The CSOs of the case the viewer may see.")

    class Meta:
        model = CooperationCase
        fields = [
            "id",
            "town",
            "la_body",
            "la_post",
            "csos",
            "start_year",
            "end_year",
            "subject",
            "strategy",
            "outcome",
            "confidence",
            *RECORD_FIELDS,
        ]


class CooperationCaseDetailSerializer(CooperationCaseSerializer):
    sources = VisibleIdsField()

    class Meta(CooperationCaseSerializer.Meta):
        fields = [*CooperationCaseSerializer.Meta.fields, "lessons", "sources", "created_at"]


class CooperationCaseWriteSerializer(ResearchWriteSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", queryset=Town.objects.all())
    csos = serializers.SlugRelatedField(slug_field="slug", queryset=CSO.objects.all(), many=True)

    class Meta:
        model = CooperationCase
        fields = [
            "id",
            "town",
            "la_body",
            "la_post",
            "csos",
            "start_year",
            "end_year",
            "subject",
            "strategy",
            "outcome",
            "lessons",
            "sources",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]
