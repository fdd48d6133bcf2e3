"""Signals for the audit trail, and each sign-in's two-factor standing recorded in its session.

`second_factor(sender, kind, user, request)`: kind is "enrolled", "verified", "recovery_code_used",
"recovery_codes_created" or "failed". A wrong code also sends Django's `user_login_failed` (with the
username), so django-axes counts it like a wrong password; sign-ins send Django's `user_logged_in`.
"""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

second_factor = Signal()


@receiver(user_logged_in, dispatch_uid="accounts.second_factor_standing")
def _record_standing(sender, request, user, **kwargs):
    from accounts.two_factor import STATE_SESSION_KEY, standing_at_sign_in  # two_factor imports this module

    if request is not None and hasattr(request, "session"):
        backend = getattr(user, "backend", None)
        request.session[STATE_SESSION_KEY] = standing_at_sign_in(user, backend).value
