"""Celery's part in operations: worker and beat heartbeats in the shared database, Django's logging in workers.

Imported by portal/celery.py before Django is set up: nothing here touches settings or models at import.
"""
from __future__ import annotations

import logging
import os
import socket
import time

from celery import bootsteps, signals
from celery.beat import PersistentScheduler

log = logging.getLogger("portal.ops")


def _record(kind: str, name: str, detail: dict, *, drop_pool: bool = False) -> None:
    from django.db import connection

    from ops.services import heartbeat_record

    try:
        heartbeat_record(kind=kind, name=name, detail=detail)
    except Exception:  # noqa: BLE001 - a missed heartbeat is retried; it must never stop the process
        log.warning("could not record the %s heartbeat", kind, exc_info=True)
    finally:
        connection.close()
        if drop_pool and hasattr(connection, "close_pool"):
            # A prefork master must not hold a connection pool its future children would inherit.
            try:
                connection.close_pool()
            except Exception:  # noqa: BLE001
                pass


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Every HEARTBEAT_SECONDS, the worker's consumer loop writes which queues it consumes."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def name_of(self, worker) -> str:
        # Two workers may share a node name (celery@host); the pid keeps their rows apart.
        return f"{worker.hostname}:{os.getpid()}"

    def detail(self, worker) -> dict:
        queues = worker.app.amqp.queues
        queues = sorted(queues.consume_from or queues)
        return {"queues": queues, "pid": os.getpid(), "concurrency": worker.concurrency}

    def beat(self, worker) -> None:
        from ops.models import Heartbeat

        prefork = "prefork" in str(getattr(worker, "pool_cls", ""))
        _record(Heartbeat.Kind.WORKER, self.name_of(worker), self.detail(worker), drop_pool=prefork)

    def start(self, worker):
        from django.conf import settings

        self.beat(worker)
        every = max(1, settings.HEARTBEAT_SECONDS)
        self.tref = worker.timer.call_repeatedly(every, self.beat, (worker,), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        try:
            from ops.models import Heartbeat
            from ops.services import heartbeat_forget

            heartbeat_forget(kind=Heartbeat.Kind.WORKER, name=self.name_of(worker))
        except Exception:  # noqa: BLE001 - it goes stale by itself
            log.warning("could not remove the worker heartbeat", exc_info=True)


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's file-backed scheduler that also writes beat's heartbeat and prunes dead process rows."""

    _last_heartbeat = 0.0
    _last_prune = 0.0

    def tick(self, *args, **kwargs):
        from django.conf import settings

        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            from ops.models import Heartbeat

            _record(Heartbeat.Kind.BEAT, self.heartbeat_name(), {"pid": os.getpid(), "schedule": sorted(self.schedule)})
            if now - self._last_prune >= 3600 or not self._last_prune:
                self._last_prune = now
                self._prune()
        # Wake at least once per heartbeat period, whatever the schedule says.
        return min(interval, max(1, settings.HEARTBEAT_SECONDS))

    @staticmethod
    def heartbeat_name() -> str:
        # Host and pid in the name: two beats by mistake show as two rows on the System page.
        return f"{socket.gethostname()}:{os.getpid()}"

    def close(self):
        super().close()
        try:
            from django.db import connection

            from ops.models import Heartbeat
            from ops.services import heartbeat_forget

            heartbeat_forget(kind=Heartbeat.Kind.BEAT, name=self.heartbeat_name())
            connection.close()
        except Exception:  # noqa: BLE001 - it goes stale by itself
            log.warning("could not remove the beat heartbeat", exc_info=True)

    @staticmethod
    def _prune() -> None:
        from django.db import connection

        from ops.services import heartbeats_prune

        try:
            heartbeats_prune()
        except Exception:  # noqa: BLE001
            log.warning("could not prune old heartbeats", exc_info=True)
        finally:
            connection.close()


def _django_logging(**kwargs) -> None:
    """Keep Django's LOGGING (plain or JSON, quiet per-task lines) instead of Celery's own set-up."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def install(app) -> None:
    """Add the worker heartbeat and use Django's logging in every Celery process of `app`."""
    app.steps["worker"].add(WorkerHeartbeat)
    signals.setup_logging.connect(_django_logging, weak=False, dispatch_uid="portal.ops.logging")
    signals.worker_init.connect(_preload_telnyx, weak=False, dispatch_uid="portal.ops.preload_telnyx")
    signals.worker_init.connect(_freeze_startup_objects, weak=False, dispatch_uid="portal.ops.gc_freeze")
    signals.beat_init.connect(_sync_on_start, weak=False, dispatch_uid="portal.ops.sync_on_start")


def _sync_on_start(**kwargs) -> None:
    """beat_init (exactly one beat runs): queue the reconciliation of what was live before the restart."""
    from portal.tasks import sync_on_start

    try:
        sync_on_start.delay()
    except Exception:  # noqa: BLE001 - the periodic syncs reconcile the same a period later
        log.warning("could not queue the start sync", exc_info=True)


def _freeze_startup_objects(**kwargs) -> None:
    """worker_init, after the preload: what the parent loaded is frozen before the pool forks."""
    from portal import gc_freeze

    gc_freeze.freeze_startup_objects()


def _preload_telnyx(**kwargs) -> None:
    """worker_init (the parent, before the pool forks): load the SDK modules every declared action uses."""
    from portal import gateway
    from portal.commands import actions

    try:
        gateway.preload(action.sdk for action in actions.all_actions())
    except Exception:  # noqa: BLE001 - only a warm-up: the first command imports what it needs itself
        log.warning("could not preload the Telnyx SDK", exc_info=True)
