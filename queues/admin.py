"""Admin for queues and queued callers; every bulk action issues commands through the command bus."""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from rest_framework.exceptions import ValidationError

from portal.admin_mixins import (
    CommandActionsMixin,
    LiveChangeListMixin,
    ReadOnlyAdminMixin,
    admin_once,
    already_sent,
    command_action,
    declared_actions,
)
from portal.commands import services as commands
from portal.commands.idempotency import KeyReused
from portal.models import Command
from queues.models import Queue, QueuedCall


class DeletedFilter(admin.SimpleListFilter):
    title = "on Telnyx"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Present"), ("yes", "Deleted or gone")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class WaitingFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting"), ("left", "Left")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(left_at__isnull=True)
        if self.value() == "left":
            return queryset.filter(left_at__isnull=False)
        return queryset


class MaxSizeForm(forms.Form):
    max_size = forms.IntegerField(min_value=1, label="New max size")


def change_max_size(modeladmin, request, queryset):
    """Ask for the new max size, then issue queue.update for each selected queue."""
    form = MaxSizeForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return TemplateResponse(request, "queues/admin_max_size.html", {
            **modeladmin.admin_site.each_context(request), "title": "Change max size", "form": form, "objects": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "opts": modeladmin.model._meta,
        })
    problems = []

    def issue():
        issued = []
        for queue in queryset:
            try:
                issued.append(commands.command_issue(
                    action_name="queue.update", target=queue.name, params={"max_size": form.cleaned_data["max_size"]},
                    user=request.user, door=Command.Door.ADMIN,
                ))
            except ValidationError as exc:
                problems.append(f"{queue}: {exc.detail}")
        return issued

    try:
        issued, replayed = admin_once(request, issue)  # a resubmitted form changes nothing twice
    except (PermissionDenied, KeyReused) as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return None
    if replayed:
        modeladmin.message_user(request, already_sent("Change max size", issued), messages.INFO)
        return None
    if issued:
        modeladmin.message_user(request, f"Change max size: queued {len(issued)} command(s).", messages.SUCCESS)
    if problems:
        modeladmin.message_user(request, "Not queued: " + "; ".join(problems), messages.WARNING)
    return None


change_max_size.short_description = "Change max size"
change_max_size.command_action_name = "queue.update"


def _named(admin_action, name: str):
    """Two admin actions may issue the same command with other parameters: give each its own name."""
    admin_action.__name__ = name
    return admin_action


def _waiting_call(params=None):
    def plan(stay):
        if stay.left_at is not None:
            return []
        return [(stay.queue.name, {"call_control_id": stay.call_control_id, **(params or {})})]

    return plan


@admin.register(Queue)
class QueueAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "waiting", "max_size", "current_size", "service_level_target_secs", "service_level_goal_percent",
                    "created_at", "deleted_at"]
    list_filter = [DeletedFilter, "created_at"]
    search_fields = ["name", "telnyx_id"]
    actions = [
        *declared_actions("queue", "delete"),
        _named(command_action("queue.delete", "Delete queue even with callers waiting", lambda q: [(q.name, {"force": True})]),
               "issue_queue_delete_forced"),
        change_max_size,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(waiting_now=Count("calls", filter=Q(calls__left_at__isnull=True)))

    @admin.display(ordering="waiting_now", description="waiting now")
    def waiting(self, obj):
        return obj.waiting_now


@admin.register(QueuedCall)
class QueuedCallAdmin(CommandActionsMixin, LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["call_control_id", "queue", "from_number", "position", "enqueued_at", "left_at", "leave_reason",
                    "wait_time_secs", "is_alive", "keep_after_hangup"]
    list_filter = [WaitingFilter, "queue", "leave_reason", "is_alive", "keep_after_hangup", "enqueued_at"]
    search_fields = ["call_control_id", "call_session_id", "from_number", "to_number", "queue__name"]
    list_select_related = ["queue"]
    date_hierarchy = "enqueued_at"
    actions = [
        command_action("queue.remove_call", "Force-remove from queue", _waiting_call()),
        _named(command_action("queue.update_call", "Keep in line after hangup", _waiting_call({"keep_after_hangup": True})),
               "issue_queue_keep_after_hangup"),
        _named(command_action("queue.update_call", "Do not keep after hangup", _waiting_call({"keep_after_hangup": False})),
               "issue_queue_drop_after_hangup"),
    ]
