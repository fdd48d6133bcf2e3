"""Statements and CPU per event of a drain's batches (issue 25): `python -m bench.apply_profile [EVENTS] [BATCH]`.

Stores EVENTS realistic pending events (bench/apply.py's loader; the events table is emptied first,
so point DATABASE_URL at a database of your own) and applies them with events_process_batch in
batches of BATCH (DJANGO_SECRET_KEY set, DEBUG off), counting SQL statements and the CPU of this process and of its PostgreSQL session. With
APPLY_PROFILE_OUT=file, the batches alone (not the loading) are profiled with cProfile into that file.
"""
from __future__ import annotations

import cProfile
import json
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection

    from bench.apply import _load
    from bench.drainer import _cpu_of
    from portal import live
    from webhooks.drain import events_process_batch

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    _load(count, prefix=f"profile{int(time.time())}")
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid if connection.vendor == "postgresql" else os.getpid()
    wall, cpu, db_cpu = time.monotonic(), time.process_time(), _cpu_of(backend)
    applied = 0
    statements = []

    def count(execute, sql, params, many, context):  # a counter, not Django's debug cursor: CPU as in production
        statements.append(1)
        return execute(sql, params, many, context)

    profiler = cProfile.Profile() if os.environ.get("APPLY_PROFILE_OUT") else None
    with connection.execute_wrapper(count), live.coalescing():
        if profiler:
            profiler.enable()
        while claimed := events_process_batch(limit=batch):
            applied += claimed
        if profiler:
            profiler.disable()
            profiler.dump_stats(os.environ["APPLY_PROFILE_OUT"])
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    db_cpu = _cpu_of(backend) - db_cpu if connection.vendor == "postgresql" else 0.0
    print(json.dumps({
        "events": applied, "batch": batch, "statements_per_event": round(len(statements) / applied, 2),
        "cpu_ms_per_event": round(1000 * cpu / applied, 3), "db_cpu_ms_per_event": round(1000 * db_cpu / applied, 3),
        "events_per_s": round(applied / wall, 1),
    }))


if __name__ == "__main__":
    main()
