"""Two-factor sign-in for password accounts (django-otp): where a session stands, enrolment, codes, verification.

A session's standing is decided once, when the password is accepted (accounts/signals.py), and kept in the
session, so pages pay no query for it: the middleware, the admin site and the websocket only read it.
"""
import enum
import math

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.signals import second_factor

STATE_SESSION_KEY = "portal_second_factor"
COMPANY_BACKEND = "accounts.oidc.CompanyOIDCBackend"
RECOVERY_CODE_COUNT = 10


class Standing(enum.StrEnum):
    COMPANY = "company"  # signed in by the company's provider, which owns the factors
    VERIFIED = "verified"  # the password and a second factor
    NOT_REQUIRED = "not_required"  # the password; no device and none required
    VERIFY = "verify"  # the password; a second factor is still to be given
    ENROL = "enrol"  # the password; an Administrator who must first enrol (REQUIRE_2FA_FOR_ADMINS)

    @property
    def pending(self) -> bool:
        return self in (Standing.VERIFY, Standing.ENROL)


class InvalidCode(Exception):
    """The code matched no device of the user."""


class TooManyAttempts(Exception):
    """django-otp's throttle: wrong codes double the wait before the next try."""

    def __init__(self, wait_seconds: int):
        super().__init__(f"wait {wait_seconds} s")
        self.wait_seconds = wait_seconds


def is_administrator(user) -> bool:
    return user.is_superuser or user.groups.filter(name="Administrator").exists()


def standing_at_sign_in(user, backend: str | None) -> Standing:
    """What a session just signed in still owes: computed from the user's devices and role."""
    if backend == COMPANY_BACKEND:
        return Standing.COMPANY
    if any(True for _ in devices_for_user(user, confirmed=True)):
        return Standing.VERIFY
    if settings.REQUIRE_2FA_FOR_ADMINS and is_administrator(user):
        return Standing.ENROL
    return Standing.NOT_REQUIRED


def session_standing(session, user) -> Standing:
    """The session's standing; a session signed in before this feature existed is assessed once, here."""
    if not user.is_authenticated:
        return Standing.NOT_REQUIRED
    stored = session.get(STATE_SESSION_KEY)
    if stored in Standing._value2member_map_:
        return Standing(stored)
    standing = standing_at_sign_in(user, session.get(BACKEND_SESSION_KEY))
    session[STATE_SESSION_KEY] = standing.value
    return standing


def mark_verified(request, device) -> None:
    """The session has given its second factor: a fresh session key, and django-otp's record of the device."""
    request.session.cycle_key()
    otp_login(request, device)
    request.session[STATE_SESSION_KEY] = Standing.VERIFIED.value


def totp_device_for_enrolment(*, user) -> TOTPDevice:
    """The user's unconfirmed authenticator (a fresh key), reused while enrolment is unfinished."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def recovery_codes_replace(*, user, request=None) -> list[str]:
    """Ten new single-use recovery codes (django-otp's static device); the old ones stop working.

    The codes are returned once, to be shown once: only the device holds them afterwards.
    """
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    second_factor.send(sender=StaticDevice, kind="recovery_codes_created", user=user, request=request)
    return codes


def totp_enrolment_confirm(*, user, device: TOTPDevice, code: str, request=None) -> list[str]:
    """Confirm the authenticator with a code it shows; replaces any earlier one; returns new recovery codes."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
        _check_allowed(device)
        if not device.verify_token(_normalise(code)):
            raise InvalidCode
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    second_factor.send(sender=TOTPDevice, kind="enrolled", user=user, request=request)
    return recovery_codes_replace(user=user, request=request)


def second_factor_verify(*, user, code: str, request=None):
    """The device that accepts the code: a 6-digit code is the authenticator's, anything else a recovery code.

    Raises TooManyAttempts while django-otp's throttle holds, InvalidCode for a wrong code.
    """
    code = _normalise(code)
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    with transaction.atomic():
        devices = list(model.objects.select_for_update().filter(user=user, confirmed=True))
        for device in devices:
            _check_allowed(device)
        accepted = next((device for device in devices if device.verify_token(code)), None)
    if accepted is None:
        second_factor.send(sender=model, kind="failed", user=user, request=request)
        raise InvalidCode
    kind = "verified" if model is TOTPDevice else "recovery_code_used"
    second_factor.send(sender=model, kind=kind, user=user, request=request)
    return accepted


def _normalise(code: str) -> str:
    return "".join(str(code).split()).lower()[:32]


def _check_allowed(device) -> None:
    allowed, data = device.verify_is_allowed()
    if not allowed:
        locked_until = (data or {}).get("locked_until") or timezone.now()
        raise TooManyAttempts(max(1, math.ceil((locked_until - timezone.now()).total_seconds())))
