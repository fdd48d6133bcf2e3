"""Thin tasks: send one command attempt; sweep stuck commands."""
from celery import shared_task
from django.conf import settings

from portal.commands import idempotency, services


@shared_task(bind=True, max_retries=None, acks_late=True)
def execute_command(self, command_pk: int) -> str | None:
    """One attempt; the service decides whether and when another is due."""
    outcome = services.command_execute(command_pk=command_pk)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.command.status if outcome.command else None


@shared_task
def sweep_stuck_commands() -> int:
    """Commands running or queued past COMMAND_STUCK_AFTER_SECONDS are re-queued or settled; expired idempotency keys go."""
    idempotency.purge_expired()
    return services.commands_sweep_stuck(stuck_after_seconds=settings.COMMAND_STUCK_AFTER_SECONDS)
