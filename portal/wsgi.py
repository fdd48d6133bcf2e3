"""WSGI entry point: plain HTTP under granian in production (Procfile.production, README).

POST /webhooks/telnyx/ is answered by the lean intake in front of Django's handler (issue 13);
every other request goes through Django's full middleware stack.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_application = get_wsgi_application()

from portal import gc_freeze  # noqa: E402
from webhooks import intake  # noqa: E402  (needs the app registry)

application = intake.WebhookDispatch(django_application)
intake.warm_up()
gc_freeze.freeze_startup_objects()  # each granian worker (or a preloading server's master) imports this once
