"""Backpressure that shows (issue 25): drains tell open pages when applying falls behind, and when it caught up."""
from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone

from portal import live
from portal.catching_up import GROUP, LAG_KEY, lag_seconds  # noqa: F401 - lag_seconds read through here too

log = logging.getLogger(__name__)
_shown_at = float("-inf")  # when this process last sent the notice (at most one a second)
_showing = False  # this process sent a notice that no one has taken back yet


def note_batch(oldest_received_at: datetime | None) -> None:
    """After a batch: say "catching up" while its oldest event waited WEBHOOK_LAG_NOTICE_SECONDS or more.

    The lag is kept in the cache for a few seconds, so pages opened meanwhile show it too (base.html),
    and taken back (the notice hidden) by a drain that has shown it once no drain has renewed it.
    """
    global _shown_at, _showing
    threshold = settings.WEBHOOK_LAG_NOTICE_SECONDS
    if not threshold:
        return
    lag = (timezone.now() - oldest_received_at).total_seconds() if oldest_received_at else 0.0
    now = time.monotonic()
    try:
        if lag >= threshold:
            # Once a second at most, the cache too: a drain behind runs many batches a second.
            if now - _shown_at >= 1:
                _shown_at, _showing = now, True
                cache.set(LAG_KEY, int(lag), timeout=3)
                live.send_now(GROUP, render_to_string("webhooks/_catching_up.html", {"lag_seconds": int(lag)}))
        elif _showing and cache.get(LAG_KEY) is None:
            _showing = False
            live.send_now(GROUP, render_to_string("webhooks/_catching_up.html", {"lag_seconds": None}))
    except Exception:  # noqa: BLE001 - a hint only: applying goes on
        log.warning("could not publish the applying lag", exc_info=True)
