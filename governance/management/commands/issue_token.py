"""Issue an API token for a user, with a name, scopes and an expiry; print the key once.

    python manage.py issue_token alice --name "Data desk" --scope read:partner \
        --scope write:indicators --expires-days 90

The key cannot be shown again (only its digest is stored). ``--list`` shows a user's clients;
``--revoke NAME`` revokes the user's active client of that name at once.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.models import ApiClient, ApiScope
from governance.tokens import token_issue, token_revoke


class Command(BaseCommand):
    help = "Issue (or list, or revoke) API tokens of a user. The key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", help="Name of the client, e.g. the partner tool.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            choices=ApiScope.values,
            help="A scope of the token; repeat for several.",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the token expires (default API_TOKEN_DEFAULT_DAYS; 0 = never).",
        )
        parser.add_argument(
            "--list", action="store_true", dest="show_list", help="List the user's clients."
        )
        parser.add_argument("--revoke", metavar="NAME", help="Revoke the active client NAME.")

    def handle(self, *args, username, name, scopes, expires_days, show_list, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if show_list:
            for client in ApiClient.objects.filter(user=user).order_by("created_at"):
                state = (
                    "revoked"
                    if client.revoked_at
                    else (
                        f"expires {client.expires_at:%Y-%m-%d}"
                        if client.expires_at
                        else "no expiry"
                    )
                )
                self.stdout.write(
                    f"{client.name}\t{client.token_key}…\t{' '.join(client.scopes)}\t{state}"
                )
            return
        if revoke:
            client = ApiClient.objects.filter(
                user=user, name=revoke, revoked_at__isnull=True
            ).first()
            if client is None:
                raise CommandError(f"{username} has no active client named {revoke!r}.")
            token_revoke(client=client)
            self.stdout.write(self.style.SUCCESS(f"Revoked {client.name} of {username}."))
            return
        if not name:
            raise CommandError("Give the client a name with --name.")
        try:
            client, key = token_issue(
                user=user, name=name, scopes=scopes, expires_days=expires_days
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            ) from exc
        expiry = f"expires {client.expires_at:%Y-%m-%d}" if client.expires_at else "no expiry"
        self.stderr.write(
            f"Token {client.name!r} for {username}: {' '.join(client.scopes)}; {expiry}. "
            "The key is shown once and cannot be recovered:"
        )
        self.stdout.write(key)
