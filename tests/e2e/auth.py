"""Signing people in from a browser test, through the real forms (no force_login, no cookies
made by hand), with the second factor as production asks for it.

Usage in a browser test (see tests/e2e/test_login_browser.py)::

    from tests.e2e.auth import login_staff, staff_account

    def test_something(page, live_url, settings):
        settings.STAFF_2FA_REQUIRED = True          # production-like: the code is required
        with staff_account("e2e-researcher", role="researcher") as (user, password, device):
            login_staff(page, live_url, user.username, password, device)
            page.goto(f"{live_url}/admin/")           # a verified staff session

The browser tests share the session's database without rollback, so accounts are made by
:func:`staff_account` / :func:`public_account`, which delete them (and their lockout records)
afterwards.
"""

from __future__ import annotations

import contextlib
import secrets
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def current_code(device: TOTPDevice) -> str:
    """The code the authenticator app shows now for ``device``, waiting when needed until
    django-otp would accept one: a code is accepted once (a second sign-in in the same 30 s
    step needs the next step's code) and not while the device is throttled after a failure."""
    device.refresh_from_db()
    if device.throttling_failure_count:
        factor = getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)
        delay = factor * 2 ** (device.throttling_failure_count - 1)
        elapsed = time.time() - device.throttling_failure_timestamp.timestamp()
        if delay > elapsed:
            time.sleep(delay - elapsed + 0.2)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.2)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login_staff(
    page,
    live_server_url: str,
    username: str,
    password: str,
    totp_device,
    *,
    next_path: str = "/admin/",
) -> None:
    """Sign a staff member in at ``/admin/login/`` as a person would: username, password and
    the current code of ``totp_device`` (a confirmed ``TOTPDevice``) in the one form, then the
    "Log in" button. Leaves ``page`` on ``next_path``; fails with the form's error otherwise.
    Works with STAFF_2FA_REQUIRED on or off (off: the form has no code field)."""
    page.goto(f"{live_server_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if page.locator("#id_otp_token").count():
        page.fill("#id_otp_token", current_code(totp_device))
    page.click("#login-form [type=submit]")
    page.wait_for_load_state()
    error = page.locator(".errornote")
    if error.count():
        raise AssertionError(f"admin login of {username} failed: {error.first.inner_text()}")
    assert page.url.endswith(next_path), page.url


def sign_in_public(page, live_server_url: str, username: str, password: str) -> None:
    """Sign a donor or partner in on the public site: the header's "Sign in" link, the form,
    back to the page where the link was followed."""
    page.goto(f"{live_server_url}/")
    page.click("header >> text=Sign in")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form [type=submit]")
    page.wait_for_load_state()
    error = page.locator("main .error")
    if error.count():
        raise AssertionError(f"sign-in of {username} failed: {error.first.inner_text()}")


def _account(username: str, role: str, *, staff: bool):
    from django.db import connection

    # Never in a real database: a session of browser tests alone does not make pytest-django
    # set up the test database unless one of its tests asks for ``db``.
    assert connection.settings_dict["NAME"].startswith("test"), connection.settings_dict["NAME"]
    user_model = get_user_model()
    password = secrets.token_urlsafe(18)
    user, _ = user_model.objects.get_or_create(username=username)
    user.is_staff = staff
    user.is_active = True
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    TOTPDevice.objects.filter(user=user).delete()
    return user, password


def _forget(username: str) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    get_user_model().objects.filter(username=username).delete()
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=username).delete()


@contextlib.contextmanager
def staff_account(username: str, *, role: str = "researcher", device: bool = True):
    """A staff user of ``role`` with a fresh password and, unless ``device=False``, a confirmed
    TOTP device: yields ``(user, password, device_or_None)``; deleted afterwards."""
    try:
        user, password = _account(username, role, staff=True)
        totp = (
            TOTPDevice.objects.create(user=user, name="phone", confirmed=True) if device else None
        )
        yield user, password, totp
    finally:
        _forget(username)


@contextlib.contextmanager
def public_account(username: str, *, role: str = "donor"):
    """A donor or partner user: yields ``(user, password)``; deleted afterwards."""
    try:
        yield _account(username, role, staff=False)
    finally:
        _forget(username)
