"""Commands pages: the live audit list, one command's detail, and the page door for every action."""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.commands import actions, forms, services
from portal.commands.selectors import CommandFilter, command_queryset
from portal.models import Command
from portal.paging import list_page


@permission_required("portal.view_command", raise_exception=True)
def command_list(request):
    filterset = CommandFilter(request.GET, queryset=command_queryset())
    queryset = filterset.qs if filterset.is_valid() else Command.objects.none()
    context = list_page(request, queryset, group="commands")
    context.update(filterset=filterset, commands=context["rows"])
    return render(request, "portal/commands/command_list.html", context)


@permission_required("portal.view_command", raise_exception=True)
def command_detail(request, pk):
    """One command: who, what was sent, Telnyx's answer as JSON; its status updates live."""
    command = get_object_or_404(command_queryset(), pk=pk)
    return render(
        request,
        "portal/commands/command_detail.html",
        {
            "command": command, "action": actions.get(command.action), "retries": command.retries.all(),
            "live_groups": ["commands"], "can_retry": request.user.has_perm("portal.retry_command"),
        },
    )


@require_POST
def command_retry(request, pk):
    """The one-click deliberate retry of a failed or outcome-unknown command; a repeated submit retries once."""
    original = get_object_or_404(Command, pk=pk)
    if not original.can_be_retried:
        messages.error(request, f"Command #{original.pk} is {original.get_status_display().lower()}: nothing to retry.")
        return redirect("command-detail", pk=original.pk)
    issued, replayed, errors = forms.issue_once_from_post(request, lambda: services.commands_retry(
        queryset=Command.objects.filter(pk=original.pk), user=request.user, door=Command.Door.PAGE,
    ))
    if errors or not issued:
        messages.error(request, " ".join(m for v in (errors or {}).values() for m in v) or "Nothing to retry.")
        return redirect("command-detail", pk=original.pk)
    if replayed:
        messages.info(request, f"Already retried as command #{issued[0].pk}; nothing sent again.")
    else:
        messages.success(request, f"Retry of #{original.pk} queued as command #{issued[0].pk}.")
    return redirect("command-detail", pk=issued[0].pk)


@require_POST
def action_issue(request, plural, target, action):
    """The one page door for every action on every kind: `/<plural>/<target>/actions/<action>/`.

    htmx gets the result fragment (queued, or the field errors); a plain form post is redirected back
    with a message. Permission is the command service's to check, as for the admin and the API.
    """
    kind = actions.kind_by_plural(plural)
    declared = actions.action_for(kind, action) if kind else None
    if declared is None:
        raise Http404("No such action.")
    if kind.find(target) is None:
        raise Http404(f"No such {kind.name}.")
    command, errors = forms.issue_from_post(request, declared.name, target)
    if request.htmx:
        return render(request, "portal/commands/_issue_result.html", {"command": command, "errors": errors, "action": declared})
    if errors:
        messages.error(request, f"{declared.label}: " + "; ".join(
            f"{k}: {' '.join(v)}" if k != "non_field_errors" else " ".join(v) for k, v in errors.items()
        ))
    elif getattr(command, "replayed", False):
        messages.info(request, f"{declared.label}: this form was already sent (command #{command.pk}); nothing sent again.")
    else:
        messages.success(request, f"{declared.label} queued (command #{command.pk}).")
    back = kind.detail_url(target) or request.META.get("HTTP_REFERER") or "/"
    return redirect(back if url_has_allowed_host_and_scheme(back, {request.get_host()}) else "/")
