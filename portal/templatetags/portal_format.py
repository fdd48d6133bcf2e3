"""Formats every page shares: durations as h:mm:ss (loaded as a builtin, no {% load %} needed)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from portal.commands import words
from portal.event_words import event_words as _event_words

register = template.Library()


def format_seconds(seconds: float | int | None) -> str:
    """Seconds as h:mm:ss (0:00:07, 1:02:03); empty for unknown."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@register.filter
def duration(value) -> str:
    """A number of seconds or a timedelta as h:mm:ss."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value in (None, ""):
        return ""
    try:
        return format_seconds(float(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def elapsed(start: datetime | None, end: datetime | None) -> str:
    """The length from `start` to `end` as h:mm:ss: `{{ call.answered_at|elapsed:call.ended_at }}`."""
    if not start or not end:
        return ""
    return format_seconds((end - start).total_seconds())


@register.filter
def pretty_json(value) -> str:
    """Indented, key-sorted JSON for <pre> blocks."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def elapsed_now(start: datetime | None) -> str:
    """How long since `start`, as h:mm:ss: the first text of a ticking `data-since` span."""
    if not start:
        return ""

    return format_seconds((timezone.now() - start).total_seconds())


@register.filter
def when(value: datetime | None) -> str:
    """A time of today as H:MM:SS, an older one with its date (issue 31: "dates, not only times")."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


@register.filter
def command_words(command) -> str:
    """What a command does, in words (portal/commands/words.py)."""
    return words.command_words(command)


@register.filter
def attempt_words(command) -> str:
    """What a command that did not happen tried to do, in words."""
    return words.attempt_words(command)


@register.filter
def command_target_url(command) -> str:
    """The page of a command's target, or empty."""
    return words.command_target_url(command) or ""


@register.filter
def event_words(event_type: str) -> str:
    """A Telnyx event type in a person's words (portal/event_words.py)."""
    return _event_words(str(event_type or ""))
