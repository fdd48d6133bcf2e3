"""Reads of queues."""
from django.db.models import Count, Min, Q

from queues.models import Queue


def queue_overview():
    """Queues with their waiting callers counted and the oldest wait's start."""
    waiting = Q(calls__left_at__isnull=True)
    return Queue.objects.annotate(
        waiting=Count("calls", filter=waiting), oldest=Min("calls__enqueued_at", filter=waiting)
    ).order_by("name")
