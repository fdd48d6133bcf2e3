"""Call legs the portal holds active, checked against Telnyx's call status: ghosts are hung up (issue 29).

Telnyx has no list of live calls, so each quiet leg is asked about by id (`GET /calls/{call_control_id}`,
the SDK's `calls.retrieve_status`): `is_alive` false, or a 404 (Telnyx forgets a leg 10 minutes after it
ended, and a restarted sandbox never knew the previous run's legs), closes the leg.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from calls import selectors, services
from portal import gateway
from webhooks.payloads import when

CURSOR_KEY = "calls:sync-cursor"
NOT_FOUND, ENDED = services.HANGUP_NOT_FOUND, services.HANGUP_ENDED


def check_legs(*, quiet_seconds: float, limit: int | None) -> dict:
    """Ask Telnyx about up to `limit` active legs silent for `quiet_seconds`, resuming after the last run's.

    The cursor makes successive runs walk every quiet leg in turn when there are more than `limit`.
    """
    checked_at = timezone.now()
    quiet_before = checked_at - timedelta(seconds=quiet_seconds)
    after = (cache.get(CURSOR_KEY) or 0) if limit else 0
    legs = selectors.calls_to_check(quiet_before=quiet_before, after_pk=after, limit=limit)
    if limit and len(legs) < limit and after:
        legs += selectors.calls_to_check(quiet_before=quiet_before, limit=limit - len(legs))  # wrap around
    counts = {"checked": 0, "alive": 0, "closed": 0}
    for pk, call_control_id in dict(legs).items():
        try:
            record = (gateway.call("client.calls.retrieve_status", call_control_id=call_control_id) or {}).get("data")
        except gateway.GatewayError as error:
            if error.status_code != 404:
                raise
            record = None
        counts["checked"] += 1
        if limit:
            cache.set(CURSOR_KEY, pk, timeout=None)
        if record and record.get("is_alive") is not False:
            counts["alive"] += 1
            continue
        closed = services.call_closed_by_sync(
            call_control_id=call_control_id, ended_at=when((record or {}).get("end_time")), checked_at=checked_at,
            reason=ENDED if record else NOT_FOUND,
        )
        counts["closed"] += bool(closed)
    return counts


def sync_periodic() -> dict:
    """Legs quiet for CALL_SYNC_QUIET_SECONDS, at most CALL_SYNC_MAX_LEGS a run."""
    return check_legs(quiet_seconds=settings.CALL_SYNC_QUIET_SECONDS, limit=settings.CALL_SYNC_MAX_LEGS or None)


def sync_everything() -> dict:
    """Every leg held active, however recent (`manage.py sync_telnyx`, and once when the workers start)."""
    return check_legs(quiet_seconds=0, limit=None)


SYNCS = {"calls": sync_everything}
START_SYNCS = {"calls": sync_everything}
