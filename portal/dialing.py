"""Dialing out (issue 28): allowed destinations, the dial request every dialing action sends, and its marker.

A dial costs money and reaches the outside world, so every destination is checked against
DIAL_ALLOWED_PREFIXES before anything is queued. The leg a dial creates is tied back to its command by a
client_state marker, which Telnyx echoes on every webhook of that leg, whichever arrives first: the
command's answer or the leg's call.initiated.
"""
from __future__ import annotations

import base64
import binascii
import re

from django.conf import settings
from rest_framework import serializers

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SIP_URI = re.compile(r"^sips?:[^@\s]+@[^\s@]+$", re.IGNORECASE)
MARKER_PREFIX = "portal-dial:"
# base64 of MARKER_PREFIX (12 bytes: no padding), so most client states are dismissed without decoding.
ENCODED_PREFIX = base64.b64encode(MARKER_PREFIX.encode()).decode()


def destination_refusal(value: str) -> str | None:
    """Why `value` may not be dialed here, or None: it must be E.164 or a SIP URI, and allowed."""
    if not (E164.match(value) or SIP_URI.match(value)):
        return "Enter a number in E.164 form (+15551234567) or a SIP URI (sip:alice@example.com)."
    allowed = settings.DIAL_ALLOWED_PREFIXES
    if allowed and not any(value.startswith(prefix) for prefix in allowed):
        return f"Dialing {value} is not allowed: destinations must start with {', '.join(allowed)}."
    return None


class DestinationField(serializers.CharField):
    """A destination Telnyx dials: an E.164 number or a SIP URI that DIAL_ALLOWED_PREFIXES allows."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("help_text", "A number in E.164 form (+15551234567) or a SIP URI.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip()
        refusal = destination_refusal(value)
        if refusal:
            raise serializers.ValidationError(refusal)
        return value


def refuse_unless_configured(*, caller_id_given: bool = False) -> None:
    """A dial needs the connection it is placed on and, unless the request names one, a caller id."""
    missing = [name for name, value in (("TELNYX_CONNECTION_ID", settings.TELNYX_CONNECTION_ID),
                                        ("DIAL_FROM_NUMBER", settings.DIAL_FROM_NUMBER)) if not value]
    if caller_id_given and "DIAL_FROM_NUMBER" in missing:
        missing.remove("DIAL_FROM_NUMBER")
    if missing:
        raise serializers.ValidationError(
            {"non_field_errors": [f"Dialing is not set up on this portal: set {' and '.join(missing)}."]}
        )


def marker(command_id) -> str:
    """The client_state a dial carries: base64 of "portal-dial:<command_id>"."""
    return base64.b64encode(f"{MARKER_PREFIX}{command_id}".encode()).decode()


def command_id_from(client_state: str) -> str | None:
    """The command_id in a dial's marker, or None for any other client state."""
    if not client_state or not client_state.startswith(ENCODED_PREFIX):
        return None
    try:
        text = base64.b64decode(client_state, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text.removeprefix(MARKER_PREFIX) or None


def dial_request(command, **extra) -> dict:
    """The SDK keywords of `client.calls.dial` for a dialing command (issue 28).

    command_id is sent so Telnyx can drop a repeat, but the dial is not treated as safe to repeat after
    a timeout or 5xx (the action does not declare it): a second ring costs money and a person's time.
    """
    return {
        "connection_id": settings.TELNYX_CONNECTION_ID,
        "from_": command.params.get("from") or settings.DIAL_FROM_NUMBER,
        "to": command.params["to"],
        "command_id": str(command.command_id),
        "client_state": marker(command.command_id),
        **{k: v for k, v in extra.items() if v not in (None, "", [])},
    }
