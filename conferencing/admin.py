"""Admin for conferences and participants; bulk actions go through the command bus."""
from django.contrib import admin

from conferencing.models import Conference, Participant
from portal.admin_mixins import (
    CommandActionsMixin,
    LiveChangeListMixin,
    ReadOnlyAdminMixin,
    command_action,
    declared_actions,
)

PRESENT = [Participant.Status.JOINING, Participant.Status.JOINED]


def _present_ids(conference):
    return list(conference.participants.filter(status__in=PRESENT).values_list("call_control_id", flat=True))


def _whole(params=None):
    return lambda conference: [(conference.conference_id, dict(params or {}))]


def _with_everyone(conference):
    ids = _present_ids(conference)
    return [(conference.conference_id, {"call_control_ids": ids})] if ids else []


def _participant(param, as_list=True):
    def plan(participant):
        if participant.status == Participant.Status.LEFT:
            return []
        value = [participant.call_control_id] if as_list else participant.call_control_id
        return [(participant.conference.conference_id, {param: value})]

    return plan


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    can_delete = False
    fields = ["call_control_id", "status", "muted", "on_hold", "supervisor_role", "joined_at", "left_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conference)
class ConferenceAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "recording_state", "region", "created_at", "ended_at", "end_reason"]
    list_filter = ["status", "recording_state", "region", "created_at"]
    search_fields = ["name", "conference_id"]
    date_hierarchy = "created_at"
    inlines = [ParticipantInline]
    actions = [
        *declared_actions("conference", "end", "mute", "unmute", "hold", "stop", "record_pause", "record_resume"),
        command_action("conference.unhold", "Unhold all participants", _with_everyone),
        command_action("conference.record_start", "Start recording (MP3, single channel)", _whole({"format": "mp3", "channels": "single"})),
        command_action("conference.record_stop", "Stop recording", _whole()),
    ]


@admin.register(Participant)
class ParticipantAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "conference", "status", "muted", "on_hold", "supervisor_role", "joined_at", "left_at"]
    list_filter = ["status", "muted", "on_hold", "supervisor_role"]
    search_fields = ["call_control_id", "call_session_id", "label", "conference__name", "conference__conference_id"]
    list_select_related = ["conference"]
    actions = [
        command_action("conference.mute", "Mute", _participant("call_control_ids")),
        command_action("conference.unmute", "Unmute", _participant("call_control_ids")),
        command_action("conference.hold", "Hold", _participant("call_control_ids")),
        command_action("conference.unhold", "Unhold", _participant("call_control_ids")),
        command_action("conference.leave", "Remove from conference", _participant("call_control_id", as_list=False)),
    ]
