"""Writes for company sign-in: the user found or created by the provider's subject, their role re-synced."""
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import CompanyIdentity
from portal.roles import ROLES

# Roles nest (each holds the one before's permissions), so a person in several mapped groups gets the highest.
ROLE_RANK = list(ROLES)


class NoPortalRole(Exception):
    """The provider's groups claim names no group that OIDC_ROLE_MAP gives a role."""


def groups_from_claims(claims: dict[str, Any]) -> list[str]:
    """The groups claim (OIDC_GROUPS_CLAIM) as a list of strings; a single string counts as one group."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value if isinstance(group, (str, int))]


def role_for_groups(groups: list[str]) -> str | None:
    """The highest portal role any of the groups maps to through OIDC_ROLE_MAP, or None."""
    roles = {settings.OIDC_ROLE_MAP[group] for group in groups if group in settings.OIDC_ROLE_MAP}
    ranked = [role for role in ROLE_RANK if role in roles]
    return ranked[-1] if ranked else None


def _free_username(claims: dict[str, Any]) -> str:
    """The provider's user name (OIDC_USERNAME_CLAIM, else e-mail, else subject), suffixed if already taken."""
    base = str(claims.get(settings.OIDC_USERNAME_CLAIM) or claims.get("email") or claims["sub"])[:150]
    User = get_user_model()
    if not User.objects.filter(username=base).exists():
        return base
    # Taken, e.g. by a break-glass password account of the same name: never reuse it.
    return f"{base[:140]}-{hashlib.sha256(str(claims['sub']).encode()).hexdigest()[:8]}"


def user_role_set(*, user, role: str | None) -> None:
    """Give the user exactly this portal role (others' groups untouched); staff status follows Administrator."""
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    user.is_staff = role == "Administrator"
    user.save(update_fields=["is_staff"])


def company_user_sign_in(*, issuer: str, claims: dict[str, Any]):
    """The portal user for this provider identity: created at the first sign-in, role re-synced at every one.

    Raises NoPortalRole (after taking away any role the user had) when no group maps to a role.
    """
    groups = groups_from_claims(claims)
    role = role_for_groups(groups)
    try:
        user = _identity_sync(issuer=issuer, subject=str(claims["sub"]), claims=claims, groups=groups, role=role)
    except IntegrityError:
        # Two first sign-ins at once (two tabs), or two people given the same free user name: the other
        # transaction won; the second try finds its identity, or picks a suffixed name.
        user = _identity_sync(issuer=issuer, subject=str(claims["sub"]), claims=claims, groups=groups, role=role)
    if role is None:
        raise NoPortalRole(groups)
    return user


@transaction.atomic
def _identity_sync(*, issuer: str, subject: str, claims: dict[str, Any], groups: list[str], role: str | None):
    identity = (
        CompanyIdentity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is None:
        if role is None:
            raise NoPortalRole(groups)
        user = get_user_model().objects.create_user(username=_free_username(claims), password=None)
        identity = CompanyIdentity(user=user, issuer=issuer, subject=subject)
    user = identity.user
    user.email = str(claims.get("email") or user.email)[:254]
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.save(update_fields=["email", "first_name", "last_name"])
    identity.groups = groups
    identity.last_sign_in_at = timezone.now()
    identity.save()
    user_role_set(user=user, role=role)
    return user
