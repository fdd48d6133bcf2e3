"""Writes of the portal's own per-user state (the commands have theirs in portal/commands/services.py)."""
from portal.models import Profile


def profile_phone_remember(*, user, phone_number: str) -> Profile:
    """Keep the number a user listened in from, so the call page offers it next time (issue 28)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    if profile.phone_number != phone_number:
        profile.phone_number = phone_number[:255]
        profile.save(update_fields=["phone_number"])
    return profile
