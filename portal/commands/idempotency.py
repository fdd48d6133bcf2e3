"""Idempotency at the doors: a request repeated under the same key answers with the commands it first issued.

The API reads the `Idempotency-Key` header, page forms and admin confirmations carry a one-time token
(`{% form_token %}`). Keys are per user and live 24 h. A repeat with another method, path or body is
refused (422), as the IETF draft "The Idempotency-Key HTTP Header Field" recommends, since it is a
client bug to fix, not a request to send again.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.models import Command, IdempotencyKey

WINDOW = timezone.timedelta(hours=24)
HEADER = "Idempotency-Key"
# Printable ASCII without spaces at the ends, as the draft's "sf-string"; 255 is Stripe's limit too.
VALID_KEY = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,253}[\x21-\x7e]$|^[\x21-\x7e]$")


class KeyReused(Exception):
    """The key was first used for another request: nothing is issued."""

    def __init__(self, commands: list[Command]):
        self.commands = commands
        numbers = ", ".join(f"#{c.pk}" for c in commands) or "none"
        super().__init__(
            f"This key was already used for a different request (command {numbers}). "
            "Use a new key for a new request."
        )


def valid_key(key: str) -> bool:
    return bool(VALID_KEY.match(key))


def fingerprint(method: str, path: str, body) -> str:
    """What makes two requests "the same": method, path and body (key order aside)."""
    document = json.dumps([method.upper(), path, body], sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()


def once(*, user, key: str | None, fingerprint: str, issue: Callable[[], list[Command]]) -> tuple[list[Command], bool]:
    """Run `issue` at most once per (user, key) in 24 h: (its commands, whether this is a repeat).

    Without a key (or a user) it simply issues. `issue` runs in the same transaction as the key's row,
    so a refusal (validation, permission) stores no key and a corrected request can use it again; two
    concurrent requests with one key meet on the unique constraint and the second answers with the first.
    """
    if not key or user is None or not user.is_authenticated:
        return issue(), False
    try:
        with transaction.atomic():
            found = IdempotencyKey.objects.select_for_update().filter(user=user, key=key).first()
            if found is not None and found.created_at >= timezone.now() - WINDOW:
                return _repeat(found, fingerprint), True
            if found is not None:
                found.delete()  # expired: the key starts afresh
            record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
            commands = issue()
            Command.objects.filter(pk__in=[c.pk for c in commands]).update(idempotency_key=record)
            return commands, False
    except IntegrityError:
        found = IdempotencyKey.objects.filter(user=user, key=key).first()
        if found is None:
            raise
        return _repeat(found, fingerprint), True


def _repeat(found: IdempotencyKey, fingerprint: str) -> list[Command]:
    commands = list(found.commands.order_by("pk"))
    if found.fingerprint != fingerprint:
        raise KeyReused(commands)
    return commands


def purge_expired() -> int:
    """Forget keys older than the window (their commands stay); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - WINDOW).delete()
    return deleted
