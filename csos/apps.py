from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CsosConfig(AppConfig):
    name = "csos"
    verbose_name = _("Civil society organisations")

    def ready(self) -> None:
        from csos.views import town_panel_context
        from governance import panels

        panels.register("town", "csos/town_panel.html", town_panel_context, order=50)
