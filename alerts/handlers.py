"""Queue events re-evaluate the alert rules soon after their batch commits (beat evaluates anyway)."""
import logging

from django.core.cache import cache
from django.db import transaction

from alerts.tasks import evaluate_alerts

log = logging.getLogger("alerts")
SOON_KEY = "alerts:evaluate-soon"
SOON_SECONDS = 1  # at most one evaluation queued per second, however many events a burst brings


def _evaluate_soon() -> None:
    try:
        if cache.add(SOON_KEY, 1, timeout=SOON_SECONDS):
            evaluate_alerts.delay()
    except Exception:  # noqa: BLE001 - broker or cache away: beat evaluates within ALERTS_EVALUATE_SECONDS anyway
        log.warning("could not queue an alert evaluation after queue events", exc_info=True)


def on_queue_moved(event) -> None:
    """After commit (once per transaction however many queue events it applies): queue an evaluation."""
    connection = transaction.get_connection()
    # Django replaces run_on_commit on commit and rollback: a mark against that list is this transaction's.
    if getattr(connection, "_alerts_evaluate_queued", None) is connection.run_on_commit:
        return
    connection._alerts_evaluate_queued = connection.run_on_commit

    def run() -> None:
        connection._alerts_evaluate_queued = None
        _evaluate_soon()

    transaction.on_commit(run)


HANDLERS = {"call.enqueued": on_queue_moved, "call.dequeued": on_queue_moved}
