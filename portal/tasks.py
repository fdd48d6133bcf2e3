"""The portal's own tasks: the reconciliation run once when beat starts; retention of what grows (issue 32)."""
import logging

from celery import shared_task

from portal.audit.retention import access_log_purge
from portal.commands.retention import commands_purge
from portal.sync import run_sync, start_syncs

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
        run = run_sync(name, sync)
        outcomes[name] = run.counts if run.ok else f"failed: {run.error}"
        if not run.ok and run.error.kind == "connect":
            unreachable.append(name)
    if unreachable and self.request.retries < START_RETRIES:
        log.info("start sync: Telnyx not reachable yet for %s; trying again in %s s", ", ".join(unreachable), START_RETRY_SECONDS)
        raise self.retry(kwargs={"only": unreachable}, countdown=START_RETRY_SECONDS)
    return outcomes


# Retention runs on the `celery` queue, never beside the drains on `events` or the sends on `commands`.
@shared_task
def purge_old_commands() -> int:
    """Finished commands older than COMMAND_RETENTION_DAYS."""
    return commands_purge()


@shared_task
def purge_old_access_log() -> int:
    """Recording plays and downloads older than ACCESS_LOG_RETENTION_DAYS."""
    return access_log_purge()
