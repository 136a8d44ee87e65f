from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TownsConfig(AppConfig):
    name = "towns"
    verbose_name = _("Towns and local authorities")

    def ready(self):
        from governance.cache import TOWN_SCOPED_VIEWS

        # Reads about one town: its dashboard and chart data, its API record, profile and
        # series. They read the published values of their region's towns only (their own, and
        # the regional ranks and medians), so a value written in another region keeps their
        # cached entries (governance.cache, "Scoped reads").
        TOWN_SCOPED_VIEWS.update(
            {"towns:detail", "towns:chart-csv", "town-detail", "town-profile", "town-indicators"}
        )
