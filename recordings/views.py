"""Recordings pages: the searchable live list, one recording with player and transcript, audio, ZIP, deletion."""
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal import voice_content
from portal.commands import forms, page_forms
from portal.models import Command
from recordings import access, capture, deletion, live, selectors, serving
from recordings.models import Recording


def _listing(request):
    filterset = selectors.RecordingFilter(request.GET, queryset=selectors.recording_queryset(), request=request)
    filtered = any(v for v in request.GET.values())
    rows = selectors.with_matches(filterset.qs[:200], request.GET.get("q", "")) if filterset.is_valid() else []
    return filterset, filtered, rows


def _shortcuts() -> list[tuple[str, str]]:
    """The "Today" and "Last hour" shortcuts of the list, as values of its `since` filter."""
    now = timezone.localtime()
    return [("Today", now.date().isoformat()), ("Last hour", (now - timedelta(hours=1)).replace(microsecond=0).isoformat())]


@permission_required("recordings.view_recording", raise_exception=True)
def recording_list_view(request):
    filterset, filtered, rows = _listing(request)
    user = request.user
    return render(request, "recordings/recording_list.html", {
        "filterset": filterset, "recordings": rows, "filtered": filtered,
        "live_groups": [] if filtered else ["recordings"],
        "can_listen": user.has_perm(access.LISTEN), "can_delete": user.has_perm(deletion.DELETE),
        "searching": bool(request.GET.get("q")), "q": request.GET.get("q", ""),
        "shortcuts": _shortcuts(),
    })


def _recording_or_404(recording_id: str) -> Recording:
    recording = selectors.recording_detail(recording_id)
    if recording is None:
        raise Http404("No such recording.")
    return recording


def _detail_context(request, recording):
    user = request.user
    return {
        "recording": recording,
        "call": selectors.recording_call(recording),
        # Opened from a search: the words searched are marked in the transcript (listeners only, as the search).
        "lines": selectors.mark_lines(
            selectors.transcript_lines(recording), request.GET.get("q", "")[:200] if voice_content.may_hear(user) else "",
        ),
        "q": request.GET.get("q", "")[:200] if voice_content.may_hear(user) else "",
        "transcript_masked": not voice_content.may_hear(user),
        "access": selectors.access_log(recording),
        "can_listen": user.has_perm(access.LISTEN),
        # Placed from the declarations (issue 27): deleting is the one form of a recording's page.
        "delete_form": next(iter(page_forms.page_forms("recording", user, recording)), None),
        "file_missing": recording.is_playable and not access.storage_path_exists(recording.file.name),
    }


@permission_required("recordings.view_recording", raise_exception=True)
def recording_detail_view(request, recording_id):
    recording = _recording_or_404(recording_id)
    context = _detail_context(request, recording)
    context["live_groups"] = [live.recording_group(recording)]
    return render(request, "recordings/recording_detail.html", context)


@permission_required("recordings.view_recording", raise_exception=True)
def recording_live_view(request, recording_id):
    """The live parts of a recording's page (facts, transcript, access log), fetched when it changes."""
    recording = _recording_or_404(recording_id)
    return render(request, "recordings/_recording_live.html", _detail_context(request, recording))


@permission_required("recordings.view_recording", raise_exception=True)
def recording_audio_view(request, recording_id):
    """The stored audio, for listeners only (checked by the service), with byte ranges for seeking."""
    recording = _recording_or_404(recording_id)
    try:
        return serving.audio_response(request, recording, door="page")
    except FileNotFoundError as exc:
        raise Http404(str(exc)) from exc


def _selected(request):
    # ASCII digits that fit a bigint: "²".isdigit() is true but int() refuses it.
    pks = [pk for pk in request.POST.getlist("pk") if pk.isascii() and pk.isdigit() and len(pk) <= 18]
    return Recording.objects.filter(pk__in=pks)


@require_POST
@permission_required("recordings.view_recording", raise_exception=True)
def recordings_zip_view(request):
    """The selected recordings as one streamed ZIP (listeners only)."""
    selected = _selected(request)
    if not selected.exists():
        messages.error(request, "Select the recordings to download first.")
        return redirect("recording-list")
    try:
        return serving.zip_response(recordings=selected, user=request.user, door="page")
    except serving.TooManyForZip as exc:
        messages.error(request, str(exc))
        return redirect("recording-list")


@require_POST
@permission_required("recordings.view_recording", raise_exception=True)
def recordings_delete_view(request):
    """Delete the selected recordings at Telnyx and here (Administrators; the page asks for confirmation)."""
    selected = _selected(request)
    if not selected.exists():
        messages.error(request, "Select the recordings to delete first.")
        return redirect("recording-list")
    skipped = []

    def delete():
        issued, not_deletable = deletion.recordings_delete_request(recordings=selected, user=request.user, door=Command.Door.PAGE)
        skipped.extend(not_deletable)
        return issued

    # The form's one-time token: a resubmitted page deletes nothing twice (portal/commands/idempotency.py).
    issued, replayed, errors = forms.issue_once_from_post(request, delete)
    if errors or replayed:
        messages.info(request, " ".join(m for v in (errors or {}).values() for m in v)
                      or f"Already requested (command {', '.join(f'#{c.pk}' for c in issued)}); nothing sent again.")
        return redirect("recording-list")
    if issued:
        messages.success(request, f"Deletion of {len(issued)} recording(s) queued; each row shows when Telnyx confirms.")
    if skipped:
        messages.warning(request, "Not deleted: " + "; ".join(skipped))
    return redirect("recording-list")


@require_POST
@permission_required("recordings.view_recording", raise_exception=True)
def recording_redownload_view(request, recording_id):
    """Capture this recording again (listeners): a fresh link is asked for and the file stored anew."""
    recording = _recording_or_404(recording_id)
    count = capture.recordings_redownload(queryset=Recording.objects.filter(pk=recording.pk), user=request.user)
    if count:
        messages.success(request, "Download queued; the status below changes as it proceeds.")
    else:
        messages.info(request, "Nothing to download: it is already downloading, deleted, or was never saved by Telnyx.")
    return redirect("recording-detail", recording_id=recording.recording_id)
