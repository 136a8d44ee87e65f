"""Signing in from a real browser (Playwright + Debian chromium), production-like: with
STAFF_2FA_REQUIRED on, a researcher logs in at the admin with password and authenticator code
in one form, a new researcher enrols an authenticator from the QR page, and a donor signs in
and out on the public site and sees a partner-level record in between."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import TOTP

from csos.models import CSO
from governance.access import AccessLevel, PublicationState
from tests.e2e.auth import login_staff, public_account, sign_in_public, staff_account
from tests.e2e.conftest import assert_clean, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def production_2fa(settings):
    """The server thread reads the same settings object: the code is required, as in
    production."""
    settings.STAFF_2FA_REQUIRED = True


def test_researcher_logs_in_with_password_and_code(page, live_url, production_2fa):
    with staff_account("e2e-login-researcher") as (user, password, device):
        page.goto(f"{live_url}/admin/login/")
        form = page.locator("#login-form")
        assert form.locator("#id_otp_token").is_visible()
        assert form.locator("select").count() == 0  # one device: nothing to choose
        screenshot(page, "login-admin-form", full_page=False)

        # A wrong code: the same generic error as any wrong credential, nothing re-filled.
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.fill("#id_otp_token", "000000")
        page.click("#login-form [type=submit]")
        error = page.locator(".errornote").inner_text()
        assert error.startswith("Sign-in failed."), error
        assert page.input_value("#id_password") == ""
        assert page.input_value("#id_otp_token") == ""

        assert_clean(page)

        login_staff(page, live_url, user.username, password, device)
        assert page.locator("#site-name").is_visible()
        page.goto(f"{live_url}/admin/csos/cso/")
        assert page.locator("#result_list").is_visible()
        assert_clean_but_admin_favicon(page)


def assert_clean_but_admin_favicon(page) -> None:
    """``assert_clean`` for Django's admin pages, which link no icon: the browser's own
    /favicon.ico request fails there, and Playwright reports it only as a console line (no
    response event). Any other failed request still shows as an "HTTP" or "requestfailed"."""
    page.problems.errors = [e for e in page.problems.errors if e != "console: " + FAVICON_MISSING]
    assert_clean(page)


FAVICON_MISSING = "Failed to load resource: the server responded with a status of 404 (Not Found)"


def test_new_researcher_enrols_an_authenticator_from_the_qr_page(page, live_url, production_2fa):
    with staff_account("e2e-login-newcomer", device=False) as (user, password, _none):
        page.goto(f"{live_url}/admin/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("#login-form [type=submit]")
        page.wait_for_url(re.compile(r"/accounts/authenticator/$"))
        qr = page.locator("img.qr")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn under the CSP
        assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
        screenshot(page, "login-enrol", full_page=False)

        # What a person types into the app when the camera fails: the key under the QR code.
        secret = page.locator("code.secret").inner_text().replace(" ", "")
        key = base64.b32decode(secret)
        page.fill("#id_otp_token", f"{TOTP(key).token():06d}")
        page.click("main form [type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))
        assert page.locator("#site-name").is_visible()
        assert user.totpdevice_set.filter(confirmed=True).count() == 1
        assert_clean(page)


def partner_cso():
    return CSO.objects.filter(
        state=PublicationState.PUBLISHED, access_level=AccessLevel.PARTNER, deleted_at__isnull=True
    ).first()


def test_the_demo_has_a_partner_level_record_the_public_does_not_see(db):
    """The donor test below needs one. (Being a ``db`` test, this also makes pytest-django set
    up the test database when this file runs alone: the browser tests do not ask for it.)"""
    cso = partner_cso()
    assert cso is not None
    assert not CSO.objects.visible_to(None).filter(pk=cso.pk).exists()


def test_donor_signs_in_on_the_public_site_and_out_again(page, live_url, production_2fa):
    cso = partner_cso()
    with public_account("e2e-login-donor") as (user, password):
        sign_in_public(page, live_url, user.username, password)
        header = page.locator("header.site-header")
        assert header.locator("text=Sign out").is_visible()
        assert header.locator("text=Sign in").count() == 0
        screenshot(page, "login-donor-signed-in", full_page=False)

        page.goto(f"{live_url}/csos/{cso.slug}/")
        assert page.locator("h1").inner_text().strip() != ""
        assert cso.name_en in page.locator("main").inner_text()

        header.locator("text=Sign out").click()
        page.wait_for_load_state()
        assert page.locator("header.site-header >> text=Sign in").is_visible()
        assert_clean(page)
