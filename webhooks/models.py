"""Every webhook Telnyx delivered, stored as received before anything is applied."""
from django.db import models


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

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The Events page and API read newest first: without it every page sorted the whole table.
            models.Index(fields=["-received_at", "-id"], name="event_newest_first"),
            models.Index(fields=["status", "received_at"], name="event_status_received"),
            models.Index(fields=["event_type", "received_at"], name="event_type_received"),
            models.Index(fields=["call_control_id"], name="event_call_control"),
            models.Index(fields=["conference_id", "occurred_at"], name="event_conference"),
            models.Index(fields=["queue_name"], name="event_queue"),
            models.Index(fields=["recording_id"], name="event_recording"),
        ]
        permissions = [("reprocess_webhookevent", "Can re-process webhook events")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
