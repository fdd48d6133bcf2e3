"""Queues page."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from queues.selectors import queue_overview


@permission_required("queues.view_queue", raise_exception=True)
def queue_list(request):
    return render(request, "queues/queue_list.html", {"queues": queue_overview(), "live_groups": ["queues"]})
