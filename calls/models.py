"""Call legs as Telnyx reports them by webhooks, with what runs on each and what it heard."""
import base64
import binascii

from django.db import models

from portal.indexes import NullsLastIndex


class Call(models.Model):
    """One call leg, keyed by call_control_id.

    Its state only moves forward (initiated → answered → bridged → hangup). The flags say what runs on
    it now (recording, playback, ...): webhooks and succeeded commands set them, each feature ordered by
    its own stamp in `activity_at` so a late "started" never undoes a newer "stopped"; hangup clears all.
    """

    class State(models.TextChoices):
        INITIATED = "initiated", "Ringing"
        ANSWERED = "answered", "Answered"
        BRIDGED = "bridged", "Bridged"
        HANGUP = "hangup", "Ended"

    class RecordingState(models.TextChoices):
        IDLE = "idle", "Not recording"
        RECORDING = "recording", "Recording"
        PAUSED = "paused", "Recording paused"

    call_control_id = models.CharField(max_length=255, unique=True)
    call_leg_id = models.CharField(max_length=255, blank=True, db_index=True)
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
    hangup_source = models.CharField(max_length=32, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest applied lifecycle event.")
    client_state = models.TextField(blank=True, help_text="The newest client_state Telnyx echoed (base64, as sent).")
    client_state_at = models.DateTimeField(null=True, blank=True)

    # Where the call is now (plain names: queues and conferences are other apps' rows).
    queue_name = models.CharField(max_length=255, blank=True, db_index=True, help_text="The queue it waits in now.")
    conference_id = models.CharField(max_length=255, blank=True, db_index=True, help_text="The conference it is in now.")
    supervisor_role = models.CharField(
        max_length=16, blank=True, help_text="Its role as a supervisor leg: dialed with, or last set by switch_supervisor_role."
    )

    # What the portal dialed it for (issue 28), and who it was bridged with.
    dial_command = models.ForeignKey(
        "portal.Command", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The portal's dial that placed this leg (listen in, ring into a conference).",
    )
    supervised_call_control_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The call this leg listens in on (dialed to supervise it)."
    )
    dialed_conference_id = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The conference this leg was rung into."
    )
    bridged_with = models.CharField(max_length=255, blank=True, help_text="The leg it was last bridged with.")

    # What runs on it now.
    recording_state = models.CharField(max_length=16, choices=RecordingState, default=RecordingState.IDLE)
    playing = models.BooleanField(default=False, help_text="Audio playback in progress.")
    speaking = models.BooleanField(default=False, help_text="Text-to-speech in progress.")
    forking = models.BooleanField(default=False, help_text="Media forked to another target.")
    streaming = models.BooleanField(default=False, help_text="Media streamed to a WebSocket.")
    transcribing = models.BooleanField(default=False, help_text="Live transcription running.")
    siprec = models.BooleanField(default=False, help_text="SIPREC session running.")
    noise_suppression = models.BooleanField(default=False)
    activity = models.JSONField(
        default=dict, blank=True, help_text="Per feature: the details it started with, or how it last ended."
    )
    activity_at = models.JSONField(default=dict, blank=True, help_text="Per feature: occurred_at of its last change.")

    # What Telnyx detected or reported about it.
    machine_detection = models.CharField(max_length=32, blank=True, help_text="Answering machine detection result.")
    machine_greeting = models.CharField(max_length=32, blank=True, help_text="Machine greeting result.")
    machine_detection_premium = models.BooleanField(default=False)
    recording_error = models.CharField(max_length=255, blank=True, help_text="Reason of the last call.recording.error.")
    refer_status = models.CharField(max_length=16, blank=True, help_text="started, completed or failed.")
    refer_sip_response = models.PositiveIntegerField(null=True, blank=True)
    conversation = models.JSONField(default=dict, blank=True, help_text="call.conversation.ended, as reported.")
    insights = models.JSONField(default=list, blank=True, help_text="Results of call.conversation_insights.generated.")

    class Meta:
        ordering = [models.F("started_at").desc(nulls_last=True), "-id"]
        # Both lists of the Calls page, the API and the new-conference picker read legs newest first:
        # without an index in that order, each sorted all 100,000 legs per request (issue 13).
        indexes = [
            NullsLastIndex(models.F("started_at").desc(nulls_last=True), models.F("id").desc(), name="call_newest_first"),
            NullsLastIndex(
                "state", models.F("started_at").desc(nulls_last=True), models.F("id").desc(), name="call_state_newest"
            ),
            NullsLastIndex(
                models.F("started_at").desc(nulls_last=True), models.F("id").desc(),
                name="call_active_newest", condition=~models.Q(state="hangup"),
            ),
        ]
        permissions = [
            ("control_call", "Can issue call commands"),
            ("supervise_call", "Can switch a call's supervisor role"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number or '?'} → {self.to_number or '?'} ({self.get_state_display()})"

    @property
    def is_active(self) -> bool:
        return self.state != self.State.HANGUP

    @property
    def was_in_queue(self) -> str:
        """The queue it last waited in (kept after it left, issue 31: an ended call says where it was)."""
        return self.queue_name or str((self.activity or {}).get("queue", {}).get("queue", ""))

    @property
    def was_in_conference(self) -> str:
        """The conference it was last in."""
        return self.conference_id or str((self.activity or {}).get("conference", {}).get("conference_id", ""))

    @property
    def client_state_text(self) -> str:
        """client_state decoded when it is base64 of UTF-8 text, else empty."""
        try:
            return base64.b64decode(self.client_state, validate=True).decode("utf-8") if self.client_state else ""
        except (binascii.Error, ValueError):
            return ""

    @property
    def badges(self) -> list[tuple[str, str]]:
        """(css class, label) for each thing running on the call now."""
        running = [
            (self.recording_state == self.RecordingState.RECORDING, "recording", "● Recording"),
            (self.recording_state == self.RecordingState.PAUSED, "paused", "Recording paused"),
            (self.playing, "", "▶ Playback"),
            (self.speaking, "", "TTS"),
            (self.forking, "", "Forking"),
            (self.streaming, "", "Streaming"),
            (self.transcribing, "", "Transcribing"),
            (self.siprec, "", "SIPREC"),
            (self.noise_suppression, "", "Noise suppression"),
        ]
        return [(css, label) for on, css, label in running if on]


class DtmfDigit(models.Model):
    """One digit Telnyx heard on the call (call.dtmf.received); shown ordered by occurred_at."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="dtmf_digits")
    event_id = models.CharField(max_length=100, unique=True, help_text="The webhook's id: applying twice adds nothing.")
    digit = models.CharField(max_length=4)
    occurred_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return self.digit


class TranscriptFragment(models.Model):
    """One call.transcription result: final, or interim (replaced by the next final on that track)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcript")
    event_id = models.CharField(max_length=100, unique=True, help_text="The webhook's id: applying twice adds nothing.")
    occurred_at = models.DateTimeField(null=True, blank=True)
    text = models.TextField()
    is_final = models.BooleanField(default=True)
    confidence = models.FloatField(null=True, blank=True)
    track = models.CharField(max_length=16, blank=True, help_text="inbound or outbound (engine B only).")

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["call", "occurred_at"], name="transcript_call_time")]

    def __str__(self) -> str:
        return self.text[:60]
