#!/usr/bin/env python
"""Django's command-line utility for the Telnyx operations portal.

Production fails closed (portal/settings.py): without DJANGO_SECRET_KEY the portal refuses to start unless
DJANGO_DEBUG=true. A checkout's own housekeeping commands (migrate, makemigrations, check, shell, ...)
run with neither set debug as a development checkout would; commands that serve requests never do.
"""
import os
import sys

SERVING_COMMANDS = {"runserver", "runportal", "serve_metrics", "runworker", "testserver"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in SERVING_COMMANDS and not os.environ.get("DJANGO_SECRET_KEY"):
        os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
