"""Load an archived day of webhook events back into the database, for an investigation (issue 32)."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from webhooks.archive import ArchiveError
from webhooks.holds import archive_load


class Command(BaseCommand):
    help = "Load the archived webhook events of one UTC day (EVENT_ARCHIVE_STORAGE) back into the database."

    def add_arguments(self, parser):
        parser.add_argument("day", help="The UTC day, e.g. 2026-11-25.")
        parser.add_argument(
            "--keep-days", type=int, default=7,
            help="Retention leaves the loaded day alone this many days (default 7), then removes it again.",
        )

    def handle(self, *args, day, keep_days, **options):
        parsed = parse_date(day) if len(day) == 10 else None
        if parsed is None:
            raise CommandError(f"{day!r} is not a day (YYYY-MM-DD).")
        if keep_days < 0:
            raise CommandError("--keep-days must be 0 or more.")
        try:
            loaded, present = archive_load(day=parsed, keep_days=keep_days)
        except ArchiveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {loaded} event(s) of {parsed.isoformat()} ({present} already present); "
            f"kept from retention for {keep_days} day(s)."
        ))
