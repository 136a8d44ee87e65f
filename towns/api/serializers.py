"""Serializers of the local-authority side: list, detail and write shapes per resource.

Read serializers derive from :class:`governance.api.serializers.RedactingModelSerializer`, so
sensitive fields (person names, interview codes, notes) are absent for viewers below their
level, and nested persons appear only for viewers who may see who they are. Related records
come prefetched by the views (already narrowed by ``visible_to``): no method here queries.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator, URLValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.memo import MemoizedRowMixin
from governance.api.serializers import (
    PersonRefField,
    PersonRefListField,
    RedactingModelSerializer,
    ResearchWriteSerializer,
    VersionedWriteSerializer,
    VisibleIdsField,
    record_visible,
    request_user,
)
from governance.models import Source
from towns.models import (
    Activity,
    Appointment,
    District,
    Indicator,
    IndicatorValue,
    InfluenceGroup,
    Person,
    Post,
    Region,
    Tie,
    Town,
    Typology,
)
from towns.scoring import venture_assessment

RECORD_FIELDS = ["access_level", "state", "is_synthetic", "updated_at", "version"]
NAMES = ["name_en", "name_be", "name_ru"]


class VisibleRefField(serializers.PrimaryKeyRelatedField):
    """The id of a related research record, absent when the viewer may not see that record."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def use_pk_only_optimization(self):
        return False

    def get_attribute(self, instance):
        related = super().get_attribute(instance)
        if related is not None and not record_visible(related, request_user(self.context)):
            raise serializers.SkipField
        return related


# --- Places ------------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "slug", *NAMES, "version"]


class RegionDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "slug", *NAMES, "updated_at", "version"]


class DistrictSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = District
        fields = ["slug", *NAMES, "region", "updated_at", "version"]


class TownSerializer(MemoizedRowMixin, serializers.ModelSerializer):
    """A town as lists and details show it: every field reads the town's own columns or its
    region's and district's (kept per version of those rows: governance.api.memo)."""

    memo_related = ("region", "district")
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    district = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    alternate_names = serializers.ListField(
        source="alternate_name_list", child=serializers.CharField(), read_only=True
    )
    typology = serializers.ChoiceField(
        choices=Typology.choices,
        read_only=True,
        help_text="Stored aggregate computed from published influence claims.",
    )
    own_share = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Share of 'our own' influence (0-1), from published influence claims.",
    )
    aggregates_synthetic = serializers.BooleanField(
        read_only=True,
        help_text=(
            "True when typology and own_share rest on at least one synthetic (demonstration) "
            "claim: show them with a 'synthetic' marker."
        ),
    )

    class Meta:
        model = Town
        fields = [
            "slug",
            *NAMES,
            "alternate_names",
            "region",
            "district",
            "kind",
            "latitude",
            "longitude",
            "population",
            "population_year",
            "population_source",
            "geonames_id",
            "typology",
            "own_share",
            "aggregates_synthetic",
            "is_synthetic",
            "names_verified",
            "kind_verified",
            "updated_at",
            "version",
        ]


class TownDetailSerializer(TownSerializer):
    class Meta(TownSerializer.Meta):
        fields = [*TownSerializer.Meta.fields, "population_source_url", "created_at"]


# --- Evidence ----------------------------------------------------------------------------------


class SourceSerializer(RedactingModelSerializer):
    class Meta:
        model = Source
        fields = [
            "id",
            "kind",
            "citation",
            "date",
            "url",
            "reliability",
            "interview_code",
            "note",
            *RECORD_FIELDS,
        ]


#: A web address the atlas keeps for a source: http(s) or ftp(s), a host name of up to five
#: labels (none over 56 characters, so the name stays within DNS's 253), an optional port and
#: any path. Django's URL check accepts all of these; requiring this form too makes the schema
#: and the server agree exactly (no user, password or bare IP address in a citation link).
SOURCE_URL = (
    r"^(?:[Hh][Tt][Tt][Pp][Ss]?|[Ff][Tt][Pp][Ss]?)://"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,54}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}"
    r"(?::[0-9]{1,5})?(?:[/?#][^\s\x00]*)?$"
)


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 500,
        "pattern": SOURCE_URL,
        "description": "A web address (http, https, ftp), or empty.",
    }
)
class SourceURLField(serializers.CharField):
    """Checked by Django's URL validator and by :data:`SOURCE_URL` (which the schema states)."""

    message = _("Enter a web address such as https://example.org/page.")

    def __init__(self, **kwargs):
        super().__init__(max_length=500, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value:
            # Checked here, not as field validators: the schema states the pattern itself
            # (validators would add drf-spectacular's looser "format: uri" beside it).
            for check in (URLValidator(message=self.message), RegexValidator(SOURCE_URL)):
                try:
                    check(value)
                except DjangoValidationError:
                    raise serializers.ValidationError(self.message, code="invalid") from None
        return value


class SourceWriteSerializer(ResearchWriteSerializer):
    url = SourceURLField(required=False)

    class Meta:
        model = Source
        fields = [
            "id",
            "kind",
            "citation",
            "date",
            "url",
            "reliability",
            "interview_code",
            "note",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]


# --- Who governs -------------------------------------------------------------------------------


class PersonSerializer(RedactingModelSerializer):
    origin_town = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Person
        fields = [
            "id",
            *NAMES,
            "given_name",
            "family_name",
            "patronymic_name",
            "origin",
            "origin_town",
            "names_access_level",
            *RECORD_FIELDS,
        ]


class PersonDetailSerializer(PersonSerializer):
    sources = VisibleIdsField()

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "note", "sources", "created_at"]


class PersonWriteSerializer(ResearchWriteSerializer):
    origin_town = serializers.SlugRelatedField(
        slug_field="slug", queryset=Town.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Person
        fields = [
            "id",
            *NAMES,
            "given_name",
            "family_name",
            "patronymic_name",
            "origin",
            "origin_town",
            "names_access_level",
            "note",
            "sources",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]


class PostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", *NAMES, "kind", "organization", "is_key", "updated_at", "version"]


class PostWriteSerializer(VersionedWriteSerializer):
    class Meta:
        model = Post
        fields = ["id", *NAMES, "kind", "organization", "is_key"]
        read_only_fields = ["id"]


class PostRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "name_en", "kind"]


class AppointmentSerializer(RedactingModelSerializer):
    person = PersonRefField(help_text="Absent when the viewer may not see who holds the post.")
    post = PostRefSerializer(read_only=True)
    town = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "person",
            "post",
            "town",
            "start_date",
            "end_date",
            "recruited_from",
            "confidence",
            *RECORD_FIELDS,
        ]


class AppointmentDetailSerializer(AppointmentSerializer):
    influenced_by_groups = VisibleIdsField()
    influenced_by_persons = PersonRefListField()
    sources = VisibleIdsField()

    class Meta(AppointmentSerializer.Meta):
        fields = [
            *AppointmentSerializer.Meta.fields,
            "influenced_by_groups",
            "influenced_by_persons",
            "sources",
            "note",
            "created_at",
        ]


class AppointmentWriteSerializer(ResearchWriteSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", queryset=Town.objects.all())

    class Meta:
        model = Appointment
        fields = [
            "id",
            "person",
            "post",
            "town",
            "start_date",
            "end_date",
            "recruited_from",
            "influenced_by_groups",
            "influenced_by_persons",
            "note",
            "sources",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]


class GroupInfluenceSerializer(serializers.Serializer):
    """An influence claim of a group on a town (the claims are listed only when visible)."""

    town = serializers.CharField(source="town.slug", read_only=True)
    strength = serializers.IntegerField(read_only=True)
    start_date = serializers.DateField(read_only=True, allow_null=True)
    end_date = serializers.DateField(read_only=True, allow_null=True)
    confidence = serializers.CharField(read_only=True)


class InfluenceGroupSerializer(RedactingModelSerializer):
    class Meta:
        model = InfluenceGroup
        fields = ["id", *NAMES, "origin", "kind", "sector", *RECORD_FIELDS]


class InfluenceGroupDetailSerializer(InfluenceGroupSerializer):
    sources = VisibleIdsField()
    influences = GroupInfluenceSerializer(many=True, read_only=True)

    class Meta(InfluenceGroupSerializer.Meta):
        fields = [
            *InfluenceGroupSerializer.Meta.fields,
            "description",
            "influences",
            "sources",
            "created_at",
        ]


class InfluenceGroupWriteSerializer(ResearchWriteSerializer):
    class Meta:
        model = InfluenceGroup
        fields = [
            "id",
            *NAMES,
            "origin",
            "kind",
            "sector",
            "description",
            "sources",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]


class TieSerializer(RedactingModelSerializer):
    person_a = PersonRefField(help_text="Absent when the viewer may not see who it is.")
    person_b = PersonRefField(help_text="Absent when the viewer may not see who it is.")

    class Meta:
        model = Tie
        fields = [
            "id",
            "person_a",
            "person_b",
            "kind",
            "start_date",
            "end_date",
            "confidence",
            *RECORD_FIELDS,
        ]


class TieDetailSerializer(TieSerializer):
    sources = VisibleIdsField()

    class Meta(TieSerializer.Meta):
        fields = [*TieSerializer.Meta.fields, "note", "sources", "created_at"]


class TieWriteSerializer(ResearchWriteSerializer):
    class Meta:
        model = Tie
        fields = [
            "id",
            "person_a",
            "person_b",
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


# --- What is governed --------------------------------------------------------------------------


class IndicatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Indicator
        fields = [
            "code",
            "system",
            *NAMES,
            "unit",
            "direction",
            "standard",
            "standard_kind",
            "updated_at",
            "version",
        ]


class IndicatorDetailSerializer(IndicatorSerializer):
    definition_source = VisibleRefField(allow_null=True)

    class Meta(IndicatorSerializer.Meta):
        fields = [*IndicatorSerializer.Meta.fields, "description", "definition_source"]


class IndicatorWriteSerializer(ResearchWriteSerializer):
    class Meta:
        model = Indicator
        fields = [
            "code",
            "system",
            *NAMES,
            "unit",
            "direction",
            "standard",
            "standard_kind",
            "description",
            "definition_source",
        ]


class IndicatorValueSerializer(RedactingModelSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    indicator = serializers.SlugRelatedField(slug_field="code", read_only=True)
    source = VisibleRefField(
        allow_null=True, help_text="Absent when the viewer may not see the source."
    )

    class Meta:
        model = IndicatorValue
        fields = [
            "id",
            "town",
            "indicator",
            "year",
            "quarter",
            "value",
            "confidence",
            "source",
            *RECORD_FIELDS,
        ]


class IndicatorValueDetailSerializer(IndicatorValueSerializer):
    class Meta(IndicatorValueSerializer.Meta):
        fields = [*IndicatorValueSerializer.Meta.fields, "note", "created_at"]


class IndicatorValueWriteSerializer(ResearchWriteSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", queryset=Town.objects.all())
    indicator = serializers.SlugRelatedField(slug_field="code", queryset=Indicator.objects.all())

    class Meta:
        model = IndicatorValue
        fields = [
            "id",
            "town",
            "indicator",
            "year",
            "quarter",
            "value",
            "source",
            "note",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]


# --- The gap -----------------------------------------------------------------------------------


class VentureSerializer(serializers.Serializer):
    """How likely the LA is to back an activity (towns.scoring.venture_assessment), and why."""

    likelihood = serializers.ChoiceField(
        choices=["likely", "possible", "unlikely", "unknown"], read_only=True
    )
    score = serializers.FloatField(read_only=True, allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    contradicts_stance = serializers.BooleanField(read_only=True)
    flag = serializers.CharField(read_only=True)


class ActivitySerializer(RedactingModelSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "town",
            "title",
            "field",
            "status",
            "la_stance",
            "benefit",
            "cost",
            "threat",
            "year",
            "confidence",
            *RECORD_FIELDS,
        ]


class ActivityDetailSerializer(ActivitySerializer):
    sources = VisibleIdsField()
    venture = serializers.SerializerMethodField()

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "description", "venture", "sources"]

    def get_venture(self, activity) -> VentureSerializer:
        # Pure scoring on the loaded row: no query.
        assessment = venture_assessment(
            benefit=activity.benefit,
            cost=activity.cost,
            threat=activity.threat,
            stance=activity.la_stance,
        )
        return VentureSerializer(assessment).data


class ActivityWriteSerializer(ResearchWriteSerializer):
    town = serializers.SlugRelatedField(slug_field="slug", queryset=Town.objects.all())

    class Meta:
        model = Activity
        fields = [
            "id",
            "town",
            "title",
            "description",
            "field",
            "status",
            "la_stance",
            "benefit",
            "cost",
            "threat",
            "year",
            "sources",
            "confidence",
            "access_level",
            "is_synthetic",
        ]
        read_only_fields = ["id"]
