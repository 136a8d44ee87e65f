"""API resources of how power is implemented and of the society of a town (under /api/v1/).

``mechanism-kinds`` is the extendable vocabulary (reference data researchers may add to, not
delete). The research records (``mechanisms``, ``society-observations``,
``self-organisation-events``, ``ways-of-life``, ``communication-sites``) are read through
``visible_to(request.user)``, related records narrowed to what the viewer may see, and written
by researchers through :func:`towns.services.research_record_save`, exactly like the other
research resources. Every list has filters and ``?format=csv``. A site's ``latitude`` and
``longitude`` are absent below their own ``coordinates_access_level``.
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.serializers import (
    RedactingModelSerializer,
    ResearchWriteSerializer,
    VisibleIdsField,
)
from governance.api.views import (
    AtlasFilterSet,
    ClaimFilterSet,
    DatedFilterSet,
    ResearchResource,
    YearFilter,
)
from governance.models import Source
from towns.api.filters import town_filters
from towns.api.serializers import RECORD_FIELDS
from towns.models import (
    Activity,
    Availability,
    CommunicationSite,
    EngagementLevel,
    EventKind,
    EventOutcome,
    Indicator,
    InfluenceGroup,
    Instrument,
    ManagementMechanism,
    MechanismKind,
    Openness,
    SelfOrganisationEvent,
    SiteKind,
    SiteOperator,
    SocietyMeasure,
    SocietyObservation,
    Town,
    WayOfLife,
    WayOfLifeCategory,
)
from towns.services import research_record_save

NAMES = ["name_en", "name_be", "name_ru"]


def visible_sources(user) -> Prefetch:
    return Prefetch("sources", queryset=Source.objects.visible_to(user).only("pk"))


#: What every write of a claim ends with.
CLAIM_WRITE = ["sources", "confidence", "access_level", "is_synthetic"]


class TownClaimResource(ResearchResource):
    """A claim about a town: read at the viewer's level with its town, written through the
    research service; the detail carries the ids of the sources the viewer may see."""

    model: type = None
    save_service = staticmethod(research_record_save)
    m2m_fields = ("sources",)
    ordering = ["id"]

    def get_queryset(self):
        user = self.request.user
        qs = self.model.objects.visible_to(user).select_related("town")
        if self.action != "list":
            qs = qs.prefetch_related(visible_sources(user))
        return qs


class TownSlugField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Town.objects.all())
        super().__init__(**kwargs)


# --- Vocabulary --------------------------------------------------------------------------------


class MechanismKindSerializer(serializers.ModelSerializer):
    class Meta:
        model = MechanismKind
        fields = ["code", *NAMES, "description", "updated_at", "version"]


class MechanismKindWriteSerializer(ResearchWriteSerializer):
    class Meta:
        model = MechanismKind
        fields = ["code", *NAMES, "description"]


class MechanismKindFilter(AtlasFilterSet):
    class Meta:
        model = MechanismKind
        fields = ["code"]


class MechanismKindViewSet(ResearchResource):
    """Kinds of management mechanism: plan targets, permits and inspections, ideological work
    through GONGOs, informal instructions, co-opting businesses, appointments, and those the
    research team adds."""

    serializer_class = MechanismKindSerializer
    write_serializer_class = MechanismKindWriteSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    lookup_field = "code"
    filterset_class = MechanismKindFilter
    search_fields = [*NAMES, "code"]
    ordering_fields = ["code", "name_en", "updated_at"]
    ordering = ["name_en", "pk"]

    def get_queryset(self):
        return MechanismKind.objects.all()


# --- Mechanisms --------------------------------------------------------------------------------


class MechanismSerializer(RedactingModelSerializer):
    town = TownSlugField(read_only=True)
    kind = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ManagementMechanism
        fields = [
            "id",
            "town",
            "kind",
            "description",
            "start_date",
            "end_date",
            "confidence",
            *RECORD_FIELDS,
        ]


class MechanismDetailSerializer(MechanismSerializer):
    indicators = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    groups = VisibleIdsField()
    suppresses = VisibleIdsField()
    tolerates = VisibleIdsField()
    sources = VisibleIdsField()

    class Meta(MechanismSerializer.Meta):
        fields = [
            *MechanismSerializer.Meta.fields,
            "indicators",
            "groups",
            "suppresses",
            "tolerates",
            "note",
            "sources",
        ]


class MechanismWriteSerializer(ResearchWriteSerializer):
    town = TownSlugField()
    kind = serializers.SlugRelatedField(slug_field="code", queryset=MechanismKind.objects.all())
    indicators = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Indicator.objects.all(), required=False
    )

    class Meta:
        model = ManagementMechanism
        fields = [
            "id",
            "town",
            "kind",
            "description",
            "start_date",
            "end_date",
            "indicators",
            "groups",
            "suppresses",
            "tolerates",
            "note",
            *CLAIM_WRITE,
        ]
        read_only_fields = ["id"]


class MechanismFilter(DatedFilterSet):
    town, region = town_filters()
    kind = filters.CharFilter(field_name="kind__code", label="Kind code")
    indicator = filters.CharFilter(field_name="indicators__code", label="Indicator code")

    class Meta:
        model = ManagementMechanism
        fields = ["kind"]


class MechanismViewSet(ResearchResource):
    """How a town's authorities implement power: the mechanisms observed, their period, the
    indicators they serve, the groups that use them and the activities in the gap they
    suppress or tolerate."""

    serializer_class = MechanismDetailSerializer
    list_serializer_class = MechanismSerializer
    write_serializer_class = MechanismWriteSerializer
    save_service = staticmethod(research_record_save)
    m2m_fields = ("indicators", "groups", "suppresses", "tolerates", "sources")
    filterset_class = MechanismFilter
    search_fields = ["description"]
    ordering_fields = ["start_date", "updated_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        user = self.request.user
        qs = ManagementMechanism.objects.visible_to(user).select_related("town", "kind")
        if self.action != "list":
            qs = qs.prefetch_related(
                "indicators",
                Prefetch("groups", queryset=InfluenceGroup.objects.visible_to(user).only("pk")),
                Prefetch("suppresses", queryset=Activity.objects.visible_to(user).only("pk")),
                Prefetch("tolerates", queryset=Activity.objects.visible_to(user).only("pk")),
                visible_sources(user),
            )
        return qs.distinct() if self.request.query_params.get("indicator") else qs


# --- Society observations ----------------------------------------------------------------------


class ObservationSerializer(RedactingModelSerializer):
    town = TownSlugField(read_only=True)

    class Meta:
        model = SocietyObservation
        fields = [
            "id",
            "town",
            "year",
            "measure",
            "value",
            "unit",
            "level",
            "instrument",
            "sample_size",
            "confidence",
            *RECORD_FIELDS,
        ]


class ObservationDetailSerializer(ObservationSerializer):
    sources = VisibleIdsField()

    class Meta(ObservationSerializer.Meta):
        fields = [*ObservationSerializer.Meta.fields, "description", "note", "sources"]


class ObservationWriteSerializer(ResearchWriteSerializer):
    town = TownSlugField()

    class Meta:
        model = SocietyObservation
        fields = [
            "id",
            "town",
            "year",
            "measure",
            "value",
            "unit",
            "level",
            "instrument",
            "sample_size",
            "description",
            "note",
            *CLAIM_WRITE,
        ]
        read_only_fields = ["id"]


class ObservationFilter(ClaimFilterSet):
    town, region = town_filters()
    measure = filters.ChoiceFilter(choices=SocietyMeasure.choices)
    instrument = filters.ChoiceFilter(choices=Instrument.choices)
    level = filters.ChoiceFilter(choices=EngagementLevel.choices)
    year = YearFilter()
    year_from = YearFilter(field_name="year", lookup_expr="gte")
    year_to = YearFilter(field_name="year", lookup_expr="lte")

    class Meta:
        model = SocietyObservation
        fields = ["measure", "instrument", "level", "year"]


class ObservationViewSet(TownClaimResource):
    """Observations of engagement and alienation per town and year (participation in local
    initiatives, petitions, public hearings, contested elections, volunteer groups, trust in
    local authorities), with the instrument, the sample and the reading (1 alienated … 5
    engaged)."""

    serializer_class = ObservationDetailSerializer
    list_serializer_class = ObservationSerializer
    write_serializer_class = ObservationWriteSerializer
    model = SocietyObservation
    filterset_class = ObservationFilter
    ordering_fields = ["year", "updated_at", "id"]


# --- Self-organisation -------------------------------------------------------------------------


class EventSerializer(RedactingModelSerializer):
    town = TownSlugField(read_only=True)

    class Meta:
        model = SelfOrganisationEvent
        fields = ["id", "town", "date", "kind", "title", "outcome", "confidence", *RECORD_FIELDS]


class EventDetailSerializer(EventSerializer):
    sources = VisibleIdsField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "description", "sources"]


class EventWriteSerializer(ResearchWriteSerializer):
    town = TownSlugField()

    class Meta:
        model = SelfOrganisationEvent
        fields = [
            "id",
            "town",
            "date",
            "kind",
            "title",
            "description",
            "outcome",
            *CLAIM_WRITE,
        ]
        read_only_fields = ["id"]


class EventFilter(ClaimFilterSet):
    town, region = town_filters()
    kind = filters.ChoiceFilter(choices=EventKind.choices)
    outcome = filters.ChoiceFilter(choices=EventOutcome.choices)
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = SelfOrganisationEvent
        fields = ["kind", "outcome"]


class EventViewSet(TownClaimResource):
    """Signs of self-organisation (initiatives, petitions, protests, community projects) and
    their outcome."""

    serializer_class = EventDetailSerializer
    list_serializer_class = EventSerializer
    write_serializer_class = EventWriteSerializer
    model = SelfOrganisationEvent
    filterset_class = EventFilter
    search_fields = ["title"]
    ordering_fields = ["date", "title", "updated_at", "id"]


# --- Ways of life ------------------------------------------------------------------------------


class WayOfLifeSerializer(RedactingModelSerializer):
    town = TownSlugField(read_only=True)

    class Meta:
        model = WayOfLife
        fields = [
            "id",
            "town",
            "category",
            "name",
            "availability",
            "barriers",
            "year",
            "confidence",
            *RECORD_FIELDS,
        ]


class WayOfLifeDetailSerializer(WayOfLifeSerializer):
    sources = VisibleIdsField()

    class Meta(WayOfLifeSerializer.Meta):
        fields = [*WayOfLifeSerializer.Meta.fields, "sources"]


class WayOfLifeWriteSerializer(ResearchWriteSerializer):
    town = TownSlugField()

    class Meta:
        model = WayOfLife
        fields = [
            "id",
            "town",
            "category",
            "name",
            "availability",
            "barriers",
            "year",
            *CLAIM_WRITE,
        ]
        read_only_fields = ["id"]
        # The partial unique constraint is checked by the model's validation on save.
        validators = []


class WayOfLifeFilter(ClaimFilterSet):
    town, region = town_filters()
    category = filters.ChoiceFilter(choices=WayOfLifeCategory.choices)
    availability = filters.ChoiceFilter(choices=Availability.choices)

    class Meta:
        model = WayOfLife
        fields = ["category", "availability"]


class WayOfLifeViewSet(TownClaimResource):
    """The ways of life a town offers (work sectors, education paths, cultural and leisure
    scenes, faith communities, entrepreneurship), how realisable each is, and the barriers."""

    serializer_class = WayOfLifeDetailSerializer
    list_serializer_class = WayOfLifeSerializer
    write_serializer_class = WayOfLifeWriteSerializer
    model = WayOfLife
    filterset_class = WayOfLifeFilter
    search_fields = ["name"]
    ordering_fields = ["name", "category", "updated_at", "id"]


# --- Communication sites -----------------------------------------------------------------------


class SiteSerializer(RedactingModelSerializer):
    town = TownSlugField(read_only=True)
    latitude = serializers.FloatField(read_only=True, allow_null=True)
    longitude = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = CommunicationSite
        fields = [
            "id",
            "town",
            "name",
            "kind",
            "operator",
            "open_to_independent",
            "dialogue_place",
            "latitude",
            "longitude",
            "year",
            "confidence",
            *RECORD_FIELDS,
        ]


class SiteDetailSerializer(SiteSerializer):
    sources = VisibleIdsField()

    class Meta(SiteSerializer.Meta):
        fields = [*SiteSerializer.Meta.fields, "description", "sources"]


def _coordinate_schema(limit: int, whole: str) -> dict:
    """A coordinate a client sends: a decimal text within ±``limit`` with up to 5 places (the
    stored precision, about a metre), or a whole number within it; null for none."""
    return {
        "anyOf": [
            {
                "type": "string",
                "format": "decimal",
                "pattern": rf"^-?(?:{whole}(?:\.\d{{0,5}})?|{limit}(?:\.0{{0,5}})?|\.\d{{1,5}})$",
            },
            {"type": "integer", "minimum": -limit, "maximum": limit},
        ],
        "nullable": True,
    }


@extend_schema_field(_coordinate_schema(90, r"[0-8]?\d"))
class LatitudeField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=8, decimal_places=5, min_value=-90, max_value=90, allow_null=True, **kwargs
        )


@extend_schema_field(_coordinate_schema(180, r"(?:1[0-7]\d|\d{1,2})"))
class LongitudeField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=8, decimal_places=5, min_value=-180, max_value=180, allow_null=True, **kwargs
        )


class SiteWriteSerializer(ResearchWriteSerializer):
    town = TownSlugField()
    latitude = LatitudeField(required=False)
    longitude = LongitudeField(required=False)

    class Meta:
        model = CommunicationSite
        fields = [
            "id",
            "town",
            "name",
            "kind",
            "operator",
            "open_to_independent",
            "dialogue_place",
            "description",
            "latitude",
            "longitude",
            "coordinates_access_level",
            "year",
            *CLAIM_WRITE,
        ]
        read_only_fields = ["id"]


class SiteFilter(ClaimFilterSet):
    town, region = town_filters()
    kind = filters.ChoiceFilter(choices=SiteKind.choices)
    operator = filters.ChoiceFilter(choices=SiteOperator.choices)
    open_to_independent = filters.ChoiceFilter(choices=Openness.choices)
    dialogue_place = filters.BooleanFilter()

    class Meta:
        model = CommunicationSite
        fields = ["kind", "operator", "open_to_independent", "dialogue_place"]


class SiteViewSet(TownClaimResource):
    """Communication sites: public places where people meet (libraries, clubs, cafés, parks,
    churches, online groups), who runs them and whether independent activity may happen there.
    Coordinates are absent below their own access level."""

    serializer_class = SiteDetailSerializer
    list_serializer_class = SiteSerializer
    write_serializer_class = SiteWriteSerializer
    model = CommunicationSite
    filterset_class = SiteFilter
    search_fields = ["name"]
    ordering_fields = ["name", "updated_at", "id"]


def register(router) -> None:
    """Mount the resources of this module on the app's router."""
    router.register("mechanism-kinds", MechanismKindViewSet, basename="mechanism-kind")
    router.register("mechanisms", MechanismViewSet, basename="mechanism")
    router.register("society-observations", ObservationViewSet, basename="society-observation")
    router.register("self-organisation-events", EventViewSet, basename="self-organisation-event")
    router.register("ways-of-life", WayOfLifeViewSet, basename="way-of-life")
    router.register("communication-sites", SiteViewSet, basename="communication-site")
