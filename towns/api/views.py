from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import AllowAny

from towns import selectors
from towns.api.filters import AnyNameSearchFilter, TownFilter
from towns.api.serializers import RegionSerializer, TownSerializer


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions (voblasts) of Belarus and Minsk city. Public place data."""

    permission_classes = [AllowAny]
    serializer_class = RegionSerializer
    lookup_field = "slug"
    filter_backends = [OrderingFilter]
    ordering_fields = ["code", "name_en"]
    ordering = ["code"]

    def get_queryset(self):
        return selectors.region_list()


class TownViewSet(viewsets.ReadOnlyModelViewSet):
    """Towns with names in three languages. ``search`` matches any spelling of any name."""

    permission_classes = [AllowAny]
    serializer_class = TownSerializer
    lookup_field = "slug"
    filter_backends = [DjangoFilterBackend, AnyNameSearchFilter, OrderingFilter]
    filterset_class = TownFilter
    ordering_fields = ["name_en", "population", "updated_at"]
    ordering = ["name_en"]

    def get_queryset(self):
        return selectors.town_list()
