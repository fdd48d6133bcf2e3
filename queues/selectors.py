"""Reads of queues for the pages, the admin and the API (metrics live in queues/metrics.py)."""
from __future__ import annotations

import django_filters
from django.db.models import Count, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from queues.metrics import queue_metrics
from queues.models import Queue, QueuedCall

WAITING = Q(calls__left_at__isnull=True)
ALIVE_WAITING = WAITING & Q(calls__is_alive=True)


def queue_queryset(*, include_deleted: bool = False):
    """Queues with callers waiting now counted (alive, and kept after hangup) and the oldest alive wait's start."""
    queryset = Queue.objects.annotate(
        waiting=Count("calls", filter=ALIVE_WAITING),
        waiting_dead=Count("calls", filter=WAITING & Q(calls__is_alive=False)),
        oldest=Min("calls__enqueued_at", filter=ALIVE_WAITING),
    ).order_by("name")
    return queryset if include_deleted else queryset.filter(deleted_at__isnull=True)


def board_context(*, now=None) -> dict:
    """The queue board: each queue with today's metrics, and the queues deleted but kept for history."""
    queues = list(queue_queryset())
    today = queue_metrics(window="today", queues=queues, now=now)
    for queue in queues:
        queue.today = today[queue.pk]
    deleted = Queue.objects.filter(deleted_at__isnull=False).order_by("name").only("name", "deleted_at")
    return {"queues": queues, "deleted_queues": deleted}


def queue_detail(name: str):
    """One queue (deleted ones too) with its counts, or None."""
    return queue_queryset(include_deleted=True).filter(name=name).first()


def with_numbers(queryset):
    """Stays with from / to filled in from the call leg when the queue events did not carry them."""
    from calls.models import Call

    call = Call.objects.filter(call_control_id=OuterRef("call_control_id"))
    return queryset.annotate(
        caller_from=Coalesce(NullIf("from_number", Value("")), Subquery(call.values("from_number")[:1]), Value("")),
        caller_to=Coalesce(NullIf("to_number", Value("")), Subquery(call.values("to_number")[:1]), Value("")),
    )


def waiting_calls(queue: Queue):
    """Callers in line now, by place in line."""
    return with_numbers(queue.calls.filter(left_at__isnull=True).order_by("position", "enqueued_at", "pk"))


def recent_history(queue: Queue, limit: int = 50):
    """The latest stays that ended: who left, why, after how long."""
    return with_numbers(queue.calls.filter(left_at__isnull=False).order_by("-left_at", "-pk"))[:limit]


class QueuedCallFilter(django_filters.FilterSet):
    """GET /api/v1/queues/{name}/calls/?status=waiting|left|all (waiting by default)."""

    status = django_filters.ChoiceFilter(
        choices=[("waiting", "Waiting"), ("left", "Left"), ("all", "All")], method="by_status", empty_label=None
    )
    reason = django_filters.ChoiceFilter(field_name="leave_reason", choices=QueuedCall.Reason.choices)

    class Meta:
        model = QueuedCall
        fields = ["status", "reason"]

    def by_status(self, queryset, name, value):
        if value == "left":
            return queryset.filter(left_at__isnull=False).order_by("-left_at", "-pk")
        if value == "all":
            return queryset.order_by("-enqueued_at", "-pk")
        return queryset.filter(left_at__isnull=True)

    @property
    def qs(self):
        queryset = super().qs
        if not self.data.get("status"):
            queryset = queryset.filter(left_at__isnull=True)
        return queryset
