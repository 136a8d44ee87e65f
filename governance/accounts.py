"""Signing in: staff with their TOTP second factor in the same form, donors and partners on
the public site, and enrolment of a staff authenticator in the browser.

Built on django-otp's own form logic (:class:`django_otp.forms.OTPAuthenticationFormMixin`,
its TOTP devices and throttling) and Django's ``LoginView``; this module only decides:

* **one error for everything.** A wrong or unknown username, a wrong password, a missing,
  wrong or throttled code, a non-staff account at the admin: the same message, and the form
  never shows anything that depends on the password being right (no device list, no password
  re-filled). The one exception is unavoidable: a staff account that has no authenticator yet
  goes on, after its password, to enrol one (:func:`enrol`).
* **no device choice to make.** The code is checked against the account's only device, or,
  when it has several, against each of them (a list of devices shown after the password would
  confirm the password). A device named in ``otp_device`` (django-otp's field) is honoured.
* **lockout counts both factors.** A failed code is reported to django-axes as a failed login
  (``user_login_failed``), so the failure limit counts wrong passwords and wrong codes alike.
* **who needs a second factor.** When ``STAFF_2FA_REQUIRED`` is on, every staff or research
  account, at the admin and on the public sign-in page alike (no way round the admin's factor).
  Donors and partners sign in with their password.

Enrolment cannot be used to add a device to an account that has one: it is offered only to an
account without a confirmed device, checked again when the code is confirmed, and only for the
session that has just given that account's password (for ten minutes).
"""

from __future__ import annotations

import base64
import io
import re
import time

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance.access import RESEARCH_GROUPS

GENERIC_ERROR = _(
    "Sign-in failed. Check the username, the password and, for staff, the code of your "
    "authenticator app. All of them are case-sensitive."
)
#: How long a password check entitles its session to enrol an authenticator (seconds).
ENROLMENT_SECONDS = 600
ENROLMENT_KEY = "atlas_enrolment"
DEVICE_NAME = "authenticator"


def needs_second_factor(user) -> bool:
    """Whether ``user`` must give a TOTP code to sign in (staff and research roles, when
    ``STAFF_2FA_REQUIRED`` is on)."""
    if not settings.STAFF_2FA_REQUIRED or user is None:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name__in=RESEARCH_GROUPS).exists()


class OneTimeCodeInput(forms.TextInput):
    """A one-time code: numeric keyboard, filled by password managers, never written back
    into a re-shown form (a used or wrong code is of no use to anyone)."""

    def __init__(self, attrs=None):
        base = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": r"[0-9 ]*"}
        super().__init__({**base, **(attrs or {})})

    def format_value(self, value):
        return None


class SecondFactorMixin(OTPAuthenticationFormMixin, forms.Form):
    """Username, password and (when 2FA is required) a one-time code, one generic error.

    After a successful ``clean()``, ``must_enrol`` tells the view that the account needs an
    authenticator first; otherwise ``get_user().otp_device`` is the verified device (or absent
    when no second factor is needed), which django-otp stores in the session at login.
    """

    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_token = forms.CharField(
        label=_("Authenticator code"), required=False, max_length=16, widget=OneTimeCodeInput
    )
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    # Every message of django-otp's mixin becomes the generic one.
    otp_error_messages = dict.fromkeys(OTPAuthenticationFormMixin.otp_error_messages, GENERIC_ERROR)
    must_enrol = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages = {**self.error_messages, "invalid_login": GENERIC_ERROR}
        self.error_messages["inactive"] = GENERIC_ERROR
        if not settings.STAFF_2FA_REQUIRED:
            for name in ("otp_device", "otp_token", "otp_challenge"):
                del self.fields[name]

    def clean_otp_token(self) -> str:
        # Authenticator apps show "123 456"; people type it so.
        return re.sub(r"[\s-]", "", self.cleaned_data.get("otp_token") or "")

    def clean(self):
        try:
            super().clean()
        except ValidationError:
            raise self.generic_error() from None
        user = self.get_user()
        if not needs_second_factor(user):
            return self.cleaned_data
        if not list(devices_for_user(user)):
            self.must_enrol = True
            return self.cleaned_data
        try:
            self.clean_otp(user)
        except ValidationError:
            # A wrong code counts for django-axes exactly as a wrong password does.
            user_login_failed.send(
                sender=type(self),
                credentials={"username": self.cleaned_data.get("username")},
                request=self.request,
            )
            self.user_cache = None
            raise self.generic_error() from None
        return self.cleaned_data

    def generic_error(self) -> ValidationError:
        return ValidationError(GENERIC_ERROR, code="invalid_login")

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is not None:
            return device
        devices = list(devices_for_user(user))
        return devices[0] if len(devices) == 1 else None

    def _verify_token(self, user, token, device=None):
        if device is not None:
            return super()._verify_token(user, token, device)
        # Several devices and none named: the one the code belongs to. A device that did not
        # match keeps its throttling state when another one did (the person is verified).
        devices = [d for d in devices_for_user(user) if d.verify_is_allowed()[0]]
        throttled = [d for d in devices if hasattr(d, "throttling_failure_count")]
        before = [(d.throttling_failure_count, d.throttling_failure_timestamp) for d in throttled]
        for candidate in devices:
            if candidate.verify_token(token):
                for other, (count, stamp) in zip(throttled, before, strict=True):
                    if other is not candidate:
                        type(other).objects.filter(pk=other.pk).update(
                            throttling_failure_count=count, throttling_failure_timestamp=stamp
                        )
                return candidate
        raise ValidationError(GENERIC_ERROR, code="invalid_token")

    def _update_form(self, user):
        # django-otp would list the user's devices and re-fill the password: both would tell
        # an attacker that the password was right.
        return


class AdminSignInForm(SecondFactorMixin, AdminAuthenticationForm):
    """The admin's login form (staff only)."""


class PublicSignInForm(SecondFactorMixin, AuthenticationForm):
    """The public site's sign-in form (donors, partners; staff with their code)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "otp_token" in self.fields:
            self.fields["otp_token"].help_text = _("Staff only. Leave empty if you have none.")


class SignInView(LoginView):
    """Django's LoginView; a staff account without an authenticator goes on to enrol one."""

    def form_valid(self, form):
        if form.must_enrol:
            start_enrolment(self.request, form.get_user(), self.get_success_url())
            return redirect("accounts:enrol")
        return super().form_valid(form)


class PublicSignInView(SignInView):
    template_name = "accounts/login.html"
    authentication_form = PublicSignInForm


class SignOutView(LogoutView):
    """Sign out by POST (the header's button); a GET shows a confirmation with that button."""

    http_method_names = ["get", "post", "options"]
    template_name = "accounts/logout.html"

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, {"next": self.get_redirect_url()})


# --- Enrolment ---------------------------------------------------------------------------------


def start_enrolment(request, user, next_url: str) -> None:
    """Entitle this session, for a few minutes, to enrol an authenticator for ``user``, whose
    password it has just given. Nobody is signed in yet."""
    request.session.cycle_key()
    request.session[ENROLMENT_KEY] = {
        "user": user.pk,
        "hash": user.get_session_auth_hash(),
        "started": time.time(),
        "next": next_url,
        "device": None,
    }


def _pending(request):
    """The user of this session's enrolment and its state, or (None, None)."""
    state = request.session.get(ENROLMENT_KEY)
    if not state or time.time() - state["started"] > ENROLMENT_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=state["user"], is_active=True).first()
    if user is None or user.get_session_auth_hash() != state["hash"]:
        return None, None
    if not needs_second_factor(user) or list(devices_for_user(user)):
        return None, None
    return user, state


def _new_device(request, user, state) -> TOTPDevice:
    """This enrolment's unconfirmed device (a fresh secret for each password check)."""
    device = TOTPDevice.objects.filter(pk=state["device"], user=user, confirmed=False).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        state["device"] = device.pk
        request.session[ENROLMENT_KEY] = state
    return device


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI (no request leaves the page)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class EnrolmentForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code shown by the app"),
        max_length=16,
        widget=OneTimeCodeInput(attrs={"autofocus": True}),
    )

    def clean_otp_token(self) -> str:
        return re.sub(r"[\s-]", "", self.cleaned_data["otp_token"])


@never_cache
@csrf_protect
def enrol(request):
    """Show a new authenticator's QR code; confirm it with a code, then sign the person in."""
    user, state = _pending(request)
    if user is None:
        request.session.pop(ENROLMENT_KEY, None)
        return redirect("admin:login")
    device = _new_device(request, user, state)
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Once more under a lock: two tabs cannot both confirm a device.
            get_user_model().objects.select_for_update().get(pk=user.pk)
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            if list(devices_for_user(user)):
                request.session.pop(ENROLMENT_KEY, None)
                return redirect("admin:login")
            if locked.verify_token(form.cleaned_data["otp_token"]):
                locked.confirmed = True
                locked.save(update_fields=["confirmed"])
                request.session.pop(ENROLMENT_KEY, None)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                otp_login(request, locked)
                target = state["next"]
                if not url_has_allowed_host_and_scheme(
                    target, {request.get_host()}, require_https=request.is_secure()
                ):
                    target = reverse("admin:index")
                return redirect(target)
        form.add_error(
            "otp_token",
            _(
                "That code is not right. Check that the phone's clock is correct and enter the "
                "code the app shows now."
            ),
        )
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "username": user.get_username(),
            "qr": qr_data_uri(device.config_url),
            "secret": _grouped(secret),
        },
    )


app_name = "accounts"
urlpatterns = [
    path("login/", PublicSignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("authenticator/", enrol, name="enrol"),
]
