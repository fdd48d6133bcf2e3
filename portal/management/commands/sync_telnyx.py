"""Run every domain's full sync with Telnyx once (each app declares its own in `<app>/sync.py`)."""
from django.core.management.base import BaseCommand, CommandError

from portal.sync import full_syncs, run_sync


class Command(BaseCommand):
    help = "Reconcile local state with everything Telnyx lists (creates what webhooks missed, corrects, closes)."

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", help="Run only this sync (repeatable), e.g. conferences.")

    def handle(self, *args, only=None, **options):
        syncs = full_syncs()
        unknown = set(only or []) - set(syncs)
        if unknown:
            raise CommandError(f"Unknown sync(s): {', '.join(sorted(unknown))}. Known: {', '.join(syncs)}.")
        failed = []
        for name, sync in syncs.items():
            if only and name not in only:
                continue
            run = run_sync(name, sync)
            if not run.ok:
                self.stderr.write(self.style.ERROR(f"{name}: {run.error}"))
                failed.append(f"{name} ({run.error})")
                continue
            summary = ", ".join(f"{k} {v}" for k, v in run.counts.items())
            self.stdout.write(self.style.SUCCESS(f"{name}: {summary}"))
        if failed:
            raise CommandError(f"Sync failed for: {', '.join(failed)}.")
