"""A niced process's PostgreSQL sessions run niced too, when the database shares the machine.

On one host (a small install, the benchmarks) the event worker runs at a lower
CPU priority than the web processes, so Telnyx's deliveries are answered first and applying events
lags a burst instead. Its queries, though, burn CPU in PostgreSQL backends at normal priority, which
undid most of that: with DATABASE_SESSION_NICE on, each session's backend gets the process's own
niceness. It needs the right to renice another user's process (root, or CAP_SYS_NICE); without it,
or with a remote database, it does nothing and says so once.
"""
import logging
import os

from django.conf import settings

log = logging.getLogger(__name__)
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_reniced: set[int] = set()
_warned = False


def follow_process_nice(sender, connection, **kwargs) -> None:
    """connection_created receiver: renice the session's backend to this process's niceness."""
    global _warned
    if not settings.DATABASE_SESSION_NICE or connection.vendor != "postgresql":
        return
    niceness = os.nice(0)
    host = str(connection.settings_dict.get("HOST") or "")
    if niceness <= 0 or (host not in LOCAL_HOSTS and not host.startswith("/")):
        return
    pid = connection.connection.info.backend_pid  # psycopg 3: no query needed
    if pid in _reniced:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError as error:
        if not _warned:
            _warned = True
            log.info("database sessions keep their priority (cannot renice backend %s: %s)", pid, error)
        return
    _reniced.add(pid)
