"""WSGI entry point: plain HTTP under gunicorn in production (see README, production layout)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
