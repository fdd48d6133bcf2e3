"""`manage.py drf_create_token USER`: a new API token, printed once (only its digest is stored)."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.models import ApiToken
from portal.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USER and print its key (shown only now; the portal keeps a digest)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("-r", "--reset", action="store_true", help="Revoke the user's other tokens first.")
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument("--expires-days", type=int, default=None, help="Days until it stops working.")

    def handle(self, *args, username, reset, name, expires_days, **options):
        try:
            user = get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: username})
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        if reset:
            ApiToken.objects.filter(user=user).delete()
        _, key = api_token_create(
            user=user, name=name, expires_in=timedelta(days=expires_days) if expires_days else None
        )
        self.stdout.write(f"Generated token {key} for user {username}")
