"""Recordings Telnyx saved, the audio the portal captured from them, their transcripts and who listened."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from recordings.storage import get_recording_storage


class Recording(models.Model):
    """A recording of a call or a conference: saved at Telnyx, then downloaded (stored) before its link expires.

    Status moves saved → downloading → stored, or → failed (retried with fresh links until it is stored);
    deleted is a tombstone: the audio is gone here and at Telnyx, the row keeps who deleted it and when.
    A failed row with `telnyx_error` is a recording attempt Telnyx itself reported failed (call.recording.error).
    """

    class Status(models.TextChoices):
        SAVED = "saved", "Saved at Telnyx"
        DOWNLOADING = "downloading", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        CALL = "call", "Call"
        CONFERENCE = "conference", "Conference"

    recording_id = models.CharField(max_length=255, unique=True, help_text="Telnyx's recording id.")
    provisional_id = models.BooleanField(
        default=False,
        help_text="recording_id is the webhook event's id (call.recording.saved carries none) until Telnyx's list names it.",
    )
    source = models.CharField(max_length=16, choices=Source, default=Source.CALL)
    call_control_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Indexed: a provisional recording is matched by leg, session or control id (naming.find_named), and an OR
    # with one unindexed branch scans the whole table.
    call_leg_id = models.CharField(max_length=255, blank=True, db_index=True)
    call_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    conference_id = models.CharField(max_length=255, blank=True, db_index=True)
    connection_id = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, blank=True)
    channels = models.CharField(max_length=8, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="When it was recorded (its start, else when first seen)."
    )
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_urls = models.JSONField(
        default=dict, blank=True, help_text="Telnyx's download links, valid for 10 minutes; listeners only."
    )
    public_recording_urls = models.JSONField(default=dict, blank=True, help_text="Listeners only.")
    urls_received_at = models.DateTimeField(null=True, blank=True, help_text="When the current links were issued.")
    saved_at = models.DateTimeField(auto_now_add=True, db_index=True)

    status = models.CharField(max_length=16, choices=Status, default=Status.SAVED, db_index=True)
    file = models.FileField(storage=get_recording_storage, max_length=500, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    download_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last download attempt failed.")
    telnyx_error = models.CharField(max_length=255, blank=True, help_text="call.recording.error's reason.")

    delete_requested_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delete_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-saved_at", "-id"]
        indexes = [
            models.Index(fields=["status", "last_attempt_at"], name="recording_status_attempt"),
            # The dashboard's "saved today" (failed attempts are no recording): an index-only count.
            models.Index(fields=["saved_at"], name="recording_saved_ok", condition=Q(telnyx_error="")),
        ]
        permissions = [("listen_recording", "Can listen to and download recordings")]

    def __str__(self) -> str:
        return self.recording_id

    def save(self, *args, **kwargs):
        self.derive()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "source", "recorded_at", "duration_seconds"}
        super().save(*args, **kwargs)

    def derive(self) -> None:
        """Fill the columns computed from others (also called before bulk writes, which skip save())."""
        self.source = self.Source.CONFERENCE if self.conference_id else self.Source.CALL
        if self.started_at:
            self.recorded_at = self.started_at
        if self.started_at and self.ended_at and self.duration_seconds is None:
            self.duration_seconds = max(0, int((self.ended_at - self.started_at).total_seconds()))

    @property
    def is_playable(self) -> bool:
        return self.status == self.Status.STORED and bool(self.file)

    @property
    def can_be_deleted(self) -> bool:
        """Telnyx can delete it: a real id, not already gone, not a failed attempt that never existed."""
        return self.status != self.Status.DELETED and not self.provisional_id and not self.telnyx_error


class Transcription(models.Model):
    """Telnyx's transcript of a recording (call.recording.transcription.saved, or the transcriptions list)."""

    transcription_id = models.CharField(max_length=255, unique=True, help_text="Telnyx's recording_transcription_id.")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="transcriptions")
    call_control_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=32, blank=True, help_text="in-progress or completed.")
    text = models.TextField(blank=True)
    language = models.CharField(max_length=32, blank=True)
    speakers = models.JSONField(default=list, blank=True, help_text="Speaker labels, where Telnyx gives them.")
    segments = models.JSONField(
        default=list, blank=True, help_text="Timed lines [{start, end, speaker, text}], where Telnyx gives timing."
    )
    duration_millis = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="Telnyx's created_at.")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Telnyx's updated_at.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording", "created_at", "id"]

    def __str__(self) -> str:
        return self.transcription_id


class AccessAction(models.TextChoices):
    """How a listener reached a recording's audio; each is an entry in the audit trail (portal/audit/)."""

    PLAY = "play", "Played"
    DOWNLOAD = "download", "Downloaded"
    ZIP = "zip", "Downloaded in a ZIP"
