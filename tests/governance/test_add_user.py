"""``manage.py add_user``: one role per user, staff flags by role, a strong password shown once,
a confirmed TOTP device on request, and running it again changes only what it is told to."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def add_user(*args) -> str:
    out = io.StringIO()
    call_command("add_user", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Password (shown once"))
    return line.rsplit(": ", 1)[1]


@pytest.mark.parametrize(
    ("role", "staff", "superuser"),
    [
        ("admin", True, True),
        ("researcher", True, False),
        ("reviewer", True, False),
        ("donor", False, False),
        ("partner", False, False),
    ],
)
def test_creates_a_user_in_the_role_group_with_its_flags(role, staff, superuser):
    output = add_user("new-person", "--role", role, "--email", "p@example.org")
    user = get_user_model().objects.get(username="new-person")
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert (user.is_staff, user.is_superuser, user.email) == (staff, superuser, "p@example.org")
    password = printed_password(output)
    assert len(password) >= 32
    assert user.check_password(password)
    assert "Created user 'new-person'" in output


def test_running_again_changes_the_role_and_keeps_the_password():
    first = add_user("repeat", "--role", "researcher")
    password = printed_password(first)
    second = add_user("repeat", "--role", "reviewer")
    user = get_user_model().objects.get(username="repeat")
    assert list(user.groups.values_list("name", flat=True)) == ["reviewer"]
    assert user.check_password(password)
    assert "Password unchanged" in second
    assert "Password (shown once" not in second
    assert get_user_model().objects.filter(username="repeat").count() == 1


def test_reset_password_generates_a_new_one():
    old = printed_password(add_user("resetme", "--role", "donor"))
    new = printed_password(add_user("resetme", "--role", "donor", "--reset-password"))
    user = get_user_model().objects.get(username="resetme")
    assert new != old
    assert user.check_password(new) and not user.check_password(old)


def test_prompted_password_goes_through_the_validators(monkeypatch):
    answers = iter(["short", "short"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="too short"):
        add_user("prompted", "--role", "researcher", "--prompt-password")
    assert not get_user_model().objects.filter(username="prompted").exists()

    good = "correct horse battery staple 42"
    answers = iter([good, good])
    output = add_user("prompted", "--role", "researcher", "--prompt-password")
    assert good not in output
    assert get_user_model().objects.get(username="prompted").check_password(good)


def test_totp_creates_a_confirmed_device_and_prints_its_uri_once():
    output = add_user("staff-2fa", "--role", "reviewer", "--totp")
    user = get_user_model().objects.get(username="staff-2fa")
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.config_url in output
    assert device.config_url.startswith("otpauth://totp/")
    # The device verifies a code computed from its secret, as an authenticator app would.
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    assert device.verify_token(f"{token:0{device.digits}d}")

    again = add_user("staff-2fa", "--role", "reviewer", "--totp")
    assert "already present and kept" in again
    assert "otpauth://" not in again
    assert TOTPDevice.objects.filter(user=user).count() == 1

    replaced = add_user("staff-2fa", "--role", "reviewer", "--reset-totp")
    new_device = TOTPDevice.objects.get(user=user)
    assert new_device.pk != device.pk and new_device.config_url in replaced


def test_unknown_role_and_bad_email_are_refused():
    with pytest.raises(CommandError, match="invalid choice"):
        add_user("x", "--role", "boss")
    with pytest.raises(CommandError, match="valid email"):
        add_user("x", "--role", "donor", "--email", "not-an-email")
    assert not get_user_model().objects.filter(username="x").exists()
