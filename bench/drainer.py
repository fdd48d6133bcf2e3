"""One events worker of the apply benchmark: `python -m bench.drainer drain|naive SECONDS`, prints JSON.

`drain`: events_drain over and over until nothing is pending anywhere (its partitions rebalanced with
the other drainers). `naive`: the reference: the webhook task run once per pending event (a task, a
transaction, the same handlers), oldest first, for at most SECONDS. Both report the events applied,
their wall-clock seconds, and the CPU seconds of this process and of its PostgreSQL session.
"""
from __future__ import annotations

import json
import os
import sys
import time


def _cpu_of(pid: int) -> float:
    """utime + stime of a process on this machine, in seconds (the PostgreSQL backend serving us)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    from webhooks import drain
    from webhooks.models import WebhookEvent
    from webhooks.tasks import process_event

    mode, seconds = sys.argv[1], float(sys.argv[2])
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    started, cpu, db_cpu = time.monotonic(), time.process_time(), _cpu_of(backend)
    applied = 0
    if mode == "drain":
        while time.monotonic() - started < seconds:
            applied += drain.events_drain(max_seconds=5)
            if not drain._any_pending():
                break
    else:
        pks = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).order_by("received_at", "id")
        for pk in pks.values_list("pk", flat=True).iterator(chunk_size=2000):
            process_event.apply(args=(pk,))
            applied += 1
            if time.monotonic() - started >= seconds:
                break
    wall = time.monotonic() - started
    print(json.dumps({"applied": applied, "wall_s": round(wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
                      "db_cpu_s": round(_cpu_of(backend) - db_cpu, 2)}))


if __name__ == "__main__":
    main()
