"""The portal's own tasks: the reconciliation run once when beat starts."""
import logging

from celery import shared_task

from portal import gateway
from portal.sync import record_sync, start_syncs

log = logging.getLogger(__name__)
# Under `make run` beat can start before the sandbox listens: a sync that could not connect is tried
# again every START_RETRY_SECONDS, START_RETRIES times, before leaving it to the periodic syncs.
START_RETRY_SECONDS = 5
START_RETRIES = 12


@shared_task(bind=True, max_retries=START_RETRIES)
def sync_on_start(self, only: list[str] | None = None) -> dict:
    """Reconcile what the portal holds live (calls, conferences, queue stays) with Telnyx, once per beat start."""
    outcomes, unreachable = {}, []
    for name, sync in start_syncs().items():
        if only is not None and name not in only:
            continue
        try:
            counts = sync()
        except gateway.GatewayError as error:
            record_sync(name, "failed", error=error)
            outcomes[name] = f"failed: {error}"
            if error.kind == "connect":
                unreachable.append(name)
            continue
        record_sync(name, "ok", **counts)
        outcomes[name] = counts
    if unreachable and self.request.retries < START_RETRIES:
        log.info("start sync: Telnyx not reachable yet for %s; trying again in %s s", ", ".join(unreachable), START_RETRY_SECONDS)
        raise self.retry(kwargs={"only": unreachable}, countdown=START_RETRY_SECONDS)
    return outcomes
