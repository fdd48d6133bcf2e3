"""Conference pages: the live list, the control room, and the action endpoints behind its forms."""
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from conferencing import selectors
from portal.commands import actions, forms

# Forms drawn on the conference page; the per-participant buttons use the same endpoints.
PAGE_FORMS = [
    "conference.mute", "conference.unmute", "conference.hold", "conference.unhold", "conference.play", "conference.stop",
    "conference.speak", "conference.send_dtmf", "conference.gather_using_audio", "conference.join",
    "conference.record_start", "conference.record_pause", "conference.record_resume", "conference.record_stop",
    "conference.update", "conference.update_participant", "conference.leave", "conference.end",
]


@permission_required("conferencing.view_conference", raise_exception=True)
def conference_list(request):
    filterset = selectors.ConferenceFilter(request.GET, queryset=selectors.conference_queryset())
    return render(
        request,
        "conferencing/conference_list.html",
        {
            "filterset": filterset,
            "conferences": filterset.qs[:100] if filterset.is_valid() else [],
            "filtered": bool(request.GET),
            "live_groups": [] if request.GET else ["conferences"],
            "can_create": request.user.has_perm("conferencing.control_conference"),
        },
    )


def _roster_context(request, conference):
    user = request.user
    available = [a for a in (actions.get(n) for n in PAGE_FORMS) if a and all(user.has_perm(p) for p in a.permissions_for({}))]
    return {
        "conference": conference,
        "forms": [{"action": a, "fields": forms.field_specs(a)} for a in available],
        "can_control": user.has_perm("conferencing.control_conference"),
        "can_supervise": user.has_perm("conferencing.supervise_conference"),
        "call_legs": selectors.known_call_legs(),
    }


@permission_required("conferencing.view_conference", raise_exception=True)
def conference_detail(request, conference_id):
    conference = selectors.conference_with_roster(conference_id)
    if conference is None:
        raise Http404("No such conference.")
    context = _roster_context(request, conference)
    context.update(
        {
            "timeline": selectors.conference_timeline(conference),
            "recordings": conference_recordings(conference),
            "live_groups": [f"conference.{conference_id}"],
        }
    )
    return render(request, "conferencing/conference_detail.html", context)


def conference_recordings(conference):
    from recordings.models import Recording

    return Recording.objects.filter(conference_id=conference.conference_id)


@permission_required("conferencing.view_conference", raise_exception=True)
def conference_live(request, conference_id):
    """The roster and controls alone, fetched by open pages when the conference changes."""
    conference = selectors.conference_with_roster(conference_id)
    if conference is None:
        raise Http404("No such conference.")
    return render(request, "conferencing/_conference_live.html", _roster_context(request, conference))


@require_POST
@permission_required("conferencing.control_conference", raise_exception=True)
def conference_sync(request):
    """Ask for a sync with Telnyx now (the periodic one runs every minute while any is active)."""
    from conferencing.tasks import sync_conferences

    try:
        sync_conferences.delay()
        messages.success(request, "Sync with Telnyx requested; the list updates as it lands.")
    except Exception:  # noqa: BLE001 - broker down: say so rather than fail the page
        messages.error(request, "Could not queue the sync: the task queue is unavailable. Try again shortly.")
    return redirect("conference-list")


@permission_required("conferencing.control_conference", raise_exception=True)
def conference_create(request):
    """Start a conference from a call leg."""
    action = actions.get("conference.create")
    errors = None
    if request.method == "POST":
        command, errors = forms.issue_from_post(request, action.name, request.POST.get("call_control_id", ""))
        if not errors:
            messages.success(request, f"Conference requested (command #{command.pk}). It appears here when Telnyx confirms it.")
            return redirect("conference-list")
    return render(
        request,
        "conferencing/conference_create.html",
        {
            "action": action, "fields": forms.field_specs(action), "errors": errors or {}, "values": request.POST,
            "call_legs": selectors.known_call_legs(), "live_groups": [],
        },
    )
