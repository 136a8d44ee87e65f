"""Login hardening (quality 11, 12, 14): lockout, one error for every failure, CSRF, TOTP."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from csos.models import CSO
from governance.access import PublicationState, Viewer, viewer_level
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def admin_login(client, username, password, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/", **extra}
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def error_text(response) -> str:
    """The form's error list as the user reads it (tags stripped)."""
    body = response.content.decode()
    match = re.search(
        r'<p class="errornote">(.*?)</p>|<ul class="errorlist[^"]*">(.*?)</ul>', body, re.S
    )
    assert match, "no error shown"
    return re.sub(r"<[^>]+>", "", match.group(0)).strip()


def test_lockout_after_the_failure_limit_even_with_the_right_password(researcher_persona):
    username = researcher_persona.user.username
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = admin_login(client, username, "wrong-password-123")
        assert not signed_in(client)
    response = admin_login(client, username, PASSWORD)
    assert response.status_code in {403, 429}, response.status_code
    assert not signed_in(client)
    call_command("axes_reset", verbosity=0)
    response = admin_login(client, username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_unknown_user_and_wrong_password_get_the_same_error(researcher_persona):
    wrong_password = admin_login(Client(), researcher_persona.user.username, "wrong-password-1")
    unknown_user = admin_login(Client(), "nobody-by-this-name", "wrong-password-1")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert error_text(wrong_password) == error_text(unknown_user)


def test_admin_login_without_csrf_token_is_refused(researcher_persona):
    client = Client(enforce_csrf_checks=True)
    response = admin_login(client, researcher_persona.user.username, PASSWORD)
    assert response.status_code == 403
    assert not signed_in(client)


def test_session_post_without_csrf_token_is_refused_for_a_signed_in_user(donor_persona):
    client = donor_persona.csrf_client()
    response = client.post(reverse("set_language"), {"language": "be"})
    assert response.status_code == 403


def test_api_session_write_without_csrf_token_is_refused(researcher_persona):
    client = researcher_persona.csrf_client()
    response = client.post("/api/v1/sources/", {}, content_type="application/json")
    assert response.status_code == 403


@override_settings(STAFF_2FA_REQUIRED=True)
def test_staff_without_second_factor_gets_no_admin_and_only_public_data(researcher_persona):
    client = researcher_persona.client
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    request = RequestFactory().get("/admin/")
    request.user = researcher_persona.user
    request.user.is_verified = lambda: False
    assert admin.site.has_permission(request) is False
    assert viewer_level(request.user) == Viewer.PUBLIC
    draft = CSO.objects.filter(state=PublicationState.DRAFT).first()
    assert client.get(reverse("csos:detail", kwargs={"slug": draft.slug})).status_code == 404
    listed = client.get(reverse("csos:list")).context["page"].paginator.count
    assert listed == CSO.objects.visible_to(None).count()


@override_settings(STAFF_2FA_REQUIRED=True)
def test_staff_password_alone_does_not_open_the_admin(researcher_persona):
    client = Client()
    response = admin_login(client, researcher_persona.user.username, PASSWORD)
    assert not (response.status_code == 302 and response["Location"] == "/admin/")
    assert client.get("/admin/").status_code == 302


@override_settings(STAFF_2FA_REQUIRED=True)
def test_staff_with_totp_device_and_right_token_signs_in(researcher_persona):
    user = researcher_persona.user
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    wrong = admin_login(
        client, user.username, PASSWORD, otp_device=device.persistent_id, otp_token="000000"
    )
    assert wrong.status_code == 200 and not signed_in(client)
    # django-otp throttles a device after a failure; a person would wait a second.
    device.refresh_from_db()
    device.throttle_reset()
    token = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    response = admin_login(
        client,
        user.username,
        PASSWORD,
        otp_device=device.persistent_id,
        otp_token=f"{token:0{device.digits}d}",
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get("/admin/").status_code == 200
    # A verified staff session sees research data again.
    draft = CSO.objects.filter(state=PublicationState.DRAFT).first()
    assert client.get(reverse("csos:detail", kwargs={"slug": draft.slug})).status_code == 200
