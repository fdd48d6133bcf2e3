"""The forms for alert rules and channels, shared by the portal pages and the admin (issue 26)."""
from django import forms

from alerts.models import AlertChannel, AlertRule
from alerts.validation import scope_error, target_error
from queues.models import Queue


class AlertRuleForm(forms.ModelForm):
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.filter(deleted_at__isnull=True).order_by("name"), required=False, to_field_name="name",
        empty_label="Every queue (queue metrics) or the system", help_text="Empty: every queue, or the system.",
    )
    channels = forms.ModelMultipleChoiceField(
        queryset=AlertChannel.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Where its alerts are sent.",
    )
    for_secs = forms.IntegerField(min_value=0, max_value=86400, initial=60, label="Hold (seconds)",
                                  help_text="The condition must hold this long before it fires.")

    class Meta:
        model = AlertRule
        fields = ["name", "metric", "queue", "operator", "threshold", "for_secs", "severity", "channels", "enabled"]

    def clean(self):
        cleaned = super().clean()
        if error := scope_error(cleaned.get("metric"), cleaned.get("queue")):
            self.add_error("queue", error)
        return cleaned

    def service_fields(self) -> dict:
        """The validated fields as the rule services take them (channels apart)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "channels"}


CHANNEL_FIELDS = ["name", "kind", "target", "send_on_acknowledge"]


class AlertChannelForm(forms.ModelForm):
    secret = forms.CharField(required=False, max_length=500, widget=forms.PasswordInput(render_value=False),
                             help_text="Webhook signing secret: stored encrypted, never shown. Leave empty to keep it.")
    forget_secret = forms.BooleanField(required=False, label="Forget the stored secret (send unsigned)")

    class Meta:
        model = AlertChannel
        fields = CHANNEL_FIELDS

    def clean(self):
        cleaned = super().clean()
        if "target" in cleaned and (error := target_error(cleaned.get("kind"), cleaned["target"])):
            self.add_error("target", error)
        if cleaned.get("secret") and cleaned.get("forget_secret"):
            self.add_error("forget_secret", "Either give a new secret or forget the stored one, not both.")
        return cleaned

    def service_fields(self) -> dict:
        # Not Meta.fields: the admin's form class lists its extra fields there too.
        return {name: self.cleaned_data[name] for name in CHANNEL_FIELDS}

    def secret_change(self) -> str | None:
        """For the channel services: None keeps the stored secret, "" forgets it, anything else replaces it."""
        if self.cleaned_data.get("forget_secret"):
            return ""
        return self.cleaned_data.get("secret") or None
