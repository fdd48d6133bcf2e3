"""Operations endpoints: /healthz (liveness), /readyz (readiness), /metrics (Prometheus) and the System page."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from ops import selectors
from ops.models import Heartbeat
from portal import health, metrics_access, metrics_exposition


@login_not_required
@require_safe
@never_cache
def healthz(request):
    """Liveness: the process answers; no dependency is checked."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_safe
@never_cache
def readyz(request):
    """Readiness: every check named with its result and latency; 503 naming what failed."""
    results = health.readiness(max_age=settings.READYZ_CACHE_SECONDS)
    failed = [check.name for check in results if not check.ok]
    document = {
        "status": "fail" if failed else "ok",
        "checks": {check.name: check.as_json() for check in results},
        "failed": failed,
    }
    response = JsonResponse(document, status=503 if failed else 200)
    # A failing probe every few seconds must not flood the error log: the System page and /metrics say why.
    response._has_been_logged = True
    return response


@login_not_required
@require_safe
@never_cache
def metrics_view(request):
    """Prometheus text: with METRICS_TOKEN only for `Authorization: Bearer <token>`, else only for loopback."""
    refusal = metrics_access.access_refusal(request.META)
    if refusal:
        status, message = refusal
        response = JsonResponse({"message": message}, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_exposition.render(), content_type=CONTENT_TYPE_LATEST)


def _system_context() -> dict:
    now = timezone.now()
    recent = now - timezone.timedelta(hours=1)
    cutoff = selectors.fresh_cutoff()

    def rows(kind):
        found = Heartbeat.objects.filter(kind=kind, seen_at__gte=recent).order_by("name")
        return [{"row": row, "alive": row.seen_at >= cutoff, "age": (now - row.seen_at).total_seconds()} for row in found]

    workers = rows(Heartbeat.Kind.WORKER)
    live_workers = [w["row"] for w in workers if w["alive"]]
    webs = rows(Heartbeat.Kind.WEB)
    beats = rows(Heartbeat.Kind.BEAT)
    checks = health.readiness()
    return {
        "checks": checks,
        "all_ok": all(check.ok for check in checks),
        "webhooks": selectors.webhook_backlog(),
        "commands": selectors.command_backlog(),
        "syncs": selectors.last_syncs(),
        "workers": workers,
        "queues": [
            {"name": queue, "consumers": sum(1 for w in live_workers if queue in w.detail.get("queues", []))}
            for queue in settings.PORTAL_TASK_QUEUES
        ],
        "beats": beats,
        "live_beats": sum(1 for b in beats if b["alive"]),
        "webs": webs,
        "sockets": sum(int(w["row"].detail.get("sockets", 0)) for w in webs if w["alive"]),
        "stale_seconds": settings.HEARTBEAT_STALE_SECONDS,
        "as_of": now,
    }


@permission_required("ops.view_system", raise_exception=True)
def system(request):
    """Health, backlogs, syncs, heartbeats and live sockets; the panel re-polls itself every few seconds."""
    return render(request, "portal/system.html", {**_system_context(), "live_groups": []})


@permission_required("ops.view_system", raise_exception=True)
@never_cache
def system_panel(request):
    """The System page's panel alone, for htmx polling."""
    return render(request, "portal/system_panel.html", _system_context())
