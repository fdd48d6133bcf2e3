"""The growth part (issue 32): the events table at a month of traffic, and retention dropping days of it.

At `scale` 1: 2x10^7 events over the last 30 days (a month at ~8 events/s), loaded with COPY into daily
partitions, plus three days of 10^6 events each just past EVENT_RETENTION_DAYS. Then, in this process:

- every events page and API (list, filters, detail, a call's and a conference's timeline) timed with
  the test client, and its SQL queries counted at 1 % of the data and at all of it (they must not grow);
- the intake (`webhooks.intake.receive`: verify, one insert) beside the bare verify-and-ORM-insert of
  the reference view, alternating, before and while a retention run drops those days' partitions, and the
  run's own time.

The drain nudge is switched off here: both sides measure verify + insert, and no worker applies the rows.
"""
from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import connection
from django.test import override_settings
from django.utils import timezone
from nacl.signing import SigningKey

from bench import load
from bench.events import fixture_types, mix

FULL_MONTH = 20_000_000
FULL_DAY = 1_000_000
DAYS = 30
DOOMED_DAYS = 3  # days past retention, dropped by one run: a window long enough for a p99 of the intake beside it
EVENTS_PER_CALL = 15
EVENTS_PER_CONFERENCE = 300
COLUMNS = ("event_id", "event_type", "occurred_at", "received_at", "raw_body", "payload", "call_control_id",
           "call_session_id", "conference_id", "queue_name", "recording_id", "status", "attempts", "last_error",
           "processed_at", "partition")


def growth(*, scale: float = 1.0, log=print, pairs: int = 1500) -> dict:
    """Load, measure pages, measure the intake beside a retention run; returns the figures."""
    key = SigningKey.generate()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    with override_settings(EVENT_PARTITION_SPAN="day", EVENT_RETENTION_DAYS=DAYS, EVENT_PARTITIONS_AHEAD=2,
                           TELNYX_PUBLIC_KEY=public, STORAGES=_without_archive()):
        from webhooks import store

        nudge, store.processing_nudge = store.processing_nudge, lambda: None
        try:
            return _run(scale=scale, log=log, key=key, pairs=pairs)
        finally:
            store.processing_nudge = nudge


def _without_archive() -> dict:
    from django.conf import settings

    return {name: value for name, value in settings.STORAGES.items() if name != "event_archive"}


def _run(*, scale: float, log, key: SigningKey, pairs: int) -> dict:
    from webhooks import time_partitions

    month, day = max(3000, int(FULL_MONTH * scale)), max(300, int(FULL_DAY * scale))
    now = timezone.now()
    first = now - timedelta(days=DAYS) + timedelta(hours=1)  # the oldest kept day straddles the cutoff: kept
    doomed = (now - timedelta(days=DAYS + DOOMED_DAYS)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    _daily_partitions(doomed, now)
    result: dict = {"events": month, "dropped_day_events": day, "dropped_days": DOOMED_DAYS,
                    "partitions": len(time_partitions.partitions())}

    began = time.monotonic()
    small = month // 100
    _copy(small, first, now, "g", offset=0, log=log)
    sample = _samples(month_count=small, first=first, now=now)
    small_pages = {row["name"]: row for row in _measure(sample, repeat=3)}
    _copy(month - small, first, now, "g", offset=small, log=log, total=month)
    for n in range(DOOMED_DAYS):
        start = doomed + timedelta(days=n)
        _copy(day, start, start + timedelta(days=1) - timedelta(seconds=1), f"gd{n}", offset=0, log=log)
    _remember_keys(now)
    _vacuum()
    result["load_seconds"] = round(time.monotonic() - began, 1)
    log(f"  growth: {month + DOOMED_DAYS * day:,} events loaded in {result['load_seconds']} s")

    sample = _samples(month_count=month, first=first, now=now)
    pages = _measure(sample, repeat=15)
    for row in pages:
        row["queries_small"] = small_pages.get(row["name"], {}).get("queries")
    result["pages"] = pages
    result["max_p95_ms"] = max((row["p95_ms"] or 0) for row in pages)
    result["queries_grew"] = [row["name"] for row in pages if (row["queries"] or 0) > (row["queries_small"] or 0)]
    result["intake"] = _intake_beside_retention(key, pairs, log)
    return result


def _daily_partitions(doomed: datetime, now: datetime) -> None:
    """Start from an empty table cut in days (migrate made monthly ones, empty at this point)."""
    from webhooks import time_partitions

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE webhooks_webhookevent, webhooks_eventkey")
        for partition in time_partitions.partitions():
            cursor.execute(f'DROP TABLE "{partition.name}"')
    time_partitions.ensure_between(doomed, now)
    time_partitions.ensure_ahead(now=now)


def _copy(count: int, start: datetime, end: datetime, prefix: str, *, offset: int, log, total: int | None = None) -> None:
    """COPY `count` events spread evenly over [start, end): calls of 15 events, conferences of 300, a few failed."""
    types = fixture_types()
    total = total or count
    span = (end - start).total_seconds()
    base = start.timestamp()
    chunk = []
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY webhooks_webhookevent ({', '.join(COLUMNS)}) FROM STDIN"
    ) as copy:
        for i in range(offset, offset + count):
            at = datetime.fromtimestamp(base + span * i / total, UTC).isoformat(sep=" ")
            event_type = types[i % len(types)]
            call = f"v3:{prefix}call-{i // EVENTS_PER_CALL}"
            conference = f"{prefix}conf-{i // EVENTS_PER_CONFERENCE}" if event_type.startswith("conference.") else ""
            payload = f'{{"call_control_id": "{call}", "conference_id": "{conference}", "n": {i}}}'
            body = f'{{"data": {{"id": "{prefix}-{i}", "event_type": "{event_type}", "payload": {payload}}}}}'
            status = "failed" if i % 10_007 == 0 and prefix == "g" else ("ignored" if i % 20 == 0 else "processed")
            chunk.append(f"{prefix}-{i}\t{event_type}\t{at}\t{at}\t{body}\t{payload}\t{call}\t\t{conference}\t\t\t"
                         f"{status}\t1\t\t{at}\t{i % 8}\n")
            if len(chunk) == 10_000:
                copy.write("".join(chunk))
                chunk = []
                if i % 1_000_000 < 10_000:
                    log(f"  growth: {prefix} {i:,} events")
        if chunk:
            copy.write("".join(chunk))


def _remember_keys(now: datetime) -> None:
    """The dedupe window's ids, as the intake would have written them."""
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webhooks_eventkey (event_id, received_at) SELECT event_id, received_at "
            "FROM webhooks_webhookevent WHERE received_at >= %s ON CONFLICT DO NOTHING",
            [now - timedelta(days=settings.EVENT_DEDUPE_DAYS)],
        )


def _vacuum() -> None:
    """What autovacuum does after a bulk load (statistics, the visibility map)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE webhooks_webhookevent, webhooks_eventkey")


def _samples(*, month_count: int, first: datetime, now: datetime) -> dict:
    """A recent call and conference (with their rows), and the URLs of every events page and API."""
    from calls.models import Call
    from conferencing.models import Conference
    from webhooks.models import WebhookEvent

    recent = month_count - 5 * EVENTS_PER_CONFERENCE
    call_id = f"v3:gcall-{recent // EVENTS_PER_CALL}"
    conference_id = f"gconf-{recent // EVENTS_PER_CONFERENCE}"
    started = first + (now - first) * ((recent - recent % EVENTS_PER_CONFERENCE) / month_count)
    Call.objects.update_or_create(call_control_id=call_id, defaults={"started_at": started})
    Conference.objects.update_or_create(conference_id=conference_id, defaults={"created_at": started})
    event = WebhookEvent.objects.filter(received_at__gte=now - timedelta(hours=1)).order_by("-received_at").first()
    today = timezone.localdate().isoformat()
    urls = [
        ("events", "/events/"), ("events failed", "/events/?status=failed"), ("events since", f"/events/?since={today}"),
        ("events type prefix", "/events/?event_type=call."), ("events of a call", f"/events/?call_control_id={call_id}"),
        ("events of a conference", f"/events/?conference_id={conference_id}"),
        ("api events", "/api/v1/events/"), ("api events failed", "/api/v1/events/?status=failed"),
        ("api events since", f"/api/v1/events/?since={today}"),
        ("api events of a call", f"/api/v1/events/?call_control_id={call_id}"),
        ("api events type prefix", "/api/v1/events/?event_type=conference."),
        ("call page", f"/calls/{call_id}/"), ("call timeline", f"/calls/{call_id}/timeline/"),
        ("api call", f"/api/v1/calls/{call_id}/"), ("conference page", f"/conferences/{conference_id}/"),
        ("admin events", "/admin/webhooks/webhookevent/"),
        ("admin events of a type", "/admin/webhooks/webhookevent/?event_type=call.hangup"),
    ]
    if event is not None:
        urls += [("event page", f"/events/{event.pk}/"), ("api event", f"/api/v1/events/{event.event_id}/")]
    return {"urls": urls}


def _measure(sample: dict, *, repeat: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.scale import measure_pages

    user, _ = get_user_model().objects.get_or_create(
        username="bench-growth", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    return measure_pages(client, sample["urls"], repeat=repeat)


def _intake_beside_retention(key: SigningKey, pairs: int, log) -> dict:
    """Intake and bare insert alternating, before and while a retention run drops the oldest day.

    The run is `events_purge` in a process of its own, as the events worker runs it in production:
    niced, its database session niced with it (DATABASE_SESSION_NICE, bench/stack.py's worker). Only
    the pairs that began between the run's own start and end count as "during" it.
    """
    deliveries = [d.signed(key) for d in mix(pairs * 8, prefix="gi", duplicates=0, reorder=0)]
    before = _pairs(deliveries[:pairs], "b")
    runner = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, "-m", "bench.growth", "--retention-run"],
        env={**os.environ, "EVENT_PARTITION_SPAN": "day", "EVENT_RETENTION_DAYS": str(DAYS),
             "DATABASE_SESSION_NICE": "true", "EVENT_ARCHIVE_STORAGE": ""},
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, text=True,
    )
    samples = _pairs(deliveries[pairs:], "d", until=runner, timed=True)
    out, _ = runner.communicate(timeout=600)
    outcome = json.loads(out.strip().splitlines()[-1])
    during = _window(samples, outcome["began"], outcome["ended"])
    during["slow_by_phase"] = _slow_by_phase(samples, outcome, before["intake"]["p99_ms"] / 1000)
    log(f"  growth: retention dropped {outcome.get('dropped')} in {outcome.get('seconds')} s")
    return {"before": before, "during": during, "retention": outcome,
            "ratio_before": before["ratio"], "ratio_during": during["ratio"]}


def _retention_run() -> None:
    """`python -m bench.growth --retention-run`: one events_purge in this process; prints its times as JSON."""
    import django

    django.setup()
    from webhooks import retention, time_partitions

    phases = []

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.time()
            try:
                return function(*args, **kwargs)
            finally:
                phases.append((name, began, time.time()))
        return wrapper

    retention._prune_keys = timed("dedupe ids pruned", retention._prune_keys)
    retention._partition_rows = timed("partition sized", retention._partition_rows)
    time_partitions.detach = timed("detached", time_partitions.detach)
    time_partitions.drop = timed("dropped", time_partitions.drop)
    began = time.time()
    result = retention.events_purge()
    ended = time.time()
    print(json.dumps({"began": began, "ended": ended, "seconds": round(ended - began, 3), "phases": phases,
                      "dropped": result.dropped, "deleted": result.deleted}), flush=True)


def _slow_by_phase(samples: dict, outcome: dict, threshold: float) -> dict:
    """Pairs during the run whose intake took longer than `threshold` (the p99 before), by the run's phase they began in."""
    counts: dict[str, int] = {}
    for at, intake_time, _ in samples["timed"]:
        if not outcome["began"] <= at <= outcome["ended"] or intake_time <= threshold:
            continue
        phase = next((name for name, start, end in outcome.get("phases", []) if start <= at <= end), "between phases")
        counts[phase] = counts.get(phase, 0) + 1
    return counts


def _window(samples: dict, began: float, ended: float) -> dict:
    """The pairs of `samples` that began within [began, ended]."""
    inside = [(i, b) for at, i, b in samples["timed"] if began <= at <= ended]
    intake_times, bare_times = [i for i, _ in inside], [b for _, b in inside]
    if not inside:
        return {"pairs": 0, "ratio": 0.0, "intake": {}, "bare": {}}
    ratio = statistics.median(intake_times) / statistics.median(bare_times)
    return {"pairs": len(inside), "ratio": round(ratio, 3), "intake": load.percentiles(intake_times),
            "bare": load.percentiles(bare_times), "intake_max_ms": round(max(intake_times) * 1000, 2)}


def _pairs(deliveries, tag: str, until=None, timed: bool = False) -> dict:
    """Alternate one intake and one bare insert per delivery; stop once `until` (a process) has ended."""
    from webhooks import intake

    intake_times, bare_times, stamps = [], [], []
    for delivery in deliveries:
        if until is not None and until.poll() is not None:
            break
        headers = delivery.headers
        at = time.time()
        began = time.perf_counter()
        status, _ = intake.receive(delivery.body, headers, content_length=len(delivery.body))
        intake_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        _bare(delivery.body, headers, tag)
        bare_times.append(time.perf_counter() - began)
        stamps.append(at)
        assert status == 200, status
    ratio = statistics.median(intake_times) / statistics.median(bare_times)
    result = {"pairs": len(intake_times), "ratio": round(ratio, 3),
              "intake": load.percentiles(intake_times), "bare": load.percentiles(bare_times)}
    if timed:
        result["timed"] = list(zip(stamps, intake_times, bare_times, strict=True))
    return result


def _bare(body: bytes, headers: dict, tag: str) -> None:
    """The reference view's work without HTTP: verify, parse, one ORM insert (bench/reference.py)."""
    from django.conf import settings
    from nacl.signing import VerifyKey

    from webhooks.models import WebhookEvent

    verify = VerifyKey(base64.b64decode(settings.TELNYX_PUBLIC_KEY.split(",")[0]))
    stamp = headers["telnyx-timestamp"]
    verify.verify(stamp.encode() + b"|" + body, base64.b64decode(headers["telnyx-signature-ed25519"]))
    document = json.loads(body)
    data = document.get("data", document)
    WebhookEvent.objects.create(event_id=f"bare-{tag}-{data['id']}", event_type=data["event_type"],
                                raw_body=body.decode(), payload=data.get("payload", {}),
                                status=WebhookEvent.Status.IGNORED)


def growth_lines(result: dict) -> list[str]:
    """The growth part's summary, beside its targets."""
    intake, retention = result["intake"], result["intake"]["retention"]
    out = [f"7 growth: {result['events']:,} events in {result['partitions']} daily partitions (+ {result['dropped_days']} days of "
           f"{result['dropped_day_events']:,} past retention), loaded in {result['load_seconds']} s; "
           f"slowest events page/API p95 {result['max_p95_ms']} ms (target < 150 ms); queries grew on: "
           f"{', '.join(result['queries_grew']) or 'none'}"]
    for row in result["pages"]:
        out.append(f"    {row['name']:24} {row['url'][:46]:46} {row['status']}  p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f} ms  "
                   f"queries {row['queries']} (at 1 %: {row['queries_small']})")
    for when in ("before", "during"):
        row = intake[when]
        if not row["pairs"]:
            out.append(f"    intake vs bare insert {when} the retention run: no pairs")
            continue
        out.append(f"    intake vs bare insert {when} the retention run: {row['ratio']:.2f}x the bare time "
                   f"({row['pairs']} pairs); intake p50 {row['intake']['p50_ms']} p99 {row['intake']['p99_ms']} ms, "
                   f"bare p50 {row['bare']['p50_ms']} p99 {row['bare']['p99_ms']} ms"
                   + (f"; intake's slowest {row['intake_max_ms']} ms" if "intake_max_ms" in row else "")
                   + (f"; slower than the p99 before, by phase: {row['slow_by_phase']}" if "slow_by_phase" in row else ""))
    phases = retention.get("phases") or []
    if phases:
        out.append("    retention run's phases: " + ", ".join(f"{name} {1000 * (end - start):.0f} ms" for name, start, end in phases))
    days = len(retention.get("dropped") or []) or 1
    out.append(f"    retention run: dropped {', '.join(retention.get('dropped') or []) or 'nothing'} "
               f"({retention.get('deleted', 0):,} events) in {retention.get('seconds')} s, "
               f"{retention.get('seconds', 0) / days:.3f} s a day (target < 10 s a day)")
    before, during = intake["before"], intake["during"]
    if before["pairs"] and during["pairs"]:
        out.append(f"    intake p99 during the run / before: {during['intake']['p99_ms'] / before['intake']['p99_ms']:.2f}x; "
                   f"the bare insert's, same windows: {during['bare']['p99_ms'] / before['bare']['p99_ms']:.2f}x")
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.growth --scale 0.05`: this part alone, in its own throw-away database, no servers."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 2x10^7 events and a dropped day of 10^6")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--existing", action="store_true",
                        help="use the database as a previous --keep left it (migrated): neither create nor drop it")
    parser.add_argument("--retention-run", action="store_true", help=argparse.SUPPRESS)  # the measured run's own process
    args = parser.parse_args(argv)
    if args.retention_run:
        _retention_run()
        return 0
    os.environ.setdefault("BENCH_DB_NAME", "portal_bench_growth")
    from bench.stack import Stack

    stack = Stack()
    if not args.existing:
        stack.create_database()
    stack.use_in_process()
    out = Path(__file__).parent / "results"
    try:
        result = growth(scale=args.scale, log=lambda m: print(m, file=sys.stderr, flush=True))
        # Written before the database is dropped: a DROP DATABASE can wait on the server's other sessions.
        (out / "growth.json").write_text(json.dumps(result, indent=1, default=str))
        (out / "growth.txt").write_text("\n".join([f"scale {args.scale}", *growth_lines(result)]) + "\n")
        print("\n".join(growth_lines(result)), flush=True)
    finally:
        if not (args.keep or args.existing):
            connection.close()
            stack.drop_database()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
