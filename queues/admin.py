"""Admin for queues and queued callers (read-only: webhooks are the source)."""
from django.contrib import admin

from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin
from queues.models import Queue, QueuedCall


@admin.register(Queue)
class QueueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "max_size", "average_wait_secs", "created_at"]
    search_fields = ["name"]


@admin.register(QueuedCall)
class QueuedCallAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["call_control_id", "queue", "position", "enqueued_at", "left_at", "leave_reason"]
    list_filter = ["queue", "leave_reason"]
    search_fields = ["call_control_id", "queue__name"]
