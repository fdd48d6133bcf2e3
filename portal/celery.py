"""The Celery app: Telnyx commands go out and webhook events are applied through it."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["portal.commands"])
app.autodiscover_tasks()
