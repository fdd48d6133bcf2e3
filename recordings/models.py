"""Recordings Telnyx saved, with the short-lived links it sent."""
from django.db import models


class Recording(models.Model):
    """A saved recording of a call or a conference; its audio is captured by the recordings issue."""

    recording_id = models.CharField(max_length=255, unique=True)
    call_control_id = models.CharField(max_length=255, blank=True)
    call_session_id = models.CharField(max_length=255, blank=True)
    conference_id = models.CharField(max_length=255, blank=True, db_index=True)
    format = models.CharField(max_length=8, blank=True)
    channels = models.CharField(max_length=8, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recording_urls = models.JSONField(default=dict, blank=True, help_text="Valid for 10 minutes after saving.")
    public_recording_urls = models.JSONField(default=dict, blank=True)
    saved_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-saved_at", "-id"]
        permissions = [("listen_recording", "Can listen to and download recordings")]

    def __str__(self) -> str:
        return self.recording_id

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at and self.ended_at:
            return int((self.ended_at - self.started_at).total_seconds())
        return None
