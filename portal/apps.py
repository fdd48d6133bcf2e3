"""The project app: command bus, roles, dashboard.

This module loads before any model: what needs the models or the admin is imported in ready() or later.
"""
from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from portal.roles import sync_roles

    sync_roles()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        # Permissions are created app by app after migrate (and after a test flush); re-sync after each
        # app so the groups end complete whatever the app order.
        post_migrate.connect(_sync_roles, dispatch_uid="portal.sync_roles")
        from django.db.backends.signals import connection_created

        from portal.db_priority import follow_process_nice

        connection_created.connect(follow_process_nice, dispatch_uid="portal.follow_process_nice")
        from portal import live_access

        live_access.connect()  # open sockets follow sign-out and changes of rights
        _hide_plaintext_tokens()


def _hide_plaintext_tokens() -> None:
    """DRF's token admin showed every key in clear; tokens are portal.ApiToken digests now (issue 24)."""
    from django.contrib import admin
    from rest_framework.authtoken.models import TokenProxy

    if admin.site.is_registered(TokenProxy):
        admin.site.unregister(TokenProxy)
