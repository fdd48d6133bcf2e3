"""Admin for the command audit trail, with bulk retry of failed commands."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin, admin_once, already_sent
from portal.commands import idempotency, services
from portal.models import Command


@admin.register(Command)
class CommandAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["action", "target", "status", "attempts", "requested_by", "door", "created_at", "finished_at"]
    list_filter = ["status", "door", "action", "created_at"]
    search_fields = ["action", "target", "command_id", "requested_by__username", "error_detail"]
    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]
    actions = ["retry_selected"]

    @admin.action(description="Retry selected failed or outcome-unknown commands", permissions=["retry"])
    def retry_selected(self, request, queryset):
        try:
            issued, replayed = admin_once(
                request, lambda: services.commands_retry(queryset=queryset, user=request.user, door=Command.Door.ADMIN)
            )
        except (PermissionDenied, idempotency.KeyReused) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if replayed:
            self.message_user(request, already_sent("Retry", issued), messages.INFO)
            return
        self.message_user(request, f"Queued {len(issued)} retr{'y' if len(issued) == 1 else 'ies'}.", messages.SUCCESS)

    def has_retry_permission(self, request):
        return request.user.has_perm("portal.retry_command")
