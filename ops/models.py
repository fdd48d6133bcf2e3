"""Signs of life shared by every process: one row per worker, beat, web process and sync kind."""
from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of one process, or the last run of one sync; rewritten in place.

    Rows live in the database (not in a process's memory) so readiness, the System page and metrics
    answer the same on every machine. A process that stops writing goes stale after HEARTBEAT_STALE_SECONDS.
    """

    class Kind(models.TextChoices):
        WORKER = "worker", "Celery worker"
        BEAT = "beat", "Celery beat"
        WEB = "web", "Web process (live sockets)"
        SYNC = "sync", "Sync with Telnyx"

    kind = models.CharField(max_length=16, choices=Kind)
    name = models.CharField(max_length=200, help_text="Worker node and pid, web host and pid, or the sync's name.")
    seen_at = models.DateTimeField(help_text="Last heartbeat, or when the sync last finished.")
    detail = models.JSONField(
        default=dict, blank=True,
        help_text="Worker: queues and pid. Web: open live sockets. Sync: outcome, counts or error, last success.",
    )

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="heartbeat_once_per_kind_name")]
        indexes = [models.Index(fields=["kind", "seen_at"], name="heartbeat_kind_seen")]
        permissions = [("view_system", "Can view the System page (health, backlog, heartbeats)")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"
