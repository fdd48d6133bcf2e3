"""Every domain's reconciliation with Telnyx, found in `<app>/sync.py` (a `SYNCS` dict: name -> function).

`sync_telnyx` runs each full sync (all statuses, all pages: a first install back-fills history); the
periodic tasks of each app may keep to what is live.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from django.apps import apps


def full_syncs() -> dict[str, Callable[[], dict]]:
    """name -> function returning counts, in app order."""
    found: dict[str, Callable[[], dict]] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.sync"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.update(getattr(module, "SYNCS", {}))
    return found
