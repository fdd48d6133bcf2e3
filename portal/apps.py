"""The project app: command bus, roles, dashboard."""
from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from portal.roles import sync_roles

    sync_roles()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        # Later migrations add permissions; keep the role groups complete after every migrate.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="portal.sync_roles")
