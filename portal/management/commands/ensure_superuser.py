"""Create a staff superuser on first start and print its login (make run)."""
import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser if none exists, and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: PORTAL_ADMIN_PASSWORD or a random one.")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            self.stdout.write(
                f"Superuser '{existing.get_username()}' exists. Forgot the password? "
                f"python manage.py changepassword {existing.get_username()} (no terminal: "
                f"PORTAL_NEW_PASSWORD=... python manage.py set_password {existing.get_username()})"
            )
            return
        password = password or os.environ.get("PORTAL_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created superuser. Log in as: {username} / {password}"))
