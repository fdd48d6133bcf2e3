"""Re-queue stored webhook events, e.g. after fixing a handler."""
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.filters import TIME_ERROR, parse_moment, start_of
from webhooks.models import WebhookEvent
from webhooks.retries import events_reprocess


class Command(BaseCommand):
    help = "Re-queue webhook events for processing (default: the failed ones)."

    def add_arguments(self, parser):
        parser.add_argument("--status", default="failed", choices=[s for s, _ in WebhookEvent.Status.choices])
        parser.add_argument("--type", dest="event_type", help="Only this event type.")
        parser.add_argument(
            "--since", help="Only events received at or after this: a date (2026-12-04, from its start in TIME_ZONE) "
            "or an ISO 8601 date-time (without an offset: in TIME_ZONE), read as the API reads since.",
        )

    def handle(self, *args, status, event_type, since, **options):
        events = WebhookEvent.objects.filter(status=status)
        if event_type:
            events = events.filter(event_type=event_type)
        if since:
            moment = parse_moment(since)  # the API's reading: no naive datetime reaches the query (issue 30)
            if moment is None:
                raise CommandError(f"--since {since!r}: {TIME_ERROR}")
            if not isinstance(moment, datetime):
                moment = start_of(moment)
            events = events.filter(received_at__gte=moment)
        with transaction.atomic():
            count = events_reprocess(queryset=events, user=None)
        self.stdout.write(self.style.SUCCESS(f"Queued {count} event(s) for processing."))
