"""API token authentication: hashed keys (django-rest-knox), failures counted toward django-axes's lockout."""
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

LAST_USED_RESOLUTION_SECONDS = 60


class LockoutTokenAuthentication(TokenAuthentication):
    """Hashed tokens (knox) sent as `Authorization: Token <key>`; a guesser is locked out like one at the
    sign-in page, and each token's last use is kept (to the minute: one write a minute, not per request)."""

    def authenticate(self, request):
        if not get_authorization_header(request):
            return None  # no token offered: nothing to count (session auth may follow)
        django_request = request._request
        if AxesProxyHandler.is_locked(django_request, {}):
            raise exceptions.Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                detail="Too many failed sign-ins from this address; try again later.",
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            # The key itself is never recorded: axes logs the username, here none.
            user_login_failed.send(sender=type(self), credentials={}, request=django_request)
            raise

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token


def lockout_response(request, original_response=None, credentials=None):
    """django-axes's answer to a locked-out sign-in: the API's JSON error shape under /api/, else a page."""
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path_info.startswith("/api/"):
        response = JsonResponse(
            {"message": "Too many failed sign-ins from this address; try again later."}, status=429
        )
    else:
        minutes = max(wait // 60, 1)
        response = render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)
    response["Retry-After"] = str(wait)
    return response


def lockout_parameters(request_or_attempt, credentials=None):
    """By account and by address for a sign-in with a username; by address alone for an API token."""
    if credentials is not None and not credentials.get(settings.AXES_USERNAME_FORM_FIELD):
        return ["ip_address"]
    return ["username", "ip_address"]
