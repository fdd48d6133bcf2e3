"""The intake's drain nudge, run by one thread per process: no delivery waits for Redis or the broker (issue 23)."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Nudger:
    """Runs `work` in its own thread each time it is asked, coalescing requests made while it runs.

    A Redis that is up but stuck held every delivery after its insert (the nudge ran before the
    answer). Here it holds this thread only, for at most the Redis timeouts; the deliveries meanwhile
    are answered, stored, and applied by the next drain (or the sweeper).
    """

    def __init__(self, work: Callable[[], None]):
        self.work = work
        self.pid = os.getpid()
        self.wanted = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._run, name="webhook-nudger", daemon=True).start()

    def ask(self) -> None:
        self.idle.clear()
        self.wanted.set()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every request so far has been worked (tests); True if it was in time."""
        return self.idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()
            try:
                self.work()
            except Exception:  # noqa: BLE001 - the thread must outlive any failure; the sweeper covers
                log.warning("webhook nudge failed; the sweeper will pick events up", exc_info=True)
            if not self.wanted.is_set():
                self.idle.set()


_nudger: Nudger | None = None
_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child has no nudger thread, and the lock may have been copied held: start afresh."""
    global _nudger, _lock
    _nudger, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def ask(work: Callable[[], None]) -> Nudger:
    """Have this process's nudger run `work` soon (a forked child starts its own thread)."""
    global _nudger
    nudger = _nudger
    if nudger is None or nudger.pid != os.getpid():
        with _lock:
            if _nudger is None or _nudger.pid != os.getpid():
                _nudger = Nudger(work)
            nudger = _nudger
    nudger.ask()
    return nudger
