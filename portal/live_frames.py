"""Numbered live frames: every message to a group says which process sent it and its number there.

A frame can be lost between a publisher and an open page: the channel layer drops messages for a
channel at capacity (a consumer busy during a burst), the publisher drops them when its backlog is
full or Redis does not answer, Redis restarts. Each publishing process numbers its messages per group,
1, 2, 3..., and a dropped one still takes its number, so the page (static/portal/live.js) sees the
gap at the next frame from that process and re-fetches its live regions instead of showing stale
state (issue 23). A reconnecting socket re-fetches them anyway.
"""
from __future__ import annotations

import os
import threading
import uuid

from django.utils.html import escape

# Per-group counters kept at most for this many groups; past it they restart, which a page reads as a
# gap and answers with one harmless re-fetch (call.<pk> groups come and go all day).
MAX_GROUPS = 20_000

_lock = threading.Lock()
_numbers: dict[str, int] = {}
_source: tuple[int, str] | None = None


def source() -> str:
    """This process's name in frames: new after a fork, so a child never continues its parent's numbers."""
    global _source
    if _source is None or _source[0] != os.getpid():
        _source = (os.getpid(), uuid.uuid4().hex[:12])
        _numbers.clear()
    return _source[1]


def next_number(group: str) -> int:
    """The number of the next message this process sends to `group` (taken even if it never arrives)."""
    with _lock:
        source()
        if len(_numbers) >= MAX_GROUPS and group not in _numbers:
            _numbers.clear()
        _numbers[group] = number = _numbers.get(group, 0) + 1
        return number


def message(group: str, html: str) -> dict:
    """The channel-layer message for `html`, numbered; the socket puts the marker in front (`marked`)."""
    return {"type": "live.html", "html": html, "group": group, "source": source(), "seq": next_number(group)}


def marked(message: dict) -> str:
    """What a socket sends: the frame's marker, then its HTML. The page reads and removes the marker first.

    The marker swaps into one hidden element (`#live-frames`, on every live page), replacing the last
    one, so a page without the reader (the admin's changelists) neither errors nor accumulates them.
    """
    if "seq" not in message:
        return message["html"]
    marker = (f'<template hx-swap-oob="innerHTML:#live-frames" data-live-frame="{escape(message["group"])}" '
              f'data-source="{escape(message["source"])}" data-seq="{int(message["seq"])}"></template>')
    return marker + message["html"]


def skip(group: str) -> None:
    """A message to `group` that will not be sent: its number is spent, so the next one shows the gap."""
    next_number(group)
