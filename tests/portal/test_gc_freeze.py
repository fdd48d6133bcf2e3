"""Server processes freeze what start-up left, so full collections stay short (issue 13)."""
import gc
import importlib

import pytest
from celery import signals

from portal import gc_freeze


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freezing_moves_the_loaded_application_out_of_the_collectors_reach(unfrozen):
    assert gc.get_freeze_count() == 0
    gc_freeze.freeze_startup_objects()
    # Django, DRF, Channels and the project: far more objects than any single request creates.
    assert gc.get_freeze_count() > 100_000


@pytest.mark.parametrize("module", ["portal.wsgi", "portal.asgi"])
def test_the_server_entry_points_freeze_once_the_application_is_loaded(module, monkeypatch, unfrozen):
    entry_point = importlib.import_module(module)
    frozen = []
    monkeypatch.setattr(gc_freeze, "freeze_startup_objects", lambda: frozen.append(module))
    loaded = importlib.reload(entry_point)
    assert frozen == [module] and loaded.application is not None


def test_celery_workers_freeze_before_the_pool_forks(monkeypatch, unfrozen):
    from portal import ops_celery

    frozen = []
    monkeypatch.setattr(gc_freeze, "freeze_startup_objects", lambda: frozen.append("worker"))
    monkeypatch.setattr(ops_celery, "_preload_telnyx", lambda **kwargs: None)
    receivers = [r for _, r in signals.worker_init.receivers]
    assert any(getattr(r, "__name__", "") == "_freeze_startup_objects" for r in receivers)
    ops_celery._freeze_startup_objects(sender=None)
    assert frozen == ["worker"]
