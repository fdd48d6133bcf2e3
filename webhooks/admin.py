"""Read-only admin for webhook events, with a real re-process action."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin
from webhooks.models import WebhookEvent
from webhooks.retries import events_reprocess


@admin.register(WebhookEvent)
class WebhookEventAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_type", "status", "occurred_at", "received_at", "attempts", "call_control_id", "conference_id"]
    list_filter = ["status", "event_type", "received_at"]
    search_fields = ["event_id", "event_type", "call_control_id", "call_session_id", "conference_id", "queue_name", "recording_id"]
    date_hierarchy = "received_at"
    actions = ["reprocess_selected"]
    show_full_result_count = False
    # The raw body and payload may carry recording links: shown masked, per user, like every other door.
    exclude = ["raw_body", "payload"]

    def get_readonly_fields(self, request, obj=None):
        import json

        from django.utils.html import format_html

        from webhooks.selectors import payload_for

        def payload(event):
            return format_html("<pre>{}</pre>", json.dumps(payload_for(event, request.user), indent=2, sort_keys=True))

        payload.short_description = "Payload"
        return [*super().get_readonly_fields(request, obj), payload]

    @admin.action(description="Re-process selected events", permissions=["reprocess"])
    def reprocess_selected(self, request, queryset):
        try:
            count = events_reprocess(queryset=queryset, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Queued {count} event(s) for processing.", messages.SUCCESS)

    def has_reprocess_permission(self, request):
        return request.user.has_perm("webhooks.reprocess_webhookevent")
