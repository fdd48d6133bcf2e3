"""The one field both two-factor steps ask for."""
from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        strip=True,
        label="Code",
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )
