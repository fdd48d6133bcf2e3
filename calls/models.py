"""Call legs as Telnyx reports them by the lifecycle webhooks."""
from django.db import models


class Call(models.Model):
    """One call leg, keyed by call_control_id; its state only moves forward (initiated → ... → hangup)."""

    class State(models.TextChoices):
        INITIATED = "initiated", "Ringing"
        ANSWERED = "answered", "Answered"
        BRIDGED = "bridged", "Bridged"
        HANGUP = "hangup", "Ended"

    call_control_id = models.CharField(max_length=255, unique=True)
    call_leg_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    connection_id = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=16, blank=True)
    from_number = models.CharField(max_length=64, blank=True)
    to_number = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State, default=State.INITIATED)
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    hangup_cause = models.CharField(max_length=64, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest applied event.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["state", "started_at"], name="call_state_started")]
        permissions = [
            ("control_call", "Can issue call commands"),
            ("supervise_call", "Can switch a call's supervisor role"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number or '?'} → {self.to_number or '?'} ({self.get_state_display()})"
