from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TownsConfig(AppConfig):
    name = "towns"
    verbose_name = _("Towns and local authorities")

    def ready(self):
        from governance.cache import READ_SCOPES

        # What a published indicator value's write retires (governance.cache, "Scoped reads").
        READ_SCOPES.update(
            {
                # The dashboard and its charts' data show the regional ranks and medians: the
                # published values of every town of the region.
                "towns:detail": "region",
                "towns:chart-csv": "region",
                # The series read the town's own values only; the profile, of those, only the
                # values of the criteria's indicators (IndicatorValue.read_cache_facts).
                "town-profile": "facts",
                "town-indicators": "town",
                # The towns, regions and districts, and the map, read no value at all.
                "town-list": "regionless",
                "town-detail": "regionless",
                "town-geojson": "regionless",
                "region-list": "regionless",
                "region-detail": "regionless",
                "district-list": "regionless",
                "district-detail": "regionless",
            }
        )
