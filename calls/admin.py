"""Admin for call legs (read-only: Telnyx's webhooks are the source)."""
from django.contrib import admin

from calls.models import Call
from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin


@admin.register(Call)
class CallAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["call_control_id", "from_number", "to_number", "direction", "state", "started_at", "ended_at"]
    list_filter = ["state", "direction"]
    search_fields = ["call_control_id", "call_session_id", "from_number", "to_number"]
