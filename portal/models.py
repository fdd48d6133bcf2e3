"""The command bus's audit trail (one row per Telnyx command ever issued) and the API tokens."""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken


class Command(models.Model):
    """A Telnyx command: queued by a service, sent by a task; finished ones go after COMMAND_RETENTION_DAYS
    (portal/commands/retention.py), the audit trail keeping who issued what for longer."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # Telnyx may or may not have acted (no answer after the request went out) and a resend could act
        # twice: left for a person to check and retry deliberately (issue 23).
        OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"

    class Door(models.TextChoices):
        PAGE = "page", "Portal page"
        ADMIN = "admin", "Admin"
        API = "api", "API"
        SYSTEM = "system", "System"

    action = models.CharField(max_length=64, help_text="Declared action name, e.g. conference.mute.")
    target = models.CharField(max_length=255, blank=True, help_text="Conference id, call_control_id, queue name...")
    params = models.JSONField(default=dict, blank=True, help_text="Parameters as sent to Telnyx, secrets masked.")
    sealed_params = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Secret parameters (e.g. stream auth tokens): sent to Telnyx, never shown by any door.",
    )
    command_id = models.UUIDField(
        default=uuid.uuid4, help_text="Sent on every attempt where the endpoint accepts one, so Telnyx drops repeats."
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0, help_text="Requests actually sent to Telnyx.")
    maybe_delivered = models.BooleanField(
        default=False,
        help_text="An attempt may have reached Telnyx without an answer (timeout, 5xx, connection lost after "
        "sending): it is sent again only where that cannot act twice.",
    )
    response = models.JSONField(null=True, blank=True, help_text="Telnyx's answer to the successful attempt.")
    error_status = models.PositiveIntegerField(null=True, blank=True, help_text="HTTP status of the last error.")
    error_title = models.CharField(max_length=255, blank=True)
    error_detail = models.TextField(blank=True)
    local_error = models.TextField(
        blank=True, help_text="Telnyx accepted the command but mirroring it locally failed (traceback)."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    door = models.CharField(max_length=8, choices=Door, default=Door.SYSTEM)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    idempotency_key = models.ForeignKey(
        "IdempotencyKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="commands",
        help_text="The Idempotency-Key or one-time form token it was issued under: a repeat answers with this command.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the current attempt began.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="command_status_created"),
            models.Index(fields=["action", "created_at"], name="command_action_created"),
            models.Index(fields=["target", "created_at"], name="command_target_created"),
        ]
        permissions = [
            ("view_dashboard", "Can view the dashboard"),
            ("retry_command", "Can retry failed commands"),
        ]

    def __str__(self) -> str:
        return f"{self.action} → {self.target or '-'} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.OUTCOME_UNKNOWN)

    @property
    def can_be_retried(self) -> bool:
        """Failed or of unknown outcome: a person may issue it again (a new command linked to this one)."""
        return self.status in (self.Status.FAILED, self.Status.OUTCOME_UNKNOWN)


class IdempotencyKey(models.Model):
    """A request a client promised to send once: the same key from the same user within 24 h answers with
    the commands the first request issued, and sends nothing (issue 23). Keys older than that are purged."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(
        max_length=300, help_text='Door and key: "api:<Idempotency-Key header>", "form:<token>", "admin:<token>".'
    )
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body first sent with the key.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox): only a SHA-512 digest is stored; the key is shown once, at creation.

    `token_key` keeps the key's first characters so a person can tell tokens apart (and knox can find
    the row); it does not authenticate anything on its own.
    """

    name = models.CharField(max_length=100, blank=True, help_text="What this token is for, e.g. 'CRM integration'.")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Updated at most once a minute.")

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.user})"


class Profile(models.Model):
    """What the portal remembers for one staff member: the phone the call page offers for listening in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile")
    phone_number = models.CharField(
        max_length=255, blank=True, help_text="The user's own phone or SIP URI, last used to listen in to a call."
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.phone_number or '-'}"
