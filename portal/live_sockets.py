"""Live sockets open in this process, counted and reported to the shared heartbeat table by a thread of their own."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import connection

from ops.models import Heartbeat
from ops.services import heartbeat_record
from portal.metrics import safe

log = logging.getLogger("portal.ops")


class _SocketReporter:
    """This process's open live sockets, written to its web heartbeat row at most once a second."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()

    def name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def add(self, delta: int) -> None:
        with self.lock:
            self.count = max(0, self.count + delta)
            if settings.HEARTBEAT_SECONDS > 0 and (self.thread is None or self.pid != os.getpid()):
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self.run, name="live-socket-reporter", daemon=True)
                self.thread.start()
        self.changed.set()

    def report(self) -> None:
        try:
            heartbeat_record(kind=Heartbeat.Kind.WEB, name=self.name(), detail={"sockets": self.count})
        finally:
            connection.close()  # this thread's own connection: back to the pool between reports

    def run(self) -> None:
        while True:
            self.changed.wait(timeout=settings.HEARTBEAT_SECONDS)
            self.changed.clear()
            try:
                self.report()
            except Exception:  # noqa: BLE001 - the next heartbeat tries again
                log.warning("could not report live sockets", exc_info=True)
            time.sleep(1.0)


sockets = _SocketReporter()


@safe
def socket_opened() -> None:
    """A live socket was accepted by this process."""
    sockets.add(1)


@safe
def socket_closed() -> None:
    """A live socket this process accepted has closed."""
    sockets.add(-1)
