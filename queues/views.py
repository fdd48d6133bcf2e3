"""Queue pages: the live board (and wallboard), a queue's live page with its metrics, settings and export."""
from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework import serializers

from portal.commands import actions, forms, page_forms
from portal.sync import request_sync_now
from queues import charts, figures, selectors, services
from queues.tasks import sync_queues

VIEW = "queues.view_queue"


def _window(request) -> str:
    window = request.GET.get("window") or "today"
    return window if window in figures.WINDOWS else "today"


class ServiceLevelForm(django_forms.Form):
    """The portal's own service-level settings; the service checks their ranges (the API's door too)."""

    # Django's IntegerField refuses "²", "12.5" and 5,000-digit strings with "Enter a whole number."
    # (int() alone raised a 500 on them, issue 23); the range messages are the service's.
    service_level_target_secs = django_forms.IntegerField(required=False)
    service_level_goal_percent = django_forms.IntegerField(required=False)


def _csv(rows, filename: str) -> HttpResponse:
    response = HttpResponse(figures.metrics_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _create_form(request, errors=None):
    action = actions.get("queue.create")
    if not request.user.has_perm(action.permission):
        return None
    return {"action": action, "fields": forms.field_specs(action), "errors": errors or {}, "values": request.POST}


@permission_required(VIEW, raise_exception=True)
def queue_list(request):
    """The queue board; POST creates a queue (a command); `?format=csv&window=` exports every queue's metrics."""
    window = _window(request)
    if request.GET.get("format") == "csv":
        rows = figures.queue_metrics(window=window).values()
        return _csv(sorted(rows, key=lambda m: m.queue), f"queue-metrics-{window}.csv")
    errors = None
    if request.method == "POST" and request.POST.get("op") == "sync":
        return _sync(request)
    if request.method == "POST":
        command, errors = forms.issue_from_post(request, "queue.create", request.POST.get("queue_name", ""))
        if not errors:
            messages.success(request, f"Queue requested (command #{command.pk}). It appears here when Telnyx confirms it.")
            return redirect("queue-list")
    context = {
        **_board(request),
        "create_form": _create_form(request, errors),
        "windows": figures.WINDOWS,
        "can_sync": request.user.has_perm("queues.control_queue"),
        "live_groups": ["queues"],
    }
    return render(request, "queues/queue_list.html", context, status=400 if errors else 200)


@permission_required(VIEW, raise_exception=True)
def wallboard(request):
    """The board alone, large, for a wall display: `?queue=a&queue=b` (or `?q=part`) chooses the queues shown."""
    names = [n.replace("\x00", "").strip()[:255] for n in request.GET.getlist("queue") if n.strip()]
    board = _board(request, names=names)
    return render(request, "queues/wallboard.html", {**board, "names": names, "live_groups": ["queues"]})


def _board(request, names=None) -> dict:
    """The board page asked for: `?q=` filters queue names, `?page=` pages them."""
    # No queue name holds a NUL, and PostgreSQL refuses one in a query's text (a 500, issue 23).
    search = request.GET.get("q", "").replace("\x00", "").strip()[:64]
    return selectors.board_context(page_number=request.GET.get("page"), search=search, names=names)


def _queue_or_404(name):
    queue = selectors.queue_detail(name)
    if queue is None:
        raise Http404("No such queue.")
    return queue


def _live_context(request, queue, window):
    user = request.user
    leave = actions.get("call.leave_queue")
    today = figures.queue_metrics(window="today", queues=[queue])[queue.pk]
    chosen = today if window == "today" else figures.queue_metrics(window=window, queues=[queue])[queue.pk]
    series = figures.day_series(queue)
    return {
        "queue": queue,
        "waiting_calls": selectors.waiting_calls(queue),
        "history": selectors.recent_history(queue),
        "metrics": chosen,
        "today": today,
        "window": window,
        "windows": figures.WINDOWS,
        "chart": charts.day_chart(series, goal_percent=queue.service_level_goal_percent),
        "can_control": user.has_perm("queues.control_queue"),
        "can_leave": leave is not None and all(user.has_perm(p) for p in leave.permissions_for({})),
    }


@permission_required(VIEW, raise_exception=True)
def queue_detail(request, name):
    """A queue's live page: callers in line, recent history, metrics and chart, and its controls."""
    queue = _queue_or_404(name)
    window = _window(request)
    if request.GET.get("format") == "csv":
        row = figures.queue_metrics(window=window, queues=[queue])[queue.pk]
        return _csv([row], f"queue-{queue.pk}-metrics-{window}.csv")
    user = request.user
    context = _live_context(request, queue, window)
    context.update(
        {
            "forms": page_forms.page_forms("queue", user, queue),
            "can_manage": user.has_perm(services.MANAGE),
            "live_groups": [f"queue.{queue.pk}"],
        }
    )
    return render(request, "queues/queue_detail.html", context)


@permission_required(VIEW, raise_exception=True)
def queue_live(request, name):
    """The live part of a queue's page alone, fetched by open pages whenever the queue changes."""
    queue = _queue_or_404(name)
    return render(request, "queues/_queue_live.html", _live_context(request, queue, _window(request)))


@require_POST
@permission_required(VIEW, raise_exception=True)
def queue_settings(request, name):
    """Change the portal's own service-level target and goal for a queue."""
    queue = _queue_or_404(name)
    if not request.user.has_perm(services.MANAGE):
        raise PermissionDenied("You do not have permission to change queue settings.")
    form = ServiceLevelForm(request.POST)
    try:
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        services.queue_set_service_level(
            queue=queue, user=request.user, target_secs=form.cleaned_data["service_level_target_secs"],
            goal_percent=form.cleaned_data["service_level_goal_percent"],
        )
    except PermissionDenied:
        raise
    except serializers.ValidationError as exc:
        messages.error(request, "Service level not changed: " + "; ".join(
            f"{k.replace('_', ' ')}: {' '.join(str(m) for m in v)}" for k, v in exc.detail.items()
        ))
    else:
        messages.success(request, "Service level target saved.")
    return redirect(reverse("queue-detail", args=[queue.name]))


def _sync(request):
    """Ask for a sync with Telnyx now (it also runs periodically)."""
    if not request.user.has_perm("queues.control_queue"):
        raise PermissionDenied("You do not have permission to sync queues.")

    request_sync_now(request, sync_queues, what="board")
    return redirect("queue-list")
