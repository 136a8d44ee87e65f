"""The admin site of the atlas: staff need a verified second factor when 2FA is required."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache


class AtlasAdminSite(admin.AdminSite):
    site_header = _("Local Governance Atlas: research workspace")
    site_title = _("Atlas workspace")
    index_title = _("Research data")
    # templates/admin/login.html: username, password and, when 2FA is on, the code.
    login_template = "admin/login.html"

    @property
    def login_form(self):
        from governance.accounts import AdminSignInForm

        # The form reads STAFF_2FA_REQUIRED per request: production (on) and local runs (off)
        # share one class.
        return AdminSignInForm

    def has_permission(self, request) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.STAFF_2FA_REQUIRED:
            return bool(getattr(request.user, "is_verified", lambda: False)())
        return allowed

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """Django's admin login with the atlas' view: a staff account without an
        authenticator goes on to enrol one (governance/accounts.py)."""
        from governance.accounts import SignInView

        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return SignInView.as_view(
            extra_context=context,
            authentication_form=self.login_form,
            template_name=self.login_template,
        )(request)
