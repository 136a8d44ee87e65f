from rest_framework import serializers

from towns.models import Region, Town


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "slug", "name_en", "name_be", "name_ru"]


class TownSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    district = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    alternate_names = serializers.ListField(
        source="alternate_name_list", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = Town
        fields = [
            "slug",
            "name_en",
            "name_be",
            "name_ru",
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
            "is_synthetic",
            "updated_at",
        ]
