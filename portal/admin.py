"""Admin for the command audit trail (bulk retry of failed commands) and API tokens (shown once)."""
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError

from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin, admin_once, already_sent
from portal.commands import idempotency, services
from portal.models import ApiToken, Command
from portal.tokens import api_token_create, api_token_revoke


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
        except ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            self.message_user(request, " ".join(f"{k}: {' '.join(map(str, v))}" if k else " ".join(map(str, v))
                                                for k, v in detail.items()), messages.ERROR)
            return
        if replayed:
            self.message_user(request, already_sent("Retry", issued), messages.INFO)
            return
        self.message_user(request, f"Queued {len(issued)} retr{'y' if len(issued) == 1 else 'ies'}.", messages.SUCCESS)

    def has_retry_permission(self, request):
        return request.user.has_perm("portal.retry_command")


class ApiTokenCreateForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(required=False, min_value=1, max_value=3650,
                                         help_text="Empty: the default (API_TOKEN_TTL_DAYS, or never).")

    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed by their first characters; the key itself is shown once, when created."""

    list_display = ["token_key", "name", "user", "created", "expiry", "last_used_at"]
    list_filter = ["created"]
    search_fields = ["token_key", "name", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["token_key", "name", "user", "created", "expiry", "last_used_at"]
    fields = readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
            kwargs["fields"] = ["user", "name", "expires_in_days"]
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.fields if obj else ["user", "name", "expires_in_days"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        days = form.cleaned_data.get("expires_in_days")
        token, key = api_token_create(user=obj.user, name=obj.name, expires_in=timedelta(days=days) if days else None)
        obj.pk, obj.digest = token.pk, token.digest  # the admin's redirect and messages name the new row
        self.message_user(request, f"New token for {obj.user}: {key} — copy it now, it will not be shown again.",
                          messages.WARNING)

    def delete_model(self, request, obj):
        api_token_revoke(token=obj)
