"""Small readers for webhook payload values shared by every app's handlers."""
from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def when(value) -> datetime | None:
    """A payload timestamp as an aware datetime, or None (also for a well-formed impossible date)."""
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def text(payload: dict, key: str, limit: int = 255) -> str:
    """A payload string, empty when absent or not a string."""
    value = payload.get(key)
    return value[:limit] if isinstance(value, str) else ""


def number(payload: dict, key: str) -> int | None:
    value = payload.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
