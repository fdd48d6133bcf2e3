"""Alert pages: the list (filters, CSV, live), one alert with its deliveries, acknowledge, the banner, rules and channels."""
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from rest_framework import serializers

from alerts import export, selectors, services
from alerts.models import Alert, AlertChannel
from portal.paging import list_page

VIEW = "alerts.view_alert"


def _filtered(request):
    filterset = selectors.AlertFilter(request.GET, queryset=selectors.alert_queryset())
    return filterset, (filterset.qs if filterset.is_valid() else Alert.objects.none())


@permission_required(VIEW, raise_exception=True)
def alert_list(request):
    """Every alert, newest first, filtered; `?format=csv` exports the filtered rows."""
    filterset, queryset = _filtered(request)
    if request.GET.get("format") == "csv" and filterset.is_valid():
        response = StreamingHttpResponse(export.csv_rows(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="alerts-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response
    context = list_page(request, queryset, group="alerts")
    context.update(filterset=filterset, alerts=context["rows"], live_groups=[],
                   can_acknowledge=request.user.has_perm(services.ACKNOWLEDGE))
    return render(request, "alerts/alert_list.html", context, status=200 if filterset.is_valid() else 400)


@permission_required(VIEW, raise_exception=True)
def alert_detail(request, pk):
    alert = get_object_or_404(selectors.alert_queryset(), pk=pk)
    context = {"alert": alert, "deliveries": selectors.recent_deliveries(alert=alert),
               "can_acknowledge": request.user.has_perm(services.ACKNOWLEDGE)}
    return render(request, "alerts/alert_detail.html", context)


@require_POST
@permission_required(VIEW, raise_exception=True)
def alert_acknowledge(request, pk):
    """Acknowledge (Operators and above) with an optional note; back to where the button was."""
    alert = get_object_or_404(Alert, pk=pk)
    try:
        services.alert_acknowledge(alert=alert, user=request.user, note=request.POST.get("note", ""))
    except serializers.ValidationError as exc:
        messages.error(request, " ".join(str(m) for v in exc.detail.values() for m in v))
    else:
        messages.success(request, f"Alert acknowledged: {alert.rule_name} ({alert.where}).")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("alert-detail", pk=alert.pk)


@permission_required(VIEW, raise_exception=True)
def alert_banner(request):
    """The banner and navigation count alone, fetched by open pages whenever alerts change."""
    # Fetched by the page it shows on: acknowledging from it returns to that page (the fetch's Referer).
    referer = request.META.get("HTTP_REFERER", "")
    back = urlsplit(referer)
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    page = (back.path + (f"?{back.query}" if back.query else "")) if same_site and back.path else reverse("alert-list")
    return render(request, "alerts/_banner_refresh.html", {"next": page})


@permission_required("alerts.view_alertrule", raise_exception=True)
def rule_list(request):
    """Rules (everyone may read them); channels with their recent deliveries and a test button (Administrators)."""
    can_channels = request.user.has_perm("alerts.view_alertchannel")
    channels = list(selectors.channel_queryset()) if can_channels else []
    context = {
        "rules": selectors.rule_queryset(),
        "channels": [(c, selectors.recent_deliveries(channel=c, limit=5)) for c in channels],
        "can_channels": can_channels, "can_test": request.user.has_perm("alerts.test_alertchannel"),
        "can_manage": request.user.has_perm("alerts.change_alertrule"),
        "can_add_rule": request.user.has_perm("alerts.add_alertrule"),
        "can_delete_rule": request.user.has_perm("alerts.delete_alertrule"),
        "can_add_channel": request.user.has_perm("alerts.add_alertchannel"),
        "can_change_channel": request.user.has_perm("alerts.change_alertchannel"),
        "can_delete_channel": request.user.has_perm("alerts.delete_alertchannel"),
    }
    return render(request, "alerts/rule_list.html", context)


@require_POST
@permission_required(VIEW, raise_exception=True)
def channel_test(request, pk):
    """"Send a test" for one channel; its delivery appears under the channel."""
    channel = get_object_or_404(AlertChannel, pk=pk)
    if not request.user.has_perm("alerts.test_alertchannel"):
        raise PermissionDenied("You do not have permission to send a test through alert channels.")
    services.alert_channel_send_test(channel=channel, user=request.user)
    messages.success(request, f"Test queued for {channel.name}; its outcome shows below.")
    return redirect("alert-rules")
