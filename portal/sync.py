"""Every domain's reconciliation with Telnyx, found in `<app>/sync.py`, and `run_sync`, which runs one and records it.

Each `<app>/sync.py` declares `SYNCS` (name -> full sync: all statuses, all pages; `sync_telnyx` runs
them, so a first install back-fills history) and may declare `START_SYNCS` (what is live), run once when
beat starts (`portal.tasks.sync_on_start`): calls, conferences and queue stays held active from before a
restart are reconciled at once, not a sync period later (issue 29). The periodic tasks of each app may keep
to what is live. Whoever runs a sync (a task, the start sync, `sync_telnyx`) runs it through `run_sync`,
so every outcome is recorded the same way (issue 27).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.contrib import messages

from ops.services import sync_record
from portal import gateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncRun:
    """How one sync ended: its counts, or the gateway error that stopped it."""

    name: str
    counts: dict | None = None
    error: gateway.GatewayError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_sync(name: str, sync: Callable[[], dict]) -> SyncRun:
    """Run `sync`, record its outcome under `name` (System page, /metrics) and return it.

    Telnyx unreachable or refusing (a `GatewayError`) ends the run as "failed" with Telnyx's words; any
    other exception is a bug and propagates (the task fails loudly).
    """
    try:
        counts = sync()
    except gateway.GatewayError as error:
        log.warning("%s sync skipped: %s", name, error)
        record_sync(name, "failed", error=error)
        return SyncRun(name=name, error=error)
    record_sync(name, "ok", **counts)
    return SyncRun(name=name, counts=counts)


def record_sync(name: str, outcome: str, **detail) -> None:
    """Remember how a sync ended ("ok" or "failed", with counts or the error) for the System page and /metrics."""
    try:
        sync_record(name=name, outcome=outcome, detail={k: str(v)[:500] for k, v in detail.items()})
    except Exception:  # noqa: BLE001 - bookkeeping must never fail the sync itself
        log.warning("could not record the outcome of sync %s", name, exc_info=True)


def full_syncs() -> dict[str, Callable[[], dict]]:
    """name -> function returning counts, in app order."""
    return _declared("SYNCS")


def start_syncs() -> dict[str, Callable[[], dict]]:
    """name -> function reconciling what is live now (`START_SYNCS`): run once when beat starts."""
    return _declared("START_SYNCS")


def _declared(attribute: str) -> dict[str, Callable[[], dict]]:
    found: dict[str, Callable[[], dict]] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.sync"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.update(getattr(module, attribute, {}))
    return found


def request_sync_now(request, task, *, what: str) -> None:
    """Queue a sync task for a page's "Sync with Telnyx now" button and tell the user how it went."""
    try:
        task.delay()
        messages.success(request, f"Sync with Telnyx requested; the {what} updates as it lands.")
    except Exception:  # noqa: BLE001 - broker down: say so rather than fail the page
        messages.error(request, "Could not queue the sync: the task queue is unavailable. Try again shortly.")
