"""The Celery app: Telnyx commands go out and webhook events are applied through it."""
import os

from celery import Celery
from kombu.utils.objects import cached_property

from portal.ops_celery import install as install_ops

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")



class PortalCelery(Celery):
    """Celery whose worker and beat keep LOG_FORMAT=json all JSON (portal/celery_logging.py)."""

    @cached_property
    def Worker(self):
        return self.subclass_with_self("portal.celery_logging:Worker")

    @cached_property
    def Beat(self):
        return self.subclass_with_self("portal.celery_logging:Beat")


app = PortalCelery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Worker heartbeats and Django's logging in every Celery process (portal/ops_celery.py).
install_ops(app)
app.autodiscover_tasks(["portal.commands"])
app.autodiscover_tasks()
