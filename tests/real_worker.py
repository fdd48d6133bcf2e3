"""A real Celery worker for end-to-end tests (a pytest plugin, loaded by tests/conftest.py; issue 27).

The rest of the suite runs tasks eagerly, in the test's thread; a test that asks for `real_worker` sends
them through the profile's own broker instead (the filesystem folder of the embedded profile, in a
folder of the session's own; Redis with REDIS_URL) to a worker consuming every portal queue in a thread,
so serialization, routing, on-commit queuing, retries with a countdown and the worker's own database
connection are exercised. Its test runs with `transactional_db`: the worker sees only what was committed.

The worker starts with the first such test and stops at the end of the session (stopping takes seconds:
the embedded broker's loop polls); between tests it is idle and its queues empty.
"""
from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.worker import state as worker_state
from kombu import pools as kombu_pools

from portal import gc_freeze, ops_celery
from portal.celery import app as celery_app

WAIT_SECONDS = 20.0


def _drop_connections() -> None:
    """Forget pooled broker connections made with another broker's options."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _quiet_worker(patch: pytest.MonkeyPatch) -> None:
    """The test process keeps its own logging and garbage collector, and the worker writes no heartbeat
    rows (tests/ops covers those) behind the tests' backs."""
    patch.setattr(celery_app.log, "setup", lambda *args, **kwargs: None)
    patch.setattr(gc_freeze, "freeze_startup_objects", lambda: None)
    patch.setattr(ops_celery.WorkerHeartbeat, "start", lambda self, worker: None)
    patch.setattr(ops_celery.WorkerHeartbeat, "stop", lambda self, worker: None)


@pytest.fixture(scope="session")
def _worker_thread(tmp_path_factory):
    from django.conf import settings

    saved_options = dict(celery_app.conf.broker_transport_options or {})
    if not settings.REDIS_URL:
        folder = tmp_path_factory.mktemp("broker")
        (folder / "queue").mkdir()
        (folder / "control").mkdir()
        celery_app.conf.broker_transport_options = {
            **saved_options, "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"), "polling_interval": 0.05,
        }
    _drop_connections()
    running = start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                           shutdown_timeout=WAIT_SECONDS)
    # Patched only while the worker starts and stops: the rest of the session keeps the real functions.
    with pytest.MonkeyPatch.context() as patch:
        _quiet_worker(patch)
        worker = running.__enter__()
    try:
        yield worker
    finally:
        with pytest.MonkeyPatch.context() as patch:
            _quiet_worker(patch)
            running.__exit__(None, None, None)
        celery_app.conf.broker_transport_options = saved_options
        _drop_connections()


def _forget_closed_pool() -> None:
    """An earlier test may have closed the app's broker pool (a process's fork hooks do): start a new one.

    kombu keeps pools in a process-wide group, from which the app takes its pool again: drop closed ones there.
    """
    for group in (kombu_pools.connections, kombu_pools.producers):
        for hashed, pool in list(dict.items(group)):  # keys are already eq-hashed: plain dict access
            if getattr(pool, "_closed", False) or getattr(getattr(pool, "connections", None), "_closed", False):
                dict.__delitem__(group, hashed)
    if celery_app._pool is not None and celery_app._pool._closed:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def _read_uncommitted(sender=None, connection=None, on: bool = True, **kwargs) -> None:
    """SQLite's test database is in memory with a shared cache, where a reader's table lock makes a writer
    in another thread fail at once ("database table is locked": shared-cache locks ignore the busy
    timeout), e.g. the worker saving a command while the test polls it. Readers that take no table
    locks (read_uncommitted, shared-cache mode only) leave the worker and the test to run side by side."""
    if connection is not None and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA read_uncommitted = {int(on)}")


@pytest.fixture
def real_worker(transactional_db, _worker_thread):
    """The session's worker, with tasks no longer run eagerly until the test ends; its queues start empty."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    _forget_closed_pool()
    celery_app.control.purge()
    celery_app.conf.task_always_eager = False
    connection_created.connect(_read_uncommitted)
    _read_uncommitted(connection=connection)
    try:
        yield _worker_thread
    finally:
        connection_created.disconnect(_read_uncommitted)
        _read_uncommitted(connection=connection, on=False)
        # What the test queued ends before its tables are flushed; nothing of it reaches the next test.
        wait_until(lambda: not worker_state.active_requests, what="the worker finishing the test's tasks")
        celery_app.control.purge()
        worker_state.reserved_requests.clear()
        celery_app.conf.task_always_eager = True


def wait_until(check, *, timeout: float = WAIT_SECONDS, what: str = "the worker"):
    """Poll `check()` until it returns something truthy (returned), or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)
