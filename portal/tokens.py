"""Creating and revoking API tokens: the one place a key exists in clear, returned once to its creator."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from portal.models import ApiToken


def api_token_create(*, user, name: str = "", expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the key (shown once, never stored)."""
    options = {} if expires_in is None else {"expiry": expires_in}  # none given: REST_KNOX's TOKEN_TTL
    with transaction.atomic():
        return ApiToken.objects.create(user=user, name=name, **options)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
