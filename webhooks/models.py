"""Every webhook Telnyx delivered, stored as received before anything is applied."""
from django.db import models
from django.db.models import Q

from portal.indexes import SparseIndex
from webhooks import time_partitions


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """An update that moves rows to another time (tests, investigations) first makes sure its partition exists."""
        moment = kwargs.get("received_at")
        if moment is not None and hasattr(moment, "tzinfo") and time_partitions.is_partitioned(self.db):
            time_partitions.ensure_partition(moment, using=self.db)
        return super().update(**kwargs)


class WebhookEvent(models.Model):
    """One Telnyx event (unique on Telnyx's id); handlers apply it later, possibly more than once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no handler)"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=100, unique=True, help_text="Telnyx's data.id.")
    event_type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField(null=True, blank=True, help_text="data.occurred_at (or the payload's).")
    received_at = models.DateTimeField(auto_now_add=True)
    raw_body = models.TextField(help_text="The body exactly as received and verified.")
    payload = models.JSONField(help_text="data.payload parsed.")
    call_control_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True)
    conference_id = models.CharField(max_length=255, blank=True)
    queue_name = models.CharField(max_length=255, blank=True)
    recording_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Times the handlers ran.")
    last_error = models.TextField(blank=True, help_text="Traceback of the last handler failure.")
    processed_at = models.DateTimeField(null=True, blank=True)
    partition = models.PositiveSmallIntegerField(
        default=0, help_text="Drain partition (webhooks/store.py partition_of): one drain applies a partition at a time, in order."
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The Events page and API read newest first: without it every page sorted the whole table.
            models.Index(fields=["-received_at", "-id"], name="event_newest_first"),
            # Pending (the drain's claim, the sweeper), failed and ignored events only: the drain's
            # update to "processed" then writes no entry here, and the status filters stay indexed
            # ("processed" is nearly every row, read in the newest-first index's order).
            SparseIndex(fields=["status", "received_at"], name="event_unprocessed", condition=~Q(status="processed")),
            # A drain's claim: the oldest pending events of the partitions it holds (issue 25).
            SparseIndex(fields=["partition", "received_at", "id"], name="event_pending_partition", condition=Q(status="pending")),
            models.Index(fields=["event_type", "received_at"], name="event_type_received"),
            models.Index(fields=["call_control_id"], name="event_call_control"),
            # Partial: most events name no conference, queue or recording, and every index entry is
            # written on the intake's hot path and again when a drain records the outcome (issue 13).
            SparseIndex(fields=["conference_id", "occurred_at"], name="event_conference", condition=~Q(conference_id="")),
            SparseIndex(fields=["queue_name"], name="event_queue", condition=~Q(queue_name="")),
            SparseIndex(fields=["recording_id"], name="event_recording", condition=~Q(recording_id="")),
        ]
        permissions = [("reprocess_webhookevent", "Can re-process webhook events")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class EventKey(models.Model):
    """A Telnyx event id seen in the last EVENT_DEDUPE_DAYS (PostgreSQL, issue 32).

    The partitioned events table cannot hold a unique index on event_id alone (a partitioned table's
    unique indexes must include received_at), so the intake inserts the id here and the event in the
    same statement (webhooks/store.py): a redelivery conflicts here and stores nothing. Retention prunes
    ids older than the window (Telnyx redelivers within days). Unused on SQLite, whose one events table
    keeps its unique event_id.
    """

    event_id = models.CharField(max_length=100, primary_key=True)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.event_id


class ArchiveHold(models.Model):
    """A UTC day loaded back from the events archive (load_event_archive): retention leaves it until `until`."""

    day = models.DateField(unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} (held until {self.until:%Y-%m-%d})"
