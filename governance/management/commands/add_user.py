"""Create or update a user with one role of the atlas, idempotently.

``python manage.py add_user USERNAME --role researcher [--email E] [--totp] [--reset-password]``

* The user ends up in exactly one role group (admin, researcher, reviewer, donor, partner);
  admin, researcher and reviewer are staff (they use the admin), admin is also a superuser.
* A new user gets a strong generated password, printed once; an existing user keeps theirs
  unless ``--reset-password`` (generate a new one) or ``--prompt-password`` (type one, checked
  by the password validators) is given.
* ``--totp`` gives the user a confirmed TOTP device (django-otp) and prints its ``otpauth://``
  provisioning URI and a QR code for an authenticator app, once. Run again, it keeps the
  existing device (its secret is not shown again) unless ``--reset-totp`` replaces it.
"""

from __future__ import annotations

import getpass
import io
import secrets

import qrcode
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance.roles import role_names, staff_roles
from governance.services import audit_context

TOTP_DEVICE_NAME = "atlas"


def generated_password() -> str:
    """32 URL-safe characters from the system's secure generator (about 190 bits)."""
    return secrets.token_urlsafe(24)


class Command(BaseCommand):
    help = "Create or update a user with a role (and optionally a TOTP device). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=role_names())
        parser.add_argument("--email", default=None)
        parser.add_argument(
            "--totp", action="store_true", help="Give the user a confirmed TOTP device."
        )
        parser.add_argument(
            "--reset-totp", action="store_true", help="Replace an existing TOTP device."
        )
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="Generate a new password for an existing user.",
        )
        parser.add_argument(
            "--prompt-password",
            action="store_true",
            help="Type the password instead of generating one.",
        )

    def handle(self, *args, username: str, role: str, email: str | None, **options):
        user_model = get_user_model()
        try:
            user_model.username_validator(username)
            if email:
                validate_email(email)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist:
            raise CommandError(
                f"The role group {role!r} does not exist: run `manage.py migrate` first."
            ) from None

        with transaction.atomic(), audit_context(via="command:add_user"):
            user, created = user_model.objects.get_or_create(username=username)
            if email is not None:
                user.email = email
            user.is_staff = role in staff_roles()
            user.is_superuser = role == "admin"
            user.is_active = True
            password = None
            if created or options["reset_password"] or options["prompt_password"]:
                password = self.new_password(user, prompt=options["prompt_password"])
                user.set_password(password)
            user.save()
            others = Group.objects.filter(name__in=role_names()).exclude(pk=group.pk)
            user.groups.remove(*others)
            user.groups.add(group)
            device, device_created = self.totp_device(user, **options)

        self.stdout.write(
            f"{'Created' if created else 'Updated'} user {username!r} with the role {role!r}"
            f" (staff: {'yes' if user.is_staff else 'no'},"
            f" superuser: {'yes' if user.is_superuser else 'no'})."
        )
        if password and not options["prompt_password"]:
            self.stdout.write(f"Password (shown once, store it in a password manager): {password}")
        elif not password:
            self.stdout.write("Password unchanged (--reset-password generates a new one).")
        if device is not None and device_created:
            url = device.config_url
            self.stdout.write("TOTP device created. Add it to an authenticator app (shown once):")
            self.stdout.write(url)
            code = qrcode.QRCode(border=1)
            code.add_data(url)
            out = io.StringIO()
            code.print_ascii(out=out)
            self.stdout.write(out.getvalue())
        elif device is not None:
            self.stdout.write("TOTP device already present and kept (--reset-totp replaces it).")

    def new_password(self, user, *, prompt: bool) -> str:
        if not prompt:
            return generated_password()
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ; nothing was changed.")
        try:
            validate_password(first, user=user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        return first

    def totp_device(self, user, *, totp: bool, reset_totp: bool, **_options):
        """The user's TOTP device when asked for, and whether it was created now."""
        if not (totp or reset_totp):
            return None, False
        existing = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if existing is not None and not reset_totp:
            return existing, False
        TOTPDevice.objects.filter(user=user).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True), True
