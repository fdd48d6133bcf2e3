"""Admin for conferences and participants; bulk actions go through the command bus."""
from django.contrib import admin
from django.utils.html import format_html

from conferencing.models import Conference, Participant
from portal.admin_mixins import (
    CommandActionsMixin,
    LiveChangeListMixin,
    ReadOnlyAdminMixin,
    command_action,
    declared_actions,
)
from portal.templatetags.portal_format import format_seconds

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


def _participant_who(participant) -> str:
    return format_html('<span title="call_control_id {}">{}</span>', participant.call_control_id, participant.display_name)


def _participant_time(participant) -> str:
    if participant.joined_at and participant.left_at:
        return format_seconds((participant.left_at - participant.joined_at).total_seconds())
    return "in the call" if participant.is_present and participant.joined_at else "—"


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    can_delete = False
    fields = ["who", "status", "muted", "on_hold", "supervisor_role", "joined_at", "left_at", "time_in"]
    readonly_fields = fields

    @admin.display(description="Who")
    def who(self, participant):
        return _participant_who(participant)

    @admin.display(description="Time in (h:mm:ss)")
    def time_in(self, participant):
        return _participant_time(participant)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conference)
class ConferenceAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "recording_state", "region", "created_at", "ended_at", "length", "end_reason"]
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

    @admin.display(description="Length (h:mm:ss)")
    def length(self, conference):
        if conference.created_at and conference.ended_at:
            return format_seconds((conference.ended_at - conference.created_at).total_seconds())
        return "running" if conference.is_active else "—"


@admin.register(Participant)
class ParticipantAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["who", "conference", "status", "muted", "on_hold", "supervisor_role", "joined_at", "left_at", "time_in"]
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

    @admin.display(description="Who", ordering="label")
    def who(self, participant):
        return _participant_who(participant)

    @admin.display(description="Time in (h:mm:ss)")
    def time_in(self, participant):
        return _participant_time(participant)
