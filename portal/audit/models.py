"""One row per thing someone did that an Administrator may need to account for later."""
from django.db import models
from django.utils import timezone


class AuditImmutable(Exception):
    """The trail is append-only: rows are never changed, and deleted only by the retention purge."""


class AuditQuerySet(models.QuerySet):
    """Refuses bulk changes and deletions; `purge_before` is the only way rows leave."""

    def update(self, **kwargs):
        raise AuditImmutable("Audit entries cannot be changed.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditImmutable("Audit entries cannot be changed.")

    def delete(self):
        raise AuditImmutable("Audit entries cannot be deleted (only AUDIT_RETENTION_DAYS removes them).")

    def purge_before(self, cutoff) -> int:
        """Delete entries older than `cutoff` (the retention task's job, nobody else's)."""
        deleted, _ = models.QuerySet.delete(self.filter(at__lt=cutoff))
        return deleted


class AuditEntry(models.Model):
    """Who did what, when, from which address and through which door. Written once by
    `portal.audit.services.audit_record`; never updated; removed only after AUDIT_RETENTION_DAYS.

    The actor is kept as an id and a username, not a foreign key, so deleting a user changes nothing here.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        LOCKOUT = "lockout", "Locked out"
        SIGN_OUT = "sign_out", "Signed out"
        COMMAND = "command", "Command issued"
        RECORDING_PLAYED = "recording_played", "Recording played"
        RECORDING_DOWNLOADED = "recording_downloaded", "Recording downloaded"
        RECORDING_DELETED = "recording_deleted", "Recording deleted"
        EVENT_REPROCESSED = "event_reprocessed", "Events re-processed"
        SETTING_CHANGED = "setting_changed", "Setting changed"
        USER_CREATED = "user_created", "User created"
        USER_CHANGED = "user_changed", "User or role changed"
        USER_DELETED = "user_deleted", "User deleted"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        ALERT_ACKNOWLEDGED = "alert_acknowledged", "Alert acknowledged"

    class Door(models.TextChoices):
        PAGE = "page", "Portal page"
        ADMIN = "admin", "Admin"
        API = "api", "API"
        SYSTEM = "system", "System"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The user's id; empty for the system.")
    username = models.CharField(
        max_length=150, blank=True, db_index=True,
        help_text="Who acted (kept after the user is deleted); for a failed sign-in, the name tried.",
    )
    address = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address, if a request.")
    door = models.CharField(max_length=8, choices=Door, blank=True)
    target = models.CharField(max_length=255, blank=True, help_text="What it was done to: a recording id, user...")
    summary = models.CharField(max_length=500, help_text="One line a person reads.")
    detail = models.JSONField(default=dict, blank=True, help_text="Particulars: command id, parameters, changes.")

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["kind", "at"], name="audit_kind_at"),
            models.Index(fields=["target", "at"], name="audit_target_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or 'system'} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutable("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("Audit entries cannot be deleted (only AUDIT_RETENTION_DAYS removes them).")
