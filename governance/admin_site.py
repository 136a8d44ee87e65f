"""The admin site of the atlas: staff need a verified second factor when 2FA is required."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm


class AtlasAdminSite(admin.AdminSite):
    site_header = _("Local Governance Atlas: research workspace")
    site_title = _("Atlas workspace")
    index_title = _("Research data")

    @property
    def login_form(self):
        # Read per request so that production (2FA on) and local runs (off) share one class.
        if settings.STAFF_2FA_REQUIRED:
            return OTPAdminAuthenticationForm
        return AdminAuthenticationForm

    def has_permission(self, request) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.STAFF_2FA_REQUIRED:
            return bool(getattr(request.user, "is_verified", lambda: False)())
        return allowed
