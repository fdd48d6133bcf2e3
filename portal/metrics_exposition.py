"""The /metrics text: every process's counter files summed (those of exited processes folded), plus the gauges."""
from __future__ import annotations

import fcntl
import glob
import logging
import os
from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

from portal.metrics_gauges import DatabaseCollector

log = logging.getLogger("portal.ops")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to fold
    return True


def compact(directory: str) -> int:
    """Fold the files of exited processes into one archive file per metric type; returns how many.

    Every process that ever counted leaves a file (granian respawns a worker past its memory limit, Celery
    replaces prefork children), and a scrape reads them all. Counters and histograms are sums, so the
    files of dead processes fold into one without changing any total. Call with the folder's lock held
    exclusively (render() does), so no scrape reads a value twice or not at all.
    """
    folded = 0
    for kind in ("counter", "histogram", "summary"):
        dead = []
        for path in glob.glob(os.path.join(directory, f"{kind}_*.db")):
            ident = os.path.basename(path)[len(kind) + 1:-3]
            if ident.isdigit() and int(ident) != os.getpid() and not _alive(int(ident)):
                dead.append(path)
        if not dead:
            continue
        archive = os.path.join(directory, f"{kind}_archive.db")
        totals: dict[str, float] = defaultdict(float)
        for path in ([archive] if os.path.exists(archive) else []) + dead:
            for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(path):
                totals[key] += value
        staging = archive + ".new"  # not *.db: a scrape never reads it half-written
        merged = MmapedDict(staging)
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
        merged.close()
        os.replace(staging, archive)
        for path in dead:
            os.unlink(path)
        folded += len(dead)
    return folded


def render(*, database: bool = True) -> bytes:
    """The Prometheus text exposition: every process's counters summed, plus the database gauges."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    with open(os.path.join(directory, ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                compact(directory)
            except Exception:  # noqa: BLE001 - an unfolded file only costs time; the scrape goes on
                log.warning("could not fold the metrics of exited processes", exc_info=True)
        except BlockingIOError:
            pass  # another scrape holds the lock: read beside it
        fcntl.flock(lock, fcntl.LOCK_SH)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        if database:
            registry.register(DatabaseCollector())
        return generate_latest(registry)
