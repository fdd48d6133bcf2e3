"""Calls pages: the live list (active and recent legs) and one call's page with its controls."""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from calls import selectors
from calls.actions import CONTROL, SUPERVISE
from calls.live import call_group
from portal import voice_content
from portal.commands import actions, forms, page_forms
from portal.profiles import profile_phone
from portal.services import profile_phone_remember


@permission_required("calls.view_call", raise_exception=True)
def call_list_view(request):
    filterset = selectors.CallFilter(request.GET, queryset=selectors.call_queryset())
    valid = filterset.is_valid()
    page_number = request.GET.get("page") or 1
    context = selectors.call_list_context(filterset.qs if valid else selectors.call_queryset().none(), page_number)
    filtered = any(v for k, v in request.GET.items() if k != "page")
    first_page = context["recent_page"].number == 1
    return render(
        request,
        "calls/call_list.html",
        {
            **context,
            "filterset": filterset,
            "filtered": filtered,
            "live": not filtered and first_page,
            "live_groups": ["calls"] if not filtered and first_page else [],
        },
    )


def _call_or_404(call_control_id: str):
    call = selectors.call_by_control_id(call_control_id)
    if call is None:
        raise Http404("No such call.")
    return call


def _links_context(request, call) -> dict:
    user = request.user
    return {
        "call": call,
        "links": selectors.call_links(call),
        "can_control": user.has_perm(CONTROL),
        "can_supervise": user.has_perm(SUPERVISE),
        "my_phone": profile_phone(user),
    }


@permission_required("calls.view_call", raise_exception=True)
def call_detail_view(request, call_control_id):
    call = _call_or_404(call_control_id)
    return render(
        request,
        "calls/call_detail.html",
        {
            **_links_context(request, call),
            "live_legs": selectors.live_legs(exclude=call.call_control_id),
            "timeline": selectors.call_timeline(call, masked=not voice_content.may_hear(request.user)),
            **selectors.call_heard_context(call, request.user),
            "control_groups": page_forms.page_form_groups("call", request.user, call),
            # What was said or pressed comes on its own group: unmasked for listeners, masked for others.
            "live_groups": [call_group(call), *voice_content.content_groups(call_group(call), request.user)],
        },
    )


@permission_required("calls.view_call", raise_exception=True)
def call_live_view(request, call_control_id):
    """The header alone: re-fetched by open pages when their socket (re)opens."""
    return render(request, "calls/_call_live.html", {"call": _call_or_404(call_control_id)})


@permission_required("calls.view_call", raise_exception=True)
def call_timeline_view(request, call_control_id):
    """The timeline alone: re-fetched when a command on the call changes or the socket (re)opens."""
    call = _call_or_404(call_control_id)
    timeline = selectors.call_timeline(call, masked=not voice_content.may_hear(request.user))
    return render(request, "calls/_call_timeline.html", {"call": call, "timeline": timeline})


@permission_required("calls.view_call", raise_exception=True)
def call_heard_view(request, call_control_id):
    """DTMF and transcript panes: re-fetched when the socket (re)opens."""
    call = _call_or_404(call_control_id)
    return render(request, "calls/_call_heard.html", {"call": call, **selectors.call_heard_context(call, request.user)})


@permission_required("calls.view_call", raise_exception=True)
def call_links_view(request, call_control_id):
    """Listeners, dialed-for and bridged-with alone: re-fetched when a related leg changes."""
    return render(request, "calls/_call_links.html", _links_context(request, _call_or_404(call_control_id)))


@require_POST
def call_listen_in_view(request, call_control_id):
    """Listen in from the call page: the same command as the API's, then the number is remembered."""
    call = _call_or_404(call_control_id)
    command, errors = forms.issue_from_post(request, "call.listen_in", call.call_control_id)
    if not errors:
        profile_phone_remember(user=request.user, phone_number=command.params["to"])
    if request.htmx:
        return render(request, "portal/commands/_issue_result.html",
                      {"command": command, "errors": errors, "action": actions.get("call.listen_in")})
    if errors:
        messages.error(request, "Listen in: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
    else:
        messages.success(request, f"Listen in queued (command #{command.pk}): your phone rings shortly.")
    return redirect("call-detail", call.call_control_id)
