"""Administrators' pages for alert rules and channels: create, edit, enable or disable, delete (issue 26).

The pages check the same Django permissions as the API and the admin, and write through the same services,
which check them again.
"""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from alerts import services
from alerts.forms import AlertChannelForm, AlertRuleForm
from alerts.models import AlertChannel, AlertRule

FORM_TEMPLATE = "alerts/manage_form.html"
CONFIRM_TEMPLATE = "alerts/confirm_delete.html"


def _form_page(request, form, title: str, submit: str, status: int = 200):
    return render(request, FORM_TEMPLATE, {"form": form, "title": title, "submit": submit,
                                           "cancel": reverse("alert-rules")}, status=status)


def _rule_saved(request, form, rule=None):
    """Save a valid rule form through the services; the page to show next."""
    fields, channels = form.service_fields(), form.cleaned_data["channels"]
    if rule is None:
        rule = services.alert_rule_create(user=request.user, channels=channels, **fields)
        messages.success(request, f"Alert rule {rule.name} created.")
    else:
        services.alert_rule_update(rule=rule, user=request.user, channels=channels, **fields)
        messages.success(request, f"Alert rule {rule.name} saved.")
    return redirect(f"{reverse('alert-rules')}#rule-{rule.pk}")


@permission_required("alerts.add_alertrule", raise_exception=True)
def rule_create(request):
    form = AlertRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _rule_saved(request, form)
    return _form_page(request, form, "New alert rule", "Create rule", status=400 if form.errors else 200)


@permission_required("alerts.change_alertrule", raise_exception=True)
def rule_edit(request, pk):
    rule = get_object_or_404(AlertRule, pk=pk)
    title = f"Alert rule {rule.name}"  # before the form writes the posted name onto the instance
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        return _rule_saved(request, form, rule)
    return _form_page(request, form, title, "Save rule", status=400 if form.errors else 200)


@require_POST
@permission_required("alerts.change_alertrule", raise_exception=True)
def rule_enable(request, pk):
    """Enable (`enabled=true`) or disable (`enabled=false`) one rule from the list."""
    rule = get_object_or_404(AlertRule, pk=pk)
    value = request.POST.get("enabled", "")
    if value not in ("true", "false"):
        messages.error(request, "Say whether to enable or disable the rule.")
    else:
        services.alert_rule_update(rule=rule, user=request.user, enabled=value == "true")
        messages.success(request, f"Alert rule {rule.name} {'enabled' if rule.enabled else 'disabled'}.")
    return redirect(f"{reverse('alert-rules')}#rule-{rule.pk}")


@permission_required("alerts.delete_alertrule", raise_exception=True)
def rule_delete(request, pk):
    """GET asks for confirmation; POST deletes (its open alerts resolve, their history stays)."""
    rule = get_object_or_404(AlertRule, pk=pk)
    if request.method == "POST":
        services.alert_rule_delete(rule=rule, user=request.user)
        messages.success(request, f"Alert rule {rule.name} deleted.")
        return redirect("alert-rules")
    consequence = "Its open alerts resolve now; their history stays under the rule's name."
    return render(request, CONFIRM_TEMPLATE, {"what": f"the alert rule {rule.name}", "consequence": consequence,
                                              "cancel": reverse("alert-rules")})


@permission_required("alerts.add_alertchannel", raise_exception=True)
def channel_create(request):
    form = AlertChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = services.alert_channel_create(user=request.user, secret=form.secret_change() or "",
                                                **form.service_fields())
        messages.success(request, f"Alert channel {channel.name} created.")
        return redirect(f"{reverse('alert-rules')}#channel-{channel.pk}")
    return _form_page(request, form, "New alert channel", "Create channel", status=400 if form.errors else 200)


@permission_required("alerts.change_alertchannel", raise_exception=True)
def channel_edit(request, pk):
    channel = get_object_or_404(AlertChannel, pk=pk)
    title = f"Alert channel {channel.name}"  # before the form writes the posted name onto the instance
    form = AlertChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        services.alert_channel_update(channel=channel, user=request.user, secret=form.secret_change(),
                                      **form.service_fields())
        messages.success(request, f"Alert channel {channel.name} saved.")
        return redirect(f"{reverse('alert-rules')}#channel-{channel.pk}")
    return _form_page(request, form, title, "Save channel", status=400 if form.errors else 200)


@permission_required("alerts.delete_alertchannel", raise_exception=True)
def channel_delete(request, pk):
    """GET asks for confirmation; POST deletes (rules that sent through it no longer do)."""
    channel = get_object_or_404(AlertChannel, pk=pk)
    if request.method == "POST":
        services.alert_channel_delete(channel=channel, user=request.user)
        messages.success(request, f"Alert channel {channel.name} deleted.")
        return redirect("alert-rules")
    rules = list(channel.rules.values_list("name", flat=True))
    consequence = (f"Rules that send through it stop doing so: {', '.join(rules)}." if rules
                   else "No rule sends through it.") + " Its delivery log goes with it."
    return render(request, CONFIRM_TEMPLATE, {"what": f"the alert channel {channel.name}", "consequence": consequence,
                                              "cancel": reverse("alert-rules")})
