"""Reads of queues for the pages, the admin and the API (the figures live in queues/figures.py)."""
from __future__ import annotations

import django_filters
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from calls.models import Call
from portal.filters import StrictBooleanFilter, TimeRangeFilterSet
from queues.figures import queue_metrics
from queues.models import Queue, QueuedCall

BOARD_PAGE_SIZE = 48


def _waiting(**extra):
    return QueuedCall.objects.filter(queue_id=OuterRef("pk"), left_at__isnull=True, **extra).order_by().values("queue_id")


def queue_queryset(*, include_deleted: bool = False):
    """Queues with callers waiting now counted (alive, and kept after hangup) and the oldest alive wait's start.

    Correlated subqueries, not a JOIN + GROUP BY over every stay: the database orders and limits the
    queues first and counts only the page's (the aggregate took ~90 ms at 200,000 stays; issue 13).
    """
    def count(**extra):
        return Coalesce(Subquery(_waiting(**extra).annotate(n=Count("id")).values("n"), output_field=IntegerField()), Value(0))

    queryset = Queue.objects.annotate(
        waiting=count(is_alive=True),
        waiting_dead=count(is_alive=False),
        oldest=Subquery(_waiting(is_alive=True).annotate(first=Min("enqueued_at")).values("first")),
    ).order_by("name")
    return queryset if include_deleted else queryset.filter(deleted_at__isnull=True)


def board_context(*, page_number=1, search: str = "", names=None, now=None) -> dict:
    """One page of the queue board, most urgent first: below goal, then the longest wait now (issue 31).

    `search` keeps queues whose name holds it, `names` (the wallboard's URL) exactly those queues. Every
    matching queue's metrics come in the same constant number of queries, so the order spans all pages.
    Live: the unfiltered first page is re-rendered and pushed ("patch"); a filtered or later page
    re-fetches itself when the board changes ("refetch"), since a pushed first page is not what it shows.
    """
    queryset = queue_queryset()
    if search:
        queryset = queryset.filter(name__icontains=search)
    if names:
        queryset = queryset.filter(name__in=names)
    queues = list(queryset)
    today = queue_metrics(window="today", queues=queues, now=now, p90=False)
    for queue in queues:
        queue.today = today[queue.pk]
    queues.sort(key=urgency)
    page = Paginator(queues, BOARD_PAGE_SIZE).get_page(page_number)
    deleted = Queue.objects.filter(deleted_at__isnull=False).order_by("name").only("name", "deleted_at")
    return {
        "queues": list(page.object_list), "page_obj": page, "search": search,
        "live_mode": "patch" if page.number == 1 and not search and not names else "refetch",
        "deleted_queues": deleted[:DELETED_SHOWN], "deleted_count": deleted.count(),
    }


def urgency(queue) -> tuple:
    """Sort key: below its service-level goal first, then the longest wait now, then by name."""
    return metrics_urgency(queue.today)


def metrics_urgency(metrics) -> tuple:
    """`urgency` of a queue's today's metrics (the dashboard sorts those, without the queue rows)."""
    below_goal = metrics.service_state in ("warn", "bad")
    return (not below_goal, -(metrics.longest_wait_now_secs or -1), metrics.queue)


DELETED_SHOWN = 20


def queue_detail(name: str):
    """One queue (deleted ones too) with its counts, or None."""
    return queue_queryset(include_deleted=True).filter(name=name).first()


def with_numbers(queryset):
    """Stays with from / to filled in from the call leg when the queue events did not carry them."""
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


class QueueFilter(TimeRangeFilterSet):
    """GET /api/v1/queues/: deleted queues only with include_deleted; since / until: when it was created."""

    time_field = "created_at"
    include_deleted = StrictBooleanFilter(method="with_deleted", help_text="Also list queues deleted or gone from Telnyx.")

    class Meta:
        model = Queue
        fields = ["include_deleted", "since", "until"]

    def with_deleted(self, queryset, name, value):
        return queryset  # the rule itself is in filter_queryset: it applies when the parameter is absent too

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("include_deleted"):
            queryset = queryset.filter(deleted_at__isnull=True)
        return super().filter_queryset(queryset)


class QueuedCallFilter(TimeRangeFilterSet):
    """GET /api/v1/queues/{name}/calls/?status=waiting|left|all (waiting by default); since / until: when it entered."""

    time_field = "enqueued_at"

    status = django_filters.ChoiceFilter(
        choices=[("waiting", "Waiting"), ("left", "Left"), ("all", "All")], method="by_status", empty_label=None
    )
    reason = django_filters.ChoiceFilter(field_name="leave_reason", choices=QueuedCall.Reason.choices)

    class Meta:
        model = QueuedCall
        fields = ["status", "reason", "since", "until"]

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
