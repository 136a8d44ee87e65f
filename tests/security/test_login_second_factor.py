"""Signing in as a person would (issue 14, part 5): the admin form with the authenticator code,
one generic error, lockout over both factors, enrolment with a QR code, and the public sign-in
page of donors and partners."""

from __future__ import annotations

import difflib
import re
from base64 import b32encode

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from csos.models import CSO
from governance.access import AccessLevel, PublicationState
from governance.accounts import ENROLMENT_KEY, GENERIC_ERROR
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
PUBLIC_LOGIN = "/accounts/login/"
ENROL = "/accounts/authenticator/"
two_factor = override_settings(STAFF_2FA_REQUIRED=True)


def code(device) -> str:
    """The device's current code, as the authenticator app shows it."""
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def wrong_code(device) -> str:
    right = int(code(device))
    return f"{(right + 1) % 10**device.digits:0{device.digits}d}"


def post(client, url, username, password, token=None, **extra):
    data = {"username": username, "password": password, "next": "/admin/", **extra}
    if token is not None:
        data["otp_token"] = token
    return client.post(url, data)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def form_html(response) -> str:
    """The login form as rendered, without the per-request CSRF token."""
    body = response.content.decode()
    form = re.search(r"<form[^>]*login-form.*?</form>|<main.*?</main>", body, re.S).group(0)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", form)


@pytest.fixture
def device(researcher_persona):
    return TOTPDevice.objects.create(user=researcher_persona.user, name="phone", confirmed=True)


@two_factor
def test_admin_login_form_asks_for_the_code_and_no_device(device):
    body = Client().get(ADMIN_LOGIN).content.decode()
    assert 'name="otp_token"' in body
    assert 'autocomplete="one-time-code"' in body
    assert "otp_device" not in body  # no device choice, never a select


@override_settings(STAFF_2FA_REQUIRED=False)
def test_without_2fa_the_admin_form_is_username_and_password():
    assert 'name="otp_token"' not in Client().get(ADMIN_LOGIN).content.decode()


@two_factor
def test_password_and_current_code_in_one_form_open_the_admin(researcher_persona, device):
    client = Client()
    response = post(client, ADMIN_LOGIN, researcher_persona.user.username, PASSWORD, code(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    draft = CSO.objects.filter(state=PublicationState.DRAFT, deleted_at__isnull=True).first()
    assert client.get(reverse("csos:detail", kwargs={"slug": draft.slug})).status_code == 200


@two_factor
def test_the_code_may_be_typed_with_a_space(researcher_persona, device):
    client = Client()
    token = code(device)
    spaced = f"{token[:3]} {token[3:]}"
    post(client, ADMIN_LOGIN, researcher_persona.user.username, PASSWORD, spaced)
    assert client.get("/admin/").status_code == 200


def throttled(device) -> None:
    """As after a few wrong codes: django-otp refuses to check any code for a while."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=5, throttling_failure_timestamp=timezone.now()
    )


@two_factor
def test_every_failure_shows_the_same_page(researcher_persona, donor_persona, device):
    name = researcher_persona.user.username
    failures = {
        "unknown user": ("nobody-by-this-name", PASSWORD, code),
        "wrong password": (name, "wrong-password-123", code),
        "missing code": (name, PASSWORD, lambda d: ""),
        "wrong code": (name, PASSWORD, wrong_code),
        "right code, device throttled": (name, PASSWORD, lambda d: throttled(d) or code(d)),
        "non-staff at the admin": (donor_persona.user.username, PASSWORD, lambda d: ""),
    }
    pages = {}
    for label, (username, password, token) in failures.items():
        client = Client()
        response = post(client, ADMIN_LOGIN, username, password, token(device))
        assert response.status_code == 200, label
        assert not signed_in(client), label
        body = response.content.decode()
        assert str(GENERIC_ERROR) in body, label
        assert PASSWORD not in body, label  # the password is never written back
        pages[label] = form_html(response).replace(username, "USER")
    reference = pages["wrong code"]
    for label, html in pages.items():
        lines = difflib.unified_diff(reference.splitlines(), html.splitlines(), lineterm="")
        diff = "\n".join(lines)
        assert html == reference, f"{label}:\n{diff}"


@two_factor
def test_a_wrong_code_counts_towards_the_lockout_like_a_wrong_password(researcher_persona, device):
    username = researcher_persona.user.username
    client = Client()
    post(client, ADMIN_LOGIN, username, "wrong-password-123", code(device))
    post(client, ADMIN_LOGIN, username, "wrong-password-456", code(device))
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        device.throttle_reset()
        response = post(client, ADMIN_LOGIN, username, PASSWORD, wrong_code(device))
    assert response.status_code in {403, 429}, response.status_code
    device.throttle_reset()
    response = post(client, ADMIN_LOGIN, username, PASSWORD, code(device))
    assert response.status_code in {403, 429}, response.status_code
    assert not signed_in(client)


@two_factor
def test_wrong_codes_alone_lock_the_account_out(researcher_persona, device):
    username = researcher_persona.user.username
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        device.throttle_reset()
        post(client, ADMIN_LOGIN, username, PASSWORD, wrong_code(device))
    device.throttle_reset()
    response = post(client, ADMIN_LOGIN, username, PASSWORD, code(device))
    assert response.status_code in {403, 429}
    assert not signed_in(client)


@two_factor
def test_with_several_devices_the_code_of_any_one_signs_in(researcher_persona, device):
    tablet = TOTPDevice.objects.create(user=researcher_persona.user, name="tablet", confirmed=True)
    client = Client()
    post(client, ADMIN_LOGIN, researcher_persona.user.username, PASSWORD, code(tablet))
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 0  # the phone that did not match is not throttled


# --- Enrolment -------------------------------------------------------------------------------


@two_factor
def test_staff_without_a_device_enrol_with_a_qr_code_and_are_signed_in(researcher_persona):
    user = researcher_persona.user
    client = Client()
    response = post(client, ADMIN_LOGIN, user.username, PASSWORD, "")
    assert response.status_code == 302 and response["Location"] == ENROL
    assert not signed_in(client)
    page = client.get(ENROL)
    body = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', body)
    pending = TOTPDevice.objects.get(user=user)
    assert page.context["secret"].replace(" ", "") == b32encode(pending.bin_key).decode()
    assert not pending.confirmed
    assert client.get(ENROL).context["secret"] == page.context["secret"]  # same key on reload

    wrong = client.post(ENROL, {"otp_token": wrong_code(pending)})
    assert wrong.status_code == 200 and not signed_in(client)
    pending.throttle_reset()
    right = client.post(ENROL, {"otp_token": code(pending)})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    pending.refresh_from_db()
    assert pending.confirmed
    assert client.get("/admin/").status_code == 200
    assert ENROLMENT_KEY not in client.session


@two_factor
def test_a_password_alone_cannot_enrol_a_device_on_an_account_that_has_one(
    researcher_persona, device
):
    client = Client()
    response = post(client, ADMIN_LOGIN, researcher_persona.user.username, PASSWORD, "")
    assert response.status_code == 200
    assert ENROLMENT_KEY not in client.session
    assert client.get(ENROL)["Location"].startswith(ADMIN_LOGIN)
    assert list(TOTPDevice.objects.filter(user=researcher_persona.user)) == [device]


@two_factor
def test_an_enrolment_ends_when_a_device_was_confirmed_meanwhile(researcher_persona):
    user = researcher_persona.user
    client = Client()
    post(client, ADMIN_LOGIN, user.username, PASSWORD, "")
    pending = client.get(ENROL).context  # creates the unconfirmed device
    assert pending is not None
    TOTPDevice.objects.create(user=user, name="other tab", confirmed=True)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(ENROL, {"otp_token": code(device)})
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
    assert not signed_in(client)
    device.refresh_from_db()
    assert not device.confirmed


def test_without_a_pending_enrolment_the_page_sends_to_the_login(researcher_persona):
    assert Client().get(ENROL)["Location"].startswith(ADMIN_LOGIN)
    assert researcher_persona.client.get(ENROL)["Location"].startswith(ADMIN_LOGIN)


# --- The public sign-in page ------------------------------------------------------------------


def partner_cso():
    return CSO.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER, deleted_at__isnull=True
    ).first()


@pytest.mark.parametrize("two_fa", [False, True])
def test_donor_signs_in_sees_partner_records_and_signs_out(donor_persona, two_fa):
    cso = partner_cso()
    url = reverse("csos:detail", kwargs={"slug": cso.slug})
    client = Client()
    with override_settings(STAFF_2FA_REQUIRED=two_fa):
        home = client.get("/").content.decode()
        assert f'href="{PUBLIC_LOGIN}?next=/"' in home
        assert client.get(url).status_code == 404
        response = client.post(
            PUBLIC_LOGIN,
            {"username": donor_persona.user.username, "password": PASSWORD, "next": url},
        )
        assert response.status_code == 302 and response["Location"] == url
        page = client.get(url)
        assert page.status_code == 200 and escape(cso.name_en) in page.content.decode()
        assert 'action="/accounts/logout/"' in page.content.decode()
        response = client.post("/accounts/logout/")
        assert response.status_code == 302 and response["Location"] == "/"
        assert not signed_in(client)
        assert client.get(url).status_code == 404


def test_public_sign_in_gives_the_generic_error(donor_persona):
    response = Client().post(
        PUBLIC_LOGIN, {"username": donor_persona.user.username, "password": "wrong-password-1"}
    )
    assert response.status_code == 200
    assert str(GENERIC_ERROR) in response.content.decode()


@pytest.mark.parametrize("prefix", ["/be", "/ru"])
def test_sign_in_and_out_pages_exist_in_every_language(prefix, donor_persona):
    assert Client().get(f"{prefix}{PUBLIC_LOGIN}").status_code == 200
    page = donor_persona.client.get(f"{prefix}/accounts/logout/")
    assert page.status_code == 200
    assert f'action="{prefix}/accounts/logout/"' in page.content.decode()


@two_factor
def test_staff_on_the_public_page_need_their_code_too(researcher_persona, device):
    username = researcher_persona.user.username
    client = Client()
    response = client.post(PUBLIC_LOGIN, {"username": username, "password": PASSWORD})
    assert response.status_code == 200 and not signed_in(client)
    assert str(GENERIC_ERROR) in response.content.decode()
    device.throttle_reset()
    response = client.post(
        PUBLIC_LOGIN, {"username": username, "password": PASSWORD, "otp_token": code(device)}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200  # verified: the same session opens the admin


@two_factor
def test_staff_without_a_device_are_led_from_the_public_page_to_enrolment(researcher_persona):
    client = Client()
    response = client.post(
        PUBLIC_LOGIN, {"username": researcher_persona.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == ENROL
    assert not signed_in(client)
