"""Event type → handler functions, gathered from each app's handlers.HANDLERS dict."""
from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import import_module

from django.apps import apps

Handler = Callable[["WebhookEvent"], None]  # noqa: F821


@functools.cache
def _registry() -> dict[str, list[Handler]]:
    registry: dict[str, list[Handler]] = {}
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.handlers")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.handlers":
                raise
            continue
        for event_type, handler in getattr(module, "HANDLERS", {}).items():
            registry.setdefault(event_type, []).append(handler)
    return registry


def _module_hooks(name: str) -> list[Callable[[list], None]]:
    """Each app's handlers-module list called `name`, concatenated in app order."""
    found = []
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.handlers")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.handlers":
                raise
            continue
        found.extend(getattr(module, name, ()))
    return found


@functools.cache
def batch_preloads() -> list[Callable[[list], None]]:
    """Each app's BATCH_PRELOADS: load the rows a batch names into webhooks.batch_cache, one query each."""
    return _module_hooks("BATCH_PRELOADS")


def handlers_for(event_type: str) -> list[Handler]:
    """Handlers for one event type, in app order; empty if nobody handles it."""
    return _registry().get(event_type, [])


def handled_types() -> list[str]:
    """Every event type some app applies."""
    return sorted(_registry())
