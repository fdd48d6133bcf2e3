"""Admin for call legs (read-only: Telnyx's webhooks are the source); bulk actions go through the command bus."""
from django.contrib import admin

from calls.models import Call, TranscriptFragment
from portal.admin_mixins import CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, command_action


def _when(condition, params=None):
    """Plan one command per selected call for which `condition(call)` holds (others: nothing to do)."""
    return lambda call: [(call.call_control_id, dict(params or {}))] if call.is_active and condition(call) else []


class TranscriptInline(admin.TabularInline):
    model = TranscriptFragment
    extra = 0
    can_delete = False
    fields = ["occurred_at", "track", "is_final", "confidence", "text"]
    readonly_fields = fields
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("calls.view_call")


@admin.register(Call)
class CallAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "call_control_id", "from_number", "to_number", "direction", "state", "recording_state", "streaming",
        "transcribing", "queue_name", "conference_id", "started_at", "ended_at",
    ]
    list_filter = [
        "state", "direction", "recording_state", "playing", "speaking", "forking", "streaming", "transcribing", "siprec",
        "noise_suppression", "machine_detection", "started_at",
    ]
    search_fields = ["call_control_id", "call_session_id", "call_leg_id", "from_number", "to_number", "queue_name",
                     "conference_id"]
    date_hierarchy = "started_at"
    inlines = [TranscriptInline]
    actions = [
        # Destructive: the admin asks for confirmation first (portal/admin_mixins.py).
        command_action("call.hangup", "Hang up selected calls", _when(lambda c: True)),
        command_action("call.record_stop", "Stop recording", _when(lambda c: c.recording_state != Call.RecordingState.IDLE)),
        command_action("call.streaming_stop", "Stop streaming", _when(lambda c: c.streaming)),
        command_action("call.transcription_stop", "Stop transcription", _when(lambda c: c.transcribing)),
        command_action("call.leave_queue", "Take out of its queue", _when(lambda c: bool(c.queue_name))),
    ]
