"""The audit trail as its own app inside the project package: its own migrations and permission label."""
from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from portal.audit import receivers

        receivers.connect()
