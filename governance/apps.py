from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    default = True
    name = "governance"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from django.db import models
        from rest_framework.serializers import ModelSerializer

        from governance.api.serializers import URIField

        # Every URL field of every model serializer goes out as a URI (see URIField).
        ModelSerializer.serializer_field_mapping[models.URLField] = URIField
        from governance.cache import install_write_triggers
        from governance.roles import sync_role_permissions

        # After the last app's migrations, so that every permission exists.
        post_migrate.connect(sync_role_permissions, dispatch_uid="atlas-role-permissions")
        # Every write to research data retires the cached reads (governance/cache.py).
        post_migrate.connect(install_write_triggers, dispatch_uid="atlas-write-triggers")


class AtlasAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "governance.admin_site.AtlasAdminSite"
