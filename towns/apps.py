from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TownsConfig(AppConfig):
    name = "towns"
    verbose_name = _("Towns and local authorities")
