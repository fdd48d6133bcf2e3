"""Webhook intake app."""
from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhook events"

    def ready(self):
        from webhooks.verification import check_public_keys

        # A malformed TELNYX_PUBLIC_KEY entry is said at start, in every process, not first at a delivery.
        check_public_keys()
