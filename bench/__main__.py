"""`python -m bench` (or `make bench`): run the benchmarks of issue 13 and write bench/results/.

Everything runs on loopback against processes this command starts and stops: a throw-away PostgreSQL
database (BENCH_DB_NAME, default portal_bench), Redis db 13 (BENCH_REDIS_URL), granian and daphne as
Procfile.production runs them, gunicorn (the issue's reference server), a Celery worker and a fake Telnyx. Every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import alerts, apply, fanout, growth, parts, report, scale, throughput
from bench.stack import PORTS, Stack

# Sync before pages: the page data (2,000 local queues Telnyx does not list, ...) would turn the sync
# benchmark into a benchmark of mass deletion.
ALL = ["ceilings", "servers", "ingest", "apply", "live", "fanout", "commands", "sync", "pages", "alerts", "growth"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--parts", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--scale", type=float, default=1.0, help="data sizes of the page and sync benchmarks (1 = issue 13's)")
    parser.add_argument("--small-scale", type=float, default=0.01, help="the size pages are first measured at")
    parser.add_argument("--ingest-seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="reference/intake alternations (the median is reported)")
    parser.add_argument("--apply-backlog", type=int, default=100_000, help="pending events each apply run starts from")
    parser.add_argument("--live-seconds", type=float, default=6)
    parser.add_argument("--web-workers", type=int, default=2, help="granian workers (two threads each)")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--growth-scale", type=float, default=1.0,
                        help="events of the growth part (1 = 2x10^7 and a dropped day of 10^6, issue 32)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    chosen = [p for p in args.parts.split(",") if p]
    load = os.getloadavg()[0]
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "args": {k: str(v) for k, v in vars(args).items()},
        "machine": f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_before": round(load, 2), "notes": [],
    }
    if load > 1.0:
        results["notes"].append(f"1-minute load was {load:.1f} before the run: other work shared the cores")
    stack = Stack(web_workers=args.web_workers, worker_concurrency=args.worker_concurrency)
    say(f"creating the bench database and starting the stack (process logs in {stack.log_dir})")
    stack.create_database()
    stack.use_in_process()
    try:
        stack.start_telnyx(delay=0.05)  # no lists yet: the sync part restarts it with them
        stack.start_web()
        if {"servers", "ingest"} & set(chosen):
            stack.start_gunicorn()
        stack.start_worker()
        for part in chosen:
            say(f"part: {part}")
            began, cpu_before = time.monotonic(), _cpu_times()
            try:
                run_part(part, stack, args, results)
            except Exception:  # noqa: BLE001 - one broken part must not hide the others' results
                results["notes"].append(f"{part} failed: {traceback.format_exc(limit=3)[-800:]}")
                traceback.print_exc()
            results.setdefault("stolen", {})[part] = _stolen_share(cpu_before, _cpu_times())
            say(f"  {part} took {time.monotonic() - began:.0f} s")
            report.save(results, args.out)  # after every part: a later failure keeps what was measured
        for name in list(stack.processes):
            stack.record_peak(name)
        results["memory"] = {**stack.peaks, "bench_process_kib": _self_hwm()}
    finally:
        stack.stop_all()
        if not args.keep:
            stack.drop_database()
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.save(results, args.out)
    print("\n".join(report.lines(results)))
    return 0


def run_part(part: str, stack: Stack, args, results: dict) -> None:
    if part == "ceilings":
        results["client_ceilings"] = parts.client_ceilings()
    elif part == "servers":
        results["servers"] = parts.servers(stack)
    elif part == "ingest":
        results["ingest"] = parts.ingest(stack, seconds=args.ingest_seconds, rounds=args.rounds)
    elif part == "apply":
        try:
            results["apply"] = apply.apply(stack, backlog=args.apply_backlog)
        finally:
            stack.start_worker()
    elif part == "live":
        _, cookie = session("bench-viewer", role="Viewer")
        results["live"] = parts.live(stack, f"sessionid={cookie}", seconds=args.live_seconds)
        try:
            results["live_dom"] = parts.live_dom(stack, cookie)
        except Exception as exc:  # noqa: BLE001 - no Chromium here: say so, keep the rest
            results["notes"].append(f"live to the DOM not measured: {type(exc).__name__}: {exc}"[:300])
    elif part == "fanout":
        _, cookie = session("bench-viewer", role="Viewer")
        results["fanout"] = fanout.fanout(stack, f"sessionid={cookie}")
    elif part == "commands":
        token, conference_id = operator()
        results["commands"] = throughput.commands(stack, token, conference_id)
        stack.stop("worker")
        stack.start_worker()
    elif part == "pages":
        results["pages"] = scale.pages(small_scale=args.small_scale, scale=args.scale, log=say)
        # Once through the web server too, so its processes' peak memory includes the largest pages.
        _, cookie = session("bench-admin", superuser=True)
        for row in results["pages"]["pages"]:
            request = urllib.request.Request(f"http://127.0.0.1:{PORTS['web']}{row['url']}",
                                             headers={"Cookie": f"sessionid={cookie}"})
            try:
                urllib.request.urlopen(request, timeout=60).read()
            except Exception:  # noqa: BLE001, S110 - only memory is wanted here
                pass
    elif part == "growth":
        results["growth"] = growth.growth(scale=args.growth_scale, log=say)
    elif part == "sync":
        full = scale.sizes(args.scale)
        stack.stop("telnyx")
        stack.start_telnyx(delay=0.05, conferences=full["conferences"], queues=full["queues"],
                           recordings=full["recordings"])
        results["sync"] = scale.syncs()
        expected = {"conferences", "queues", "recordings"}
        missing = expected - {row["name"] for row in results["sync"]}
        if missing:
            results["notes"].append(f"no sync registered for {', '.join(sorted(missing))}: not measured")
    elif part == "alerts":
        results["alerts"] = alerts.evaluation(log=say)
    else:
        raise ValueError(f"unknown part {part!r}")


def session(username: str, *, role: str | None = None, superuser: bool = False) -> tuple[object, str]:
    """A user and a session key for it (as if logged in), for the websocket and page clients."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": superuser, "is_superuser": superuser})
    if role:
        user.groups.add(Group.objects.get(name=role))
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return user, store.session_key


def operator() -> tuple[str, str]:
    """An Operator's API token and a conference in progress to mute."""
    from conferencing.models import Conference
    from portal.tokens import api_token_create

    user, _ = session("bench-operator", role="Operator")
    _, key = api_token_create(user=user, name="bench")
    status = {"status": "in_progress"} if "in_progress" in scale._choices(Conference, "status") else {}
    scale._bulk(Conference, 1, 1, lambda i: {"conference_id": "bench-commands", "name": "Bench", **status})
    return key, "bench-commands"


def _cpu_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat's first line): user, nice, system, idle, ..., steal."""
    try:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return []


def _stolen_share(before: list[int], after: list[int]) -> float | None:
    """Share of the machine's CPU time the hypervisor gave to others (steal) between two readings.

    On a shared virtual machine this is how much slower the run was than the cores would suggest;
    every absolute figure of the part moves with it, the same-run ratios much less.
    """
    if len(before) < 8 or len(after) < 8:
        return None
    delta = [b - a for a, b in zip(before[:8], after[:8], strict=True)]
    return round(delta[7] / sum(delta), 3) if sum(delta) else None


def _self_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
