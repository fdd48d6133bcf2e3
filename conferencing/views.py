"""Conference pages: the live list, the control room and its live regions, and the create page."""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from conferencing import selectors
from conferencing.models import Conference
from conferencing.tasks import sync_conferences
from portal.commands import actions, forms, page_forms
from portal.paging import list_page
from portal.sync import request_sync_now

VIEW = "conferencing.view_conference"


@permission_required(VIEW, raise_exception=True)
def conference_list(request):
    filterset = selectors.ConferenceFilter(request.GET, queryset=selectors.conference_queryset())
    queryset = filterset.qs if filterset.is_valid() else Conference.objects.none()
    context = list_page(request, queryset, group="conferences", per_page=selectors.PAGE_SIZE)
    context.update(
        filterset=filterset, conferences=context["rows"],
        can_create=request.user.has_perm("conferencing.control_conference"),
    )
    return render(request, "conferencing/conference_list.html", context)


def _conference_or_404(conference_id):
    conference = selectors.conference_with_roster(conference_id)
    if conference is None:
        raise Http404("No such conference.")
    return conference


def _roster_context(request, conference):
    user = request.user
    return {
        "conference": conference,
        "can_control": user.has_perm("conferencing.control_conference"),
        "can_supervise": user.has_perm("conferencing.supervise_conference"),
        "call_legs": selectors.known_call_legs(),
    }


def _controls_context(request, conference):
    return {
        "conference": conference, "form_groups": page_forms.page_form_groups("conference", request.user, conference),
        "can_control": request.user.has_perm("conferencing.control_conference"),
    }


def _timeline_context(conference):
    return {"conference": conference, "timeline": selectors.conference_timeline(conference)}


def _recordings_context(conference):
    return {"conference": conference, "recordings": selectors.conference_recordings(conference)}


@permission_required(VIEW, raise_exception=True)
def conference_detail(request, conference_id):
    conference = _conference_or_404(conference_id)
    context = {
        **_roster_context(request, conference), **_controls_context(request, conference),
        **_timeline_context(conference), **_recordings_context(conference),
        "live_groups": [f"conference.{conference_id}"],
    }
    return render(request, "conferencing/conference_detail.html", context)


@permission_required(VIEW, raise_exception=True)
def conference_live(request, conference_id):
    """Facts and roster alone, fetched by open pages when the conference changes."""
    conference = _conference_or_404(conference_id)
    return render(request, "conferencing/_conference_live.html", _roster_context(request, conference))


@permission_required(VIEW, raise_exception=True)
def conference_timeline(request, conference_id):
    """The timeline alone (events and commands, grouped and folded), fetched by open pages."""
    return render(request, "conferencing/_conference_timeline.html", _timeline_context(_conference_or_404(conference_id)))


@permission_required(VIEW, raise_exception=True)
def conference_recordings(request, conference_id):
    """The recordings panel alone, fetched when a recording is saved."""
    return render(request, "conferencing/_conference_recordings.html", _recordings_context(_conference_or_404(conference_id)))


@permission_required(VIEW, raise_exception=True)
def conference_controls(request, conference_id):
    """The controls alone, fetched when the conference ends (they go) or the socket reconnects."""
    conference = _conference_or_404(conference_id)
    return render(request, "conferencing/_conference_controls.html", _controls_context(request, conference))


@require_POST
@permission_required("conferencing.control_conference", raise_exception=True)
def conference_sync(request):
    """Ask for a sync with Telnyx now (the periodic one runs every minute while any is active)."""
    request_sync_now(request, sync_conferences, what="list")
    return redirect("conference-list")


@permission_required("conferencing.control_conference", raise_exception=True)
def conference_create(request):
    """Start a conference from a live call leg, picked from the legs the portal knows."""
    action = actions.get("conference.create")
    errors = None
    if request.method == "POST":
        # A leg the portal never heard of (placed before it was installed) can still be typed in; the
        # declaration refuses it unless "force" is ticked, as at the API (issue 30).
        request.POST = request.POST.copy()
        other = request.POST.pop("other_call_control_id", [""])[0].strip()
        if other:
            request.POST["call_control_id"] = other
        command, errors = forms.issue_from_post(request, action.name, request.POST.get("call_control_id", ""))
        if not errors:
            messages.success(request, f"Conference requested (command #{command.pk}). It appears here when Telnyx confirms it.")
            return redirect("conference-list")
    fields = [f for f in forms.field_specs(action) if f["name"] != "call_control_id"]
    return render(
        request,
        "conferencing/conference_create.html",
        {
            "action": action, "fields": fields, "errors": errors or {}, "values": request.POST,
            "call_legs": selectors.known_call_legs(), "live_groups": [],
        },
    )
