"""WSGI entry point: plain HTTP under gunicorn in production (see README, production layout).

POST /webhooks/telnyx/ is answered by the lean intake in front of Django's handler (issue 13);
every other request goes through Django's full middleware stack.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_application = get_wsgi_application()

from webhooks.intake import WebhookDispatch  # noqa: E402  (needs the app registry)

application = WebhookDispatch(django_application)
