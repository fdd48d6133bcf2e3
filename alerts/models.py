"""Alert rules, delivery channels, the alerts they raise and every delivery attempt (issue 26)."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Metric(models.TextChoices):
    LONGEST_WAIT_SECS = "longest_wait_secs", "Longest wait now (s)"
    CALLERS_WAITING = "callers_waiting", "Callers waiting now"
    SERVICE_LEVEL_PERCENT = "service_level_percent", "Service level today (%)"
    ABANDON_RATE_PERCENT = "abandon_rate_percent", "Abandon rate, last hour (%)"
    FAILED_COMMANDS = "failed_commands", "Failed commands, last 15 min"
    FAILED_EVENTS = "failed_events", "Failed events, last 15 min"
    WEBHOOK_LAG_SECS = "webhook_lag_secs", "Oldest pending event (s)"
    WORKERS_MISSING = "workers_missing", "Task queues without a worker (+1 if beat is gone)"


QUEUE_METRICS = {Metric.LONGEST_WAIT_SECS, Metric.CALLERS_WAITING, Metric.SERVICE_LEVEL_PERCENT, Metric.ABANDON_RATE_PERCENT}


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertChannel(models.Model):
    """Where alerts are sent: e-mail addresses, or a URL that takes a signed JSON POST."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind)
    target = models.TextField(help_text="E-mail: comma-separated addresses. Webhook: the https URL to POST to.")
    sealed_secret = models.JSONField(
        default=dict, blank=True, help_text="The webhook's signing secret, encrypted (portal/sealing.py); never shown."
    )
    send_on_acknowledge = models.BooleanField(default=False, help_text="Also send when someone acknowledges.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        permissions = [("test_alertchannel", "Can send a test through an alert channel")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.sealed_secret)


class AlertRule(models.Model):
    """A condition on one metric: `metric operator threshold` held for `for_secs` opens an alert."""

    class Operator(models.TextChoices):
        ABOVE = ">", "above (>)"
        BELOW = "<", "below (<)"

    name = models.CharField(max_length=100)
    metric = models.CharField(max_length=32, choices=Metric)
    queue = models.ForeignKey(
        "queues.Queue", null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules",
        help_text="Only this queue; empty = every queue (queue metrics) or the system.",
    )
    operator = models.CharField(max_length=1, choices=Operator, default=Operator.ABOVE)
    threshold = models.FloatField()
    for_secs = models.PositiveIntegerField(default=60, help_text="The condition must hold this long before it fires.")
    severity = models.CharField(max_length=16, choices=Severity, default=Severity.WARNING)
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Installed by the portal (disabled until enabled).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def condition(self) -> str:
        return f"{self.metric} {self.operator} {self.threshold:g} for {self.for_secs} s"

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return value > self.threshold if self.operator == self.Operator.ABOVE else value < self.threshold


class Breach(models.Model):
    """A rule's condition seen true for one scope since `since` (not yet an alert until for_secs passed)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="breaches")
    scope = models.CharField(max_length=300, help_text='"queue:<name>" or "system".')
    since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "scope"], name="breach_one_per_rule_scope")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.scope} since {self.since:%H:%M:%S}"


class Alert(models.Model):
    """One alert per rule and scope while its condition holds: open -> acknowledged -> resolved."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, null=True, on_delete=models.SET_NULL, related_name="alerts")
    rule_name = models.CharField(max_length=100, help_text="The rule's name when it fired (kept if the rule goes).")
    scope = models.CharField(max_length=300)
    queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    metric = models.CharField(max_length=32, choices=Metric)
    operator = models.CharField(max_length=1)
    threshold = models.FloatField()
    severity = models.CharField(max_length=16, choices=Severity)
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    value = models.FloatField(null=True, help_text="The metric's value when the alert fired (or came back).")
    opened_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        permissions = [("acknowledge_alert", "Can acknowledge alerts")]
        constraints = [
            models.UniqueConstraint(fields=["rule", "scope"], condition=Q(resolved_at__isnull=True),
                                    name="alert_one_unresolved_per_rule_scope"),
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="alert_status_opened")]

    def __str__(self) -> str:
        return f"{self.rule_name} ({self.where})"

    @property
    def where(self) -> str:
        return self.scope.removeprefix("queue:") if self.scope.startswith("queue:") else "System"

    @property
    def duration_secs(self) -> int | None:
        if self.resolved_at is None:
            return None
        return max(0, int((self.resolved_at - self.opened_at).total_seconds()))

    @property
    def summary(self) -> str:
        value = "—" if self.value is None else f"{self.value:g}"
        return f"{self.get_metric_display()} {self.operator} {self.threshold:g} (was {value}) in {self.where}"


class AlertDelivery(models.Model):
    """One message for one channel: on fire, acknowledge, resolve, or a test; every attempt's outcome."""

    class Event(models.TextChoices):
        FIRED = "fired", "Fired"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        TEST = "test", "Test"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16, choices=Event)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.get_event_display()} to {self.channel_id}: {self.status}"
