from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TownsConfig(AppConfig):
    name = "towns"
    verbose_name = _("Towns and local authorities")

    def ready(self):
        from governance.cache import REGIONLESS_VIEWS, TOWN_SCOPED_VIEWS

        # What a published indicator value's write retires (governance.cache, "Scoped reads").
        # Reads about one town (its dashboard and chart data, its profile and series) read the
        # published values of their region's towns only (their own, and the regional ranks and
        # medians): a value written in another region keeps their entries.
        TOWN_SCOPED_VIEWS.update(
            {"towns:detail", "towns:chart-csv", "town-profile", "town-indicators"}
        )
        # The towns, regions and districts, and the map, read no value at all.
        REGIONLESS_VIEWS.update(
            {
                "town-list",
                "town-detail",
                "town-geojson",
                "region-list",
                "region-detail",
                "district-list",
                "district-detail",
            }
        )
