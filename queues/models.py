"""Call queues and each stay of a caller in one, from call.enqueued / call.dequeued, commands and sync."""
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Queue(models.Model):
    """A Telnyx call queue, known by its name; deleting it keeps the row (and its history) with deleted_at set."""

    telnyx_id = models.CharField(max_length=255, blank=True, help_text="Telnyx's id of the queue.")
    name = models.CharField(max_length=255, unique=True)
    max_size = models.PositiveIntegerField(null=True, blank=True, help_text="Most callers Telnyx lets wait at once.")
    current_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Callers waiting as Telnyx last listed them (the board counts its own)."
    )
    average_wait_secs = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Telnyx's average wait of the callers in the queue when it last reported it (not the longest wait now).",
    )
    average_wait_reported_at = models.DateTimeField(null=True, blank=True)
    service_level_target_secs = models.PositiveIntegerField(
        default=20, help_text="A caller answered within this many seconds counts toward the service level."
    )
    service_level_goal_percent = models.PositiveSmallIntegerField(
        default=80, help_text="Service level at or above this is green; up to 10 points below is amber; lower is red."
    )
    created_at = models.DateTimeField(default=timezone.now, help_text="Telnyx's creation time, or when first seen.")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Telnyx's last update of the queue.")
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Last time Telnyx listed or mentioned it.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When it was deleted or Telnyx stopped listing it.")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest applied event.")

    class Meta:
        ordering = ["name"]
        permissions = [
            ("control_queue", "Can manage callers in queues"),
            ("manage_queue", "Can create and delete queues"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class QueuedCall(models.Model):
    """One stay of a call in a queue: waiting while left_at is empty; a call that queues again gets a new row.

    Closed stays are kept as the history the metrics are computed from; wait_time_secs is always set
    once a stay is closed (Telnyx's figure, or left_at - enqueued_at).
    """

    class Reason(models.TextChoices):
        BRIDGED = "bridged", "Answered (bridged)"
        BRIDGING = "bridging-in-process", "Answered (bridging)"
        HANGUP = "hangup", "Hung up (abandoned)"
        LEAVE = "leave", "Taken out (leave queue)"
        TIMEOUT = "timeout", "Timed out"
        REMOVED = "removed", "Removed by staff"
        QUEUE_DELETED = "queue_deleted", "Queue deleted"
        GONE = "gone", "Gone (Telnyx no longer lists it)"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="calls")
    call_control_id = models.CharField(max_length=255)
    call_leg_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True)
    from_number = models.CharField(max_length=255, blank=True)
    to_number = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Place in line while waiting; the last place once left."
    )
    enqueued_at = models.DateTimeField()
    entered_event_at = models.DateTimeField(
        null=True, blank=True, help_text="occurred_at of the call.enqueued that opened this stay (empty until it arrives)."
    )
    left_at = models.DateTimeField(null=True, blank=True)
    left_event_at = models.DateTimeField(
        null=True, blank=True, help_text="occurred_at of the call.dequeued that closed this stay."
    )
    leave_reason = models.CharField(max_length=64, blank=True, choices=Reason)
    wait_time_secs = models.PositiveIntegerField(null=True, blank=True)
    is_alive = models.BooleanField(default=True, help_text="False once the caller hung up (kept only with keep_after_hangup).")
    keep_after_hangup = models.BooleanField(default=False)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queue", "position", "enqueued_at"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "call_control_id", "enqueued_at"], name="queued_call_one_row_per_stay"),
            models.UniqueConstraint(
                fields=["queue", "call_control_id"], condition=Q(left_at__isnull=True), name="queued_call_one_open_stay"
            ),
        ]
        indexes = [
            models.Index(fields=["left_at", "enqueued_at"], name="queuedcall_waiting"),
            # The dashboard's waiting count and longest wait read only callers still in line.
            models.Index(fields=["enqueued_at"], name="queuedcall_alive_waiting", condition=Q(left_at__isnull=True, is_alive=True)),
            models.Index(fields=["queue", "enqueued_at"], name="queuedcall_queue_enqueued"),
            # A line in order: a renumbering reads the place before a change and the stays after it (queues/rows.py).
            models.Index(fields=["queue", "enqueued_at", "id"], name="queuedcall_line", condition=Q(left_at__isnull=True)),
            models.Index(fields=["call_control_id"], name="queuedcall_call"),
        ]

    def __str__(self) -> str:
        return f"{self.call_control_id} in {self.queue}"

    @property
    def is_waiting(self) -> bool:
        return self.left_at is None
