"""The "catching up" notice's shared names (issue 25): every live socket joins its group, every page reads its lag.

The drains (webhooks/lag.py) set and clear it; the core only needs these names, so they live here and the
core never imports an app.
"""
from __future__ import annotations

from django.core.cache import cache

GROUP = "backlog"  # every live socket joins it (portal/consumers.py): the notice is no one's data
LAG_KEY = "webhooks:applying-behind"


def lag_seconds() -> int | None:
    """How far behind applying is, as the drains last said (None: not noticeably)."""
    try:
        value = cache.get(LAG_KEY)
    except Exception:  # noqa: BLE001 - a page never fails for a hint
        return None
    return int(value) if value is not None else None
