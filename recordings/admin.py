"""Admin for recordings."""
from django.contrib import admin

from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin
from recordings.models import Recording


@admin.register(Recording)
class RecordingAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["recording_id", "conference_id", "call_control_id", "format", "channels", "started_at", "saved_at"]
    search_fields = ["recording_id", "conference_id", "call_control_id", "call_session_id"]
    list_filter = ["format", "channels"]
