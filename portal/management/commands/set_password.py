"""Set a user's password without a terminal: from PORTAL_NEW_PASSWORD or standard input (issue 30).

Django's `changepassword` prompts with getpass and ends in a traceback (EOFError) when no terminal is
attached: in a script, over ssh without -t, in a container's exec. Never from argv: `ps` would show it.
"""
import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

ENV_VARIABLE = "PORTAL_NEW_PASSWORD"


class Command(BaseCommand):
    help = (f"Set USERNAME's password from ${ENV_VARIABLE}, or the first line of standard input "
            "(prompted twice on a terminal). Django's password validators apply.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"User '{username}' does not exist.")
        password = self.read_password()
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"Password changed for '{username}'."))

    def read_password(self) -> str:
        password = os.environ.get(ENV_VARIABLE)
        if password is None and sys.stdin.isatty():
            password = getpass.getpass("New password: ")
            if getpass.getpass("Again: ") != password:
                raise CommandError("The two passwords differ; nothing changed.")
        elif password is None:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError(f"No password given: set {ENV_VARIABLE}, or pipe it on standard input "
                               f"(e.g. `printf '%s\\n' \"$NEW\" | python manage.py set_password admin`).")
        return password
