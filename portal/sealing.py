"""Secret command parameters encrypted at rest (cryptography's MultiFernet: the first key seals, every key opens).

SEALED_PARAMS_KEYS lists Fernet keys, newest first; rotating means putting a new key in front and, once
no command older than the change can still be sent, dropping the old one. Without the setting, one key is
derived from SECRET_KEY so a development checkout needs nothing. A sealed value is only ever needed
until its command reaches a final state, when it is forgotten (portal/commands/services.py).
"""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SEALED = "sealed"


class SealBroken(Exception):
    """The keys that sealed these values are gone: the command must not be sent without them."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(b"portal.sealed_params|" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"SEALED_PARAMS_KEYS holds a key that is not a Fernet key ({exc}).") from None


def _current() -> MultiFernet:
    return _fernet(tuple(settings.SEALED_PARAMS_KEYS), settings.SECRET_KEY)


def seal(values: dict) -> dict:
    """What the command row stores: {} for nothing, else one opaque token."""
    if not values:
        return {}
    return {SEALED: _current().encrypt(json.dumps(values).encode()).decode()}


def unseal(stored: dict | None) -> dict:
    """The secret values back ({} when nothing is sealed); SealBroken when the keys that sealed them are gone."""
    if not stored:
        return {}
    token = stored.get(SEALED)
    if token is None:
        return dict(stored)  # written before sealing existed (plain values); forgotten at its final state
    try:
        return json.loads(_current().decrypt(token.encode()))
    except InvalidToken:
        raise SealBroken("The secret parameters cannot be decrypted with SEALED_PARAMS_KEYS.") from None
