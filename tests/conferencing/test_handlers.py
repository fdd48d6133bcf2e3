"""Each conference webhook's effect on state, in and out of order."""
import pytest

from conferencing.models import Conference, Participant
from recordings.models import Recording
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def conference():
    return Conference.objects.get(conference_id="conf-1")


def test_created_then_ended(post_webhook, event_doc):
    post_webhook(event_doc("conference.created", id="c1", occurred_at="2026-11-23T09:00:00Z"))
    assert conference().status == Conference.Status.IN_PROGRESS
    assert conference().connection_id == "conn-1"
    post_webhook(event_doc("conference.ended", id="c2", occurred_at="2026-11-23T09:30:00Z", reason="host_left"))
    c = conference()
    assert c.status == Conference.Status.COMPLETED and c.end_reason == "host_left"
    assert c.ended_at.isoformat().startswith("2026-11-23T09:30")


def test_created_arriving_after_ended_does_not_reopen(post_webhook, event_doc):
    post_webhook(event_doc("conference.ended", id="c2", occurred_at="2026-11-23T09:30:00Z"))
    post_webhook(event_doc("conference.created", id="c1", occurred_at="2026-11-23T09:00:00Z"))
    assert conference().status == Conference.Status.COMPLETED
    assert conference().created_at is not None


def test_ended_marks_everyone_left(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.joined", id="j1", occurred_at="2026-11-23T09:01:00Z"))
    post_webhook(event_doc("conference.ended", id="e", occurred_at="2026-11-23T09:30:00Z"))
    assert Participant.objects.get().status == Participant.Status.LEFT


def test_join_and_leave(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.joined", id="j1", occurred_at="2026-11-23T09:01:00Z"))
    p = Participant.objects.get()
    assert (p.status, p.call_control_id, p.call_leg_id) == (Participant.Status.JOINED, "v3:cc-alice", "leg-alice")
    post_webhook(event_doc("conference.participant.left", id="l1", occurred_at="2026-11-23T09:05:00Z"))
    p.refresh_from_db()
    assert p.status == Participant.Status.LEFT and p.left_at is not None


def test_leave_arriving_before_join_wins(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.left", id="l1", occurred_at="2026-11-23T09:05:00Z"))
    post_webhook(event_doc("conference.participant.joined", id="j1", occurred_at="2026-11-23T09:01:00Z"))
    p = Participant.objects.get()
    assert p.status == Participant.Status.LEFT
    assert p.joined_at.isoformat().startswith("2026-11-23T09:01")


def test_rejoin_after_leaving_is_joined_again(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.joined", id="j1", occurred_at="2026-11-23T09:01:00Z"))
    post_webhook(event_doc("conference.participant.left", id="l1", occurred_at="2026-11-23T09:05:00Z"))
    post_webhook(event_doc("conference.participant.joined", id="j2", occurred_at="2026-11-23T09:07:00Z"))
    assert Participant.objects.get().status == Participant.Status.JOINED


def test_floor_changed_highlights_the_speaker_and_ignores_older_changes(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.joined", id="j1", call_control_id="v3:a"))
    post_webhook(event_doc("conference.participant.joined", id="j2", call_control_id="v3:b"))
    post_webhook(event_doc("conference.floor.changed", id="f2", occurred_at="2026-11-23T09:02:00Z", call_control_id="v3:b"))
    post_webhook(event_doc("conference.floor.changed", id="f1", occurred_at="2026-11-23T09:01:00Z", call_control_id="v3:a"))
    speaking = dict(Participant.objects.values_list("call_control_id", "speaking"))
    assert speaking == {"v3:a": False, "v3:b": True}


@pytest.mark.parametrize("kind, field, on_value", [("playback", "playing_media", "hold-music"), ("speak", "speaking_tts", True)])
def test_participant_media_started_and_ended(post_webhook, event_doc, kind, field, on_value):
    post_webhook(event_doc("conference.participant.joined", id="j1"))
    post_webhook(event_doc(f"conference.participant.{kind}.started", id="s"))
    assert getattr(Participant.objects.get(), field) == on_value
    post_webhook(event_doc(f"conference.participant.{kind}.ended", id="e"))
    assert getattr(Participant.objects.get(), field) in ("", False)


def test_conference_playback_and_speak(post_webhook, event_doc):
    post_webhook(event_doc("conference.playback.started", id="p1"))
    assert conference().playing_media == "hold-music"
    post_webhook(event_doc("conference.playback.ended", id="p2"))
    assert conference().playing_media == ""
    post_webhook(event_doc("conference.speak.started", id="s1"))
    assert conference().speaking
    post_webhook(event_doc("conference.speak.ended", id="s2"))
    assert not conference().speaking


def test_recording_saved_returns_to_idle_and_lists_the_recording(post_webhook, event_doc):
    post_webhook(event_doc("conference.created", id="c1"))
    Conference.objects.update(recording_state=Conference.RecordingState.RECORDING, active_recording_id="rec-1")
    post_webhook(event_doc("conference.recording.saved", id="r1"))
    c = conference()
    assert c.recording_state == Conference.RecordingState.IDLE and c.active_recording_id == ""
    recording = Recording.objects.get()
    assert (recording.recording_id, recording.conference_id, recording.format) == ("rec-1", "conf-1", "mp3")
    assert recording.recording_urls == {"mp3": "https://example.com/rec.mp3"}
    assert recording.duration_seconds == 120


def test_all_fourteen_conference_events_are_handled(post_webhook, event_doc):
    from webhooks.registry import handled_types

    conference_types = [t for t in handled_types() if t.startswith("conference.")]
    assert len(conference_types) == 14
    for i, event_type in enumerate(conference_types):
        post_webhook(event_doc(event_type, id=f"ev-{i}"))
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}


def test_changes_are_published_to_the_conference_and_list_groups(post_webhook, event_doc, listen):
    listen("conference.conf-1")
    listen("conferences")
    listen("dashboard")
    post_webhook(event_doc("conference.participant.joined", id="j1"))
    pushed = listen.received("conference.conf-1")
    assert len(pushed) == 1  # one refresh per transaction, whatever the handlers wrote
    assert 'data-refresh="conference-live conference-timeline conference-recordings"' in pushed[0]
    assert any('id="conference-table"' in html for html in listen.received("conferences"))
    dashboard = listen.received("dashboard")
    assert len(dashboard) == 1  # folded: one render per transaction
    assert 'data-counter="participants"><span class="value">1<' in dashboard[0]
