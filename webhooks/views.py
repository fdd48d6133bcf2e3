"""The Telnyx webhook endpoint (verify, store, queue) and the operators' Events pages."""
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.paging import list_page
from webhooks import intake, selectors
from webhooks.rejections import rejection_counts


@csrf_exempt
@require_POST
@login_not_required
def telnyx_webhook(request):
    """Verify the Ed25519 signature, store the event once, answer at once (webhooks/intake.py).

    Production serves this path through intake.WebhookDispatch, without Django's middleware; this
    view is the same intake for every other server (runserver, daphne, the test client).
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    body = request.body if declared <= settings.WEBHOOK_MAX_BODY_BYTES else None
    status, document = intake.receive(
        body, request.headers, content_length=declared, remote_addr=request.META.get("REMOTE_ADDR", "")
    )
    return JsonResponse(document, status=status)


@permission_required("webhooks.view_webhookevent", raise_exception=True)
def event_list(request):
    """Live stream of incoming events, paginated, with filters and the rejected-delivery counts."""
    filterset = selectors.EventFilter(request.GET, queryset=selectors.event_queryset())
    queryset = filterset.qs if filterset.is_valid() else selectors.event_queryset().none()
    context = list_page(request, queryset, group="events")
    context.update(filterset=filterset, events=context["rows"], rejections=rejection_counts())
    return render(request, "webhooks/event_list.html", context)


@permission_required("webhooks.view_webhookevent", raise_exception=True)
def event_detail(request, pk):
    """One event with its pretty-printed payload."""
    event = get_object_or_404(selectors.event_queryset(), pk=pk)
    return render(
        request,
        "webhooks/event_detail.html",
        {"event": event, "payload": json.dumps(selectors.payload_for(event, request.user), indent=2, sort_keys=True),
         "live_groups": []},
    )
