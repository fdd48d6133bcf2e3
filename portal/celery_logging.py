"""LOG_FORMAT=json in Celery's own console output too: its banners, warnings and shutdown notices (issue 30).

Celery prints its start-up banner and shutdown notices straight to the terminal and warns (as root)
through `warnings` before any logging is set up; with LOG_FORMAT=json those lines broke log shippers
that expect one JSON object a line. The worker and beat classes below stay quiet in JSON mode and say
the same things as log lines; with LOG_FORMAT=plain they are Celery's own, unchanged.
"""
import logging
from logging.config import dictConfig

from celery.apps import beat as celery_beat
from celery.apps import worker as celery_worker
from django.conf import settings

log = logging.getLogger("portal.celery")


def _json_console() -> bool:
    """Whether LOG_FORMAT=json; when it is, Django's logging (and warnings through it) start now."""
    if settings.LOG_FORMAT != "json":
        return False
    dictConfig(settings.LOGGING)
    # Celery's SecurityWarning (running as root) comes before its logging set-up: through "py.warnings".
    logging.captureWarnings(True)
    return True


def _say(message, f=None):
    log.warning("%s", str(message).strip())


class Worker(celery_worker.Worker):
    def on_before_init(self, quiet=False, **kwargs):
        json_console = _json_console()
        if json_console:
            # Celery's shutdown notices ("worker: Warm shutdown") go through its module's safe_say.
            celery_worker.safe_say = _say
        super().on_before_init(quiet=quiet or json_console, **kwargs)

    def on_start(self):
        super().on_start()
        if self.quiet:
            queues = sorted(self.app.amqp.queues.consume_from or self.app.amqp.queues)
            log.info(
                "celery worker %s starting", self.hostname,
                extra={"hostname": self.hostname, "queues": queues, "concurrency": self.concurrency},
            )


class Beat(celery_beat.Beat):
    def __init__(self, *args, quiet=False, **kwargs):
        json_console = _json_console()
        super().__init__(*args, quiet=quiet or json_console, **kwargs)
        if json_console:
            log.info("celery beat starting", extra={"schedule": str(self.schedule)})
