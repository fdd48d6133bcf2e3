"""The production profile on loopback: a throw-away PostgreSQL database, a Redis db, granian, daphne, Celery."""
from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nacl.signing import SigningKey

from bench.load import wait_for_port
from portal import procfile

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DB_NAME", "portal_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
# BENCH_DB_REUSE=1: use an existing (empty or earlier bench) database as is, neither dropped nor created (a
# shared server where DROP DATABASE waits on other sessions).
REUSE_DB = os.environ.get("BENCH_DB_REUSE") == "1"
# BENCH_PORT_BASE: six consecutive ports from there (a shared machine gives each engineer a range).
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "8610"))
PORTS = {"web": PORT_BASE, "ws": PORT_BASE + 1, "telnyx": PORT_BASE + 2, "null": PORT_BASE + 3, "gunicorn": PORT_BASE + 4,
         "ws_reference": PORT_BASE + 5}


class Stack:
    """Start and stop the processes of the production layout (README, "Production layout")."""

    def __init__(self, *, web_workers: int = 2, worker_concurrency: int = 2, log_dir: Path | None = None):
        self.key = SigningKey.generate()
        self.data_dir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        self.log_dir = log_dir or self.data_dir
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.processes: dict[str, subprocess.Popen] = {}
        self.peaks: dict[str, int] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"{PG_ADMIN.rsplit('/', 1)[0]}/{DB_NAME}",
            "REDIS_URL": REDIS_URL,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-only-" + base64.b64encode(os.urandom(24)).decode(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            # TLS ends at the load balancer in production; loopback has none.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "METRICS_ALLOW_LOOPBACK": "true",
            # The load client is one user at thousands of requests a second: no API throttling here.
            "API_THROTTLE_USER": "none",
            "API_THROTTLE_ANON": "none",
            "TELNYX_PUBLIC_KEY": base64.b64encode(bytes(self.key.verify_key)).decode(),
            "TELNYX_API_KEY": "bench",
            "TELNYX_BASE_URL": f"http://127.0.0.1:{PORTS['telnyx']}/v2",
            "PORTAL_DATA_DIR": str(self.data_dir),
            "PROMETHEUS_MULTIPROC_DIR": str(self.data_dir / "metrics"),
            "PYTHONPATH": str(ROOT),
            # The niced event worker's PostgreSQL sessions run niced too (portal/db_priority.py): one host.
            "DATABASE_SESSION_NICE": "true",
        }
        (self.data_dir / "metrics").mkdir(exist_ok=True)

    # --- database and redis ----------------------------------------------------
    def create_database(self) -> None:
        import psycopg

        if not REUSE_DB:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{DB_NAME}"')
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        self.flush_redis()

    def drop_database(self) -> None:
        import psycopg

        if not REUSE_DB:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        self.flush_redis()

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env, cwd=ROOT, check=True, timeout=600)

    def use_in_process(self) -> None:
        """Point this process's Django at the bench database (pages and sync run here, with the test client)."""
        os.environ.update({k: v for k, v in self.env.items() if k not in ("PYTHONPATH",)})
        import django

        django.setup()

    # --- processes -------------------------------------------------------------
    def start(self, name: str, command: list[str], port: int | None = None) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if port:
            wait_for_port(port)

    def start_web(self) -> None:
        """HTTP and websockets exactly as Procfile.production starts them (granian, daphne)."""
        production = procfile.entries(ROOT / "Procfile.production")
        for name in ("web", "ws"):
            env = {**self.env, "HOST": "127.0.0.1", "PORT": str(PORTS[name]), "WEB_WORKERS": str(self.web_workers)}
            command = procfile.argv(production[name], env)
            self.start(name, [str(BIN / command[0]), *command[1:]], PORTS[name])

    def start_ws_reference(self) -> None:
        """A second daphne serving bench/reference_asgi.py (the fan-out part's reference)."""
        self.start("ws_reference", [str(BIN / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", str(PORTS["ws_reference"]),
                                    "bench.reference_asgi:application"], PORTS["ws_reference"])

    def start_gunicorn(self) -> None:
        """The issue's reference server: gunicorn's sync workers, 2 per core, the application preloaded."""
        self.start("gunicorn", [str(BIN / "gunicorn"), "portal.wsgi", "--preload", "-k", "sync", "-w", str(2 * (os.cpu_count() or 1)),
                                "-b", f"127.0.0.1:{PORTS['gunicorn']}", "--log-level", "warning"], PORTS["gunicorn"])

    def start_worker(self, concurrency: int | None = None, *, queues: str | None = None) -> None:
        """The worker of every queue (niced), or with `queues` a dedicated one (README's layout: commands)."""
        concurrency = concurrency or self.worker_concurrency
        # Niced: on a shared box the intake (Telnyx is waiting) goes before applying events (which may lag).
        # A dedicated command worker is not: it mostly waits on Telnyx, and an operator waits on it.
        nice = "0" if queues else os.environ.get("BENCH_WORKER_NICE", "10")
        name = f"bench-{queues or 'all'}{concurrency}@%h"
        # SCHED_IDLE (README, "How many"): the worker runs on what the web processes leave; `nice` alone
        # still let it take a third of the CPU in a burst, because a niced task is not preempted at once.
        idle = [] if queues or not shutil.which("chrt") or os.environ.get("BENCH_WORKER_IDLE") == "0" else ["chrt", "--idle", "0"]
        self.start("worker", [*idle, "nice", "-n", nice, str(BIN / "celery"), "-A", "portal", "worker", "--loglevel",
                              "WARNING", "--concurrency", str(concurrency), "-n", name, *(["-Q", queues] if queues else [])])
        self._nice_session(self.processes["worker"].pid, int(nice))
        self._wait_worker()

    @staticmethod
    def _nice_session(pid: int, nice: int) -> None:
        """Give the process's own session the niceness too (Linux autogroup).

        Each process here starts its own session, and with sched_autogroup_enabled the scheduler first
        shares CPU between sessions, then by nice within one: `nice` alone left the worker's session an
        equal share with the web server's (seen: two niced worker processes at 50 % each during a burst).
        systemd's CPUWeight= is the same knob in production.
        """
        try:
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        except OSError:
            pass  # no autogroup (or no right): plain nice applies

    def _wait_worker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run([str(BIN / "celery"), "-A", "portal", "inspect", "ping", "-t", "1"], env=self.env,
                                    cwd=ROOT, capture_output=True, timeout=30)
            if result.returncode == 0:
                return
            time.sleep(0.5)
        raise TimeoutError("the Celery worker did not answer")

    def start_telnyx(self, **sizes: int) -> None:
        args = [f"--{k}={v}" for k, v in sizes.items()]
        self.start("telnyx", [sys.executable, "-m", "bench.fake_telnyx", "--port", str(PORTS["telnyx"]), *args],
                   PORTS["telnyx"])

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        self.record_peak(name, process)
        try:
            # The main process only: granian, gunicorn and Celery then stop their children after the request
            # or task at hand (a signal to the whole group would kill a drain mid-batch).
            os.kill(process.pid, signal.SIGTERM)
            process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    # --- memory ----------------------------------------------------------------
    def record_peak(self, name: str, process: subprocess.Popen | None = None) -> None:
        """Peak resident memory (VmHWM) of each process of a group, summed: the kernel's own high-water mark."""
        process = process or self.processes.get(name)
        if process is None:
            return
        peaks = [_hwm_kib(pid) for pid in _tree(process.pid)]
        largest = max(peaks, default=0)
        total = sum(peaks)
        key_total, key_largest = f"{name}_total_kib", f"{name}_largest_kib"
        self.peaks[key_total] = max(self.peaks.get(key_total, 0), total)
        self.peaks[key_largest] = max(self.peaks.get(key_largest, 0), largest)
        self.peaks[f"{name}_processes"] = max(self.peaks.get(f"{name}_processes", 0), len(peaks))


def _tree(pid: int) -> list[int]:
    """The process and its descendants (from /proc; granian, gunicorn and Celery start workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib() -> int:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
