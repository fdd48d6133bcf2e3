"""Conferences and participants as Telnyx reports them, plus what the portal did to them."""
from django.conf import settings
from django.db import models


class Conference(models.Model):
    """A Telnyx conference; created by conference.created or sync, closed by conference.ended."""

    class Status(models.TextChoices):
        INIT = "init", "Starting"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    class RecordingState(models.TextChoices):
        IDLE = "idle", "Not recording"
        RECORDING = "recording", "Recording"
        PAUSED = "paused", "Paused"

    conference_id = models.CharField(max_length=255, unique=True, help_text="Telnyx's conference id.")
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.INIT)
    region = models.CharField(max_length=32, blank=True)
    connection_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff member whose command ended it, if it was ended from the portal.",
    )
    recording_state = models.CharField(max_length=16, choices=RecordingState, default=RecordingState.IDLE)
    active_recording_id = models.CharField(max_length=255, blank=True)
    playing_media = models.CharField(max_length=500, blank=True, help_text="Audio playing to the whole conference.")
    speaking = models.BooleanField(default=False, help_text="Text-to-speech playing to the whole conference.")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest status event.")
    floor_changed_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest floor change.")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="conference_status_created")]
        permissions = [
            ("control_conference", "Can control conferences and their participants"),
            ("supervise_conference", "Can monitor, whisper and barge in conferences"),
        ]

    def __str__(self) -> str:
        return self.name or self.conference_id

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.COMPLETED


class Participant(models.Model):
    """One call leg's stay in a conference; joins and leaves are applied in occurred_at order."""

    class Status(models.TextChoices):
        JOINING = "joining", "Joining"
        JOINED = "joined", "Joined"
        LEFT = "left", "Left"

    class SupervisorRole(models.TextChoices):
        NONE = "none", "None"
        MONITOR = "monitor", "Monitor"
        WHISPER = "whisper", "Whisper"
        BARGE = "barge", "Barge"

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="participants")
    call_control_id = models.CharField(max_length=255)
    call_leg_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True)
    label = models.CharField(
        max_length=255, blank=True, help_text="Who it is: the caller's number or SIP name, from the call leg."
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.JOINING)
    muted = models.BooleanField(default=False)
    on_hold = models.BooleanField(default=False)
    supervisor_role = models.CharField(max_length=16, choices=SupervisorRole, default=SupervisorRole.NONE)
    whisper_call_control_ids = models.JSONField(default=list, blank=True)
    end_conference_on_exit = models.BooleanField(default=False)
    soft_end_conference_on_exit = models.BooleanField(default=False)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    speaking = models.BooleanField(default=False, help_text="Holds the floor now (conference.floor.changed).")
    playing_media = models.CharField(max_length=500, blank=True)
    speaking_tts = models.BooleanField(default=False, help_text="Text-to-speech playing to this participant.")
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest join/leave.")

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conference", "call_control_id"], name="participant_once_per_conference")
        ]
        indexes = [
            models.Index(fields=["call_control_id"], name="participant_call_control"),
            # The dashboard counts who is in a call now: a scan of everyone who ever joined otherwise.
            models.Index(fields=["conference"], name="participant_joined", condition=models.Q(status="joined")),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """Who this is (caller number or SIP name); the call_control_id stays for hovers and detail pages."""
        return self.label or "Unknown caller"

    @property
    def is_present(self) -> bool:
        return self.status != self.Status.LEFT
