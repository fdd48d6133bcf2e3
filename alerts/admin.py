"""Admin for alerts: rules and channels saved through the services; alerts read-only with an acknowledge action."""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from rest_framework import serializers

from alerts import services
from alerts.forms import AlertChannelForm, AlertRuleForm
from alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule
from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "metric", "operator", "threshold", "for_secs", "queue", "severity", "enabled", "is_default"]
    list_filter = ["enabled", "severity", "metric", "is_default"]
    form = AlertRuleForm
    fields = ["name", "metric", "queue", "operator", "threshold", "for_secs", "severity", "channels", "enabled"]

    def save_model(self, request, obj, form, change):
        data = form.service_fields()
        channels = form.cleaned_data.get("channels", [])
        if change:
            services.alert_rule_update(rule=obj, user=request.user, channels=channels, **data)
        else:
            obj.pk = services.alert_rule_create(user=request.user, channels=channels, **data).pk

    def save_related(self, request, form, formsets, change):
        """The service set the channels already."""

    def delete_model(self, request, obj):
        services.alert_rule_delete(rule=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            services.alert_rule_delete(rule=rule, user=request.user)


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ["name", "kind", "target", "has_secret", "send_on_acknowledge"]
    actions = ["send_test"]

    def save_model(self, request, obj, form, change):
        data, secret = form.service_fields(), form.secret_change()
        if change:
            services.alert_channel_update(channel=obj, user=request.user, secret=secret, **data)
        else:
            obj.pk = services.alert_channel_create(user=request.user, secret=secret or "", **data).pk

    def delete_model(self, request, obj):
        services.alert_channel_delete(channel=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for channel in queryset:
            services.alert_channel_delete(channel=channel, user=request.user)

    @admin.action(description="Send a test through the selected channels", permissions=["test"])
    def send_test(self, request, queryset):
        for channel in queryset:
            services.alert_channel_send_test(channel=channel, user=request.user)
        self.message_user(request, f"{queryset.count()} test(s) queued; see Alert deliveries for the outcome.")

    def has_test_permission(self, request):
        return request.user.has_perm("alerts.test_alertchannel")


class AcknowledgeActionForm(ActionForm):
    note = forms.CharField(required=False, max_length=2000, label="Note",
                           help_text="Optional note kept with the acknowledgement (and in the audit trail).")


@admin.register(Alert)
class AlertAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["rule_name", "severity", "status", "scope", "value", "opened_at", "acknowledged_by", "resolved_at"]
    list_filter = ["status", "severity", "metric"]
    search_fields = ["rule_name", "scope", "note"]
    date_hierarchy = "opened_at"
    actions = ["acknowledge"]
    action_form = AcknowledgeActionForm

    @admin.action(description="Acknowledge the selected open alerts", permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        done, note = 0, request.POST.get("note", "")
        for alert in queryset.filter(status=Alert.Status.OPEN):
            try:
                services.alert_acknowledge(alert=alert, user=request.user, note=note)
                done += 1
            except (serializers.ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"{alert}: {exc}", messages.ERROR)
        self.message_user(request, f"{done} alert(s) acknowledged.")

    def has_acknowledge_permission(self, request):
        return request.user.has_perm(services.ACKNOWLEDGE)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "channel", "event", "alert", "status", "attempts", "response_status", "last_error"]
    list_filter = ["status", "event", "channel"]
