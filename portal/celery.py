"""The Celery app: Telnyx commands go out and webhook events are applied through it."""
import os

from celery import Celery

from portal.ops_celery import install as install_ops

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Worker heartbeats and Django's logging in every Celery process (portal/ops_celery.py).
install_ops(app)
app.autodiscover_tasks(["portal.commands"])
app.autodiscover_tasks()
