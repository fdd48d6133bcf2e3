"""Run every domain's sync with Telnyx once (conferences now; other domains add theirs here)."""
from django.core.management.base import BaseCommand, CommandError

from portal import gateway


def _syncs():
    from conferencing.tasks import fetch_and_sync as sync_conferences

    return {"conferences": sync_conferences}


class Command(BaseCommand):
    help = "Reconcile local state with Telnyx's lists (creates what webhooks missed, corrects, closes)."

    def handle(self, *args, **options):
        for name, sync in _syncs().items():
            try:
                counts = sync()
            except gateway.GatewayError as error:
                raise CommandError(f"{name}: {error}") from error
            summary = ", ".join(f"{k} {v}" for k, v in counts.items())
            self.stdout.write(self.style.SUCCESS(f"{name}: {summary}"))
