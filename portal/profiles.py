"""Reads of a user's portal profile (the phone a Supervisor listens in from)."""
from __future__ import annotations

from portal.models import Profile


def profile_phone(user) -> str:
    """The phone a user last listened in from (empty if none yet)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    return Profile.objects.filter(user=user).values_list("phone_number", flat=True).first() or ""
