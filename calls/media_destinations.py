"""Where a call's audio may be sent (streams, forks): MEDIA_DESTINATIONS_ALLOWED (issue 24)."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from rest_framework import serializers


def media_destination_allowed(destination: str) -> bool:
    """Whether a call's audio may be sent to `destination` (a stream URL or a fork's udp:host:port).

    MEDIA_DESTINATIONS_ALLOWED holds URL prefixes (with "://") and host names; empty allows any.
    Sending a call's audio somewhere is listening to it (issue 24): an allow-list keeps it in-house.
    """
    allowed = settings.MEDIA_DESTINATIONS_ALLOWED
    if not allowed:
        return True
    if destination.startswith("udp:"):
        host = destination[4:].rsplit(":", 1)[0].strip("[]")
    else:
        try:
            host = urlsplit(destination).hostname or ""
        except ValueError:
            return False
    for entry in allowed:
        if "://" in entry:
            if destination.startswith(entry):
                return True
        elif host and host.lower() == entry.lower():
            return True
    return False


def refuse_unlisted_media(attrs, *fields):
    """400 with a message on each field whose destination is not allowed."""
    refused = {f: "Not an allowed media destination (MEDIA_DESTINATIONS_ALLOWED)." for f in fields
               if attrs.get(f) and not media_destination_allowed(attrs[f])}
    if refused:
        raise serializers.ValidationError(refused)
