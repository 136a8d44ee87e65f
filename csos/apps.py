from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CsosConfig(AppConfig):
    name = "csos"
    verbose_name = _("Civil society organisations")

    def ready(self) -> None:
        from csos.api.profile import advice_section, network_section
        from csos.views import compare_panel_context, town_panel_context
        from governance import panels
        from governance.api import profile_sections

        panels.register("town", "csos/town_panel.html", town_panel_context, order=50)
        # The compare page shows each town's CSO network through its own slot.
        panels.register("compare-town", "csos/compare_panel.html", compare_panel_context, order=50)
        profile_sections.register("network", network_section)
        profile_sections.register("advice", advice_section)
