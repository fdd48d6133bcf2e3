"""The Telnyx webhook endpoint (verify, store, queue) and the operators' Events pages."""
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks import selectors, services
from webhooks.rejections import count_rejection, rejection_counts
from webhooks.verification import WebhookRejected, parse_envelope, verify_signature

log = logging.getLogger(__name__)


def _reject(request, rejection: WebhookRejected) -> HttpResponse:
    count_rejection(rejection.reason)
    log.warning("webhook rejected: %s from %s", rejection.reason, request.META.get("REMOTE_ADDR"))
    return JsonResponse({"message": rejection.message, "reason": rejection.reason}, status=rejection.status)


@csrf_exempt
@require_POST
@login_not_required
def telnyx_webhook(request):
    """Verify the Ed25519 signature, store the event once, queue processing, answer at once."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.WEBHOOK_MAX_BODY_BYTES:
        return _reject(request, WebhookRejected("too_large", "Body is larger than the limit.", 413))
    body = request.body
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return _reject(request, WebhookRejected("too_large", "Body is larger than the limit.", 413))
    try:
        verify_signature(body, request.headers)
        data = parse_envelope(body)
    except WebhookRejected as rejection:
        return _reject(request, rejection)
    try:
        event, created = services.event_store(data=data, raw_body=body)
    except DatabaseError:
        # Telnyx redelivers on a 5xx, so an outage of the database loses nothing.
        log.exception("webhook could not be stored")
        return JsonResponse({"message": "Temporarily unavailable."}, status=503)
    return JsonResponse({"id": event.event_id, "stored": created})


@permission_required("webhooks.view_webhookevent", raise_exception=True)
def event_list(request):
    """Live stream of incoming events with filters and the rejected-delivery counts."""
    filterset = selectors.EventFilter(request.GET, queryset=selectors.event_queryset())
    events = filterset.qs[:200]
    return render(
        request,
        "webhooks/event_list.html",
        {
            "filterset": filterset,
            "events": events,
            "rejections": rejection_counts(),
            "live_groups": ["events"] if not request.GET else [],
            "filtered": bool(request.GET),
        },
    )


@permission_required("webhooks.view_webhookevent", raise_exception=True)
def event_detail(request, pk):
    """One event with its pretty-printed payload."""
    event = get_object_or_404(selectors.event_queryset(), pk=pk)
    return render(
        request,
        "webhooks/event_detail.html",
        {"event": event, "payload": services.pretty_payload(event), "live_groups": []},
    )
