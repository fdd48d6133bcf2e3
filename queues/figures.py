"""Service metrics per queue, computed by the database (aggregates and one window query), never row by row.

Definitions (shown on the pages too): a caller is *offered* in a window if they entered the queue in it;
*answered* = left bridged (or bridging in process), *abandoned* = hung up while waiting, *timed out* =
removed by max_wait_time_secs. Waits count the callers who finished waiting (whatever the outcome).
*Service level* = answered within the queue's target ÷ callers who finished waiting. *Abandon rate* =
abandoned ÷ offered. The 90th percentile is nearest-rank (the smallest wait at or above 90 % of waits),
the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

# defusedcsv: the csv module with cells beginning with = + - @ | % quoted, so a spreadsheet shows them
# instead of running them (queue names come from Telnyx and admins; issue 23).
from defusedcsv import csv
from django.db.models import Avg, Count, F, Max, Min, Q
from django.db.models.expressions import Window
from django.db.models.functions import CumeDist
from django.utils import timezone

from queues.models import Queue, QueuedCall

WINDOWS = {"hour": "Last hour", "today": "Today", "7d": "Last 7 days"}
ANSWERED = [QueuedCall.Reason.BRIDGED, QueuedCall.Reason.BRIDGING]
# Taken out by someone: leave_queue from the portal or elsewhere, or force-removed by staff.
TAKEN_OUT = [QueuedCall.Reason.LEAVE, QueuedCall.Reason.REMOVED]


class UnknownWindow(ValueError):
    """Not one of WINDOWS."""


def window_bounds(window: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a window; "today" starts at midnight in the portal's TIME_ZONE (DST-safe)."""
    now = now or timezone.now()
    if window == "hour":
        return now - timedelta(hours=1), now
    if window == "today":
        return start_of_day(now), now
    if window == "7d":
        return now - timedelta(days=7), now
    raise UnknownWindow(f"Unknown window {window!r}: use one of {', '.join(WINDOWS)}.")


def start_of_day(now: datetime) -> datetime:
    """Local midnight of `now`'s local date, as an aware datetime (not now's offset: DST may differ)."""
    zone = timezone.get_current_timezone()
    return datetime.combine(timezone.localtime(now, zone).date(), time.min, tzinfo=zone)


@dataclass
class QueueMetrics:
    """One queue's figures over one window."""

    queue: str
    window: str
    start: datetime
    end: datetime
    target_secs: int
    goal_percent: int
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timed_out: int = 0
    taken_out: int = 0
    still_waiting: int = 0
    finished: int = 0
    answered_within_target: int = 0
    average_wait_secs: float | None = None
    p90_wait_secs: int | None = None
    max_wait_secs: int | None = None
    waiting_now: int = 0
    longest_wait_now_secs: int | None = None
    waiting_since: datetime | None = None

    @property
    def other_outcome(self) -> int:
        """Callers who left in no other outcome (queue deleted, gone from Telnyx): each caller counts once (issue 31)."""
        return max(0, self.offered - self.answered - self.abandoned - self.timed_out - self.taken_out - self.still_waiting)

    @property
    def abandon_rate(self) -> float | None:
        return round(100 * self.abandoned / self.offered, 1) if self.offered else None

    @property
    def service_level(self) -> float | None:
        return round(100 * self.answered_within_target / self.finished, 1) if self.finished else None

    @property
    def calls_per_hour(self) -> float:
        hours = max((self.end - self.start).total_seconds() / 3600, 1 / 60)
        return round(self.offered / hours, 1)

    @property
    def service_state(self) -> str:
        """"ok" (at or above goal), "warn" (within 10 points), "bad", or "none" without finished callers."""
        level = self.service_level
        if level is None:
            return "none"
        if level >= self.goal_percent:
            return "ok"
        return "warn" if level >= self.goal_percent - 10 else "bad"

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(other_outcome=self.other_outcome, abandon_rate=self.abandon_rate, service_level=self.service_level, calls_per_hour=self.calls_per_hour,
                    service_state=self.service_state)
        if data["average_wait_secs"] is not None:
            data["average_wait_secs"] = round(data["average_wait_secs"], 1)
        return data


CSV_FIELDS = [
    "queue", "window", "start", "end", "offered", "answered", "abandoned", "timed_out", "abandon_rate", "finished",
    "average_wait_secs", "p90_wait_secs", "max_wait_secs", "target_secs", "answered_within_target", "service_level",
    "goal_percent", "calls_per_hour", "waiting_now", "longest_wait_now_secs",
]


def queue_metrics(*, window: str, queues=None, now: datetime | None = None, p90: bool = True) -> dict[int, QueueMetrics]:
    """Metrics for each queue (all not deleted by default) over `window`, keyed by queue pk.

    `p90=False`: without the 90th percentile wait (its own window-function query over the window's stays),
    for views of every queue that never show it (the board, the wallboard, the dashboard, alerts).
    """
    now = now or timezone.now()
    start, end = window_bounds(window, now)
    if queues is None:
        queues = Queue.objects.filter(deleted_at__isnull=True)
    queues = list(queues)
    result = {
        q.pk: QueueMetrics(queue=q.name, window=window, start=start, end=end, target_secs=q.service_level_target_secs,
                           goal_percent=q.service_level_goal_percent)
        for q in queues
    }
    if not result:
        return result
    offered = QueuedCall.objects.filter(queue_id__in=result, enqueued_at__gte=start, enqueued_at__lt=end)
    finished = Q(left_at__isnull=False)
    answered = Q(leave_reason__in=ANSWERED)
    rows = offered.values("queue_id").annotate(
        offered=Count("id"),
        answered=Count("id", filter=answered),
        abandoned=Count("id", filter=Q(leave_reason=QueuedCall.Reason.HANGUP)),
        timed_out=Count("id", filter=Q(leave_reason=QueuedCall.Reason.TIMEOUT)),
        taken_out=Count("id", filter=Q(leave_reason__in=TAKEN_OUT)),
        still_waiting=Count("id", filter=Q(left_at__isnull=True)),
        finished=Count("id", filter=finished),
        answered_within_target=Count("id", filter=answered & Q(wait_time_secs__lte=F("queue__service_level_target_secs"))),
        average_wait_secs=Avg("wait_time_secs", filter=finished),
        max_wait_secs=Max("wait_time_secs", filter=finished),
    ).order_by()
    for row in rows:
        metrics = result[row.pop("queue_id")]
        for name, value in row.items():
            setattr(metrics, name, value)
    for queue_id, wait in (p90_waits(offered.filter(finished)) if p90 else {}).items():
        result[queue_id].p90_wait_secs = wait
    for queue_id, waiting, oldest in (
        QueuedCall.objects.filter(queue_id__in=result, left_at__isnull=True, is_alive=True)
        .values("queue_id").annotate(n=Count("id"), oldest=Min("enqueued_at")).order_by()
        .values_list("queue_id", "n", "oldest")
    ):
        result[queue_id].waiting_now = waiting
        result[queue_id].waiting_since = oldest
        result[queue_id].longest_wait_now_secs = max(0, int((now - oldest).total_seconds()))
    return result


def p90_waits(stays) -> dict[int, int]:
    """Nearest-rank 90th percentile of wait_time_secs per queue, in one portable window-function query.

    CUME_DIST() is the share of the queue's waits at or below each wait; the smallest wait whose share
    reaches 0.9 is the nearest-rank percentile (PostgreSQL's PERCENTILE_DISC(0.9), which SQLite lacks).
    """
    ranked = stays.filter(wait_time_secs__isnull=False).annotate(
        share=Window(CumeDist(), partition_by=[F("queue_id")], order_by=F("wait_time_secs").asc())
    )
    # The ranked rows are a subquery of their own: grouping them directly would group before ranking.
    top = QueuedCall.objects.filter(pk__in=ranked.filter(share__gte=0.9).values("pk"))
    return dict(top.values("queue_id").annotate(p90=Min("wait_time_secs")).order_by().values_list("queue_id", "p90"))


def metrics_csv(metrics: list[QueueMetrics]) -> str:
    """The metrics as CSV, one row per queue, columns as CSV_FIELDS."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for m in metrics:
        row = m.as_dict()
        row["start"], row["end"] = m.start.isoformat(), m.end.isoformat()
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_FIELDS})
    return out.getvalue()


def day_series(queue: Queue, *, now: datetime | None = None, step_minutes: int = 15) -> dict:
    """Today's (local) waiting callers every `step_minutes` and service level per hour, in one aggregate query."""
    now = now or timezone.now()
    start = start_of_day(now)
    end_of_day = datetime.combine(start.date() + timedelta(days=1), time.min, tzinfo=start.tzinfo)
    # Points in UTC arithmetic: a DST day has 23 or 25 hours and each point is a real instant.
    points, t = [], start
    while t <= min(now, end_of_day):
        points.append(t)
        t += timedelta(minutes=step_minutes)
    if points[-1] < now <= end_of_day:
        points.append(now)
    hours, h = [], start
    while h < end_of_day and h <= now:
        hours.append(h)
        h += timedelta(hours=1)
    stays = QueuedCall.objects.filter(queue=queue, enqueued_at__lt=now).filter(Q(left_at__isnull=True) | Q(left_at__gte=start))
    answered_in_time = Q(leave_reason__in=ANSWERED, wait_time_secs__lte=queue.service_level_target_secs)
    aggregates = {}
    for i, point in enumerate(points):
        aggregates[f"w{i}"] = Count("id", filter=Q(enqueued_at__lte=point) & (Q(left_at__isnull=True) | Q(left_at__gt=point)))
    for i, hour in enumerate(hours):
        in_hour = Q(enqueued_at__gte=hour, enqueued_at__lt=hour + timedelta(hours=1), left_at__isnull=False)
        aggregates[f"f{i}"] = Count("id", filter=in_hour)
        aggregates[f"a{i}"] = Count("id", filter=in_hour & answered_in_time)
    values = stays.aggregate(**aggregates)
    return {
        "start": start,
        "end": end_of_day,
        "now": now,
        "waiting": [(p, values[f"w{i}"]) for i, p in enumerate(points)],
        "service_level": [
            (hour, round(100 * values[f"a{i}"] / values[f"f{i}"], 1) if values[f"f{i}"] else None, values[f"f{i}"])
            for i, hour in enumerate(hours)
        ],
    }

