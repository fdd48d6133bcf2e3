"""Call queues and the callers waiting in them, from call.enqueued / call.dequeued."""
from django.db import models


class Queue(models.Model):
    """A Telnyx call queue, known by its name."""

    name = models.CharField(max_length=255, unique=True)
    max_size = models.PositiveIntegerField(null=True, blank=True)
    average_wait_secs = models.PositiveIntegerField(null=True, blank=True, help_text="As Telnyx last reported it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("control_queue", "Can manage callers in queues"),
            ("manage_queue", "Can create and delete queues"),
        ]

    def __str__(self) -> str:
        return self.name


class QueuedCall(models.Model):
    """One stay of a call in a queue: waiting while left_at is empty."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="calls")
    call_control_id = models.CharField(max_length=255)
    call_session_id = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(null=True, blank=True)
    enqueued_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    leave_reason = models.CharField(max_length=64, blank=True)
    wait_time_secs = models.PositiveIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queue", "position", "enqueued_at"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "call_control_id"], name="queued_call_once_per_queue")
        ]
        indexes = [models.Index(fields=["left_at", "enqueued_at"], name="queuedcall_waiting")]

    def __str__(self) -> str:
        return f"{self.call_control_id} in {self.queue}"
