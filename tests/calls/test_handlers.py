"""Each call webhook's effect on the call leg, in and out of order, and applied once however often delivered."""
import json

import pytest
from django.db import transaction

from calls import selectors
from calls.models import Call, DtmfDigit, TranscriptFragment
from webhooks.apply import apply_events
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
T0 = "2026-11-23T09:00:00Z"


def call(ccid="v3:cc-alice"):
    return Call.objects.get(call_control_id=ccid)


def at(minute: int, second: int = 0) -> str:
    return f"2026-11-23T09:{minute:02d}:{second:02d}Z"


def test_lifecycle_fills_facts_and_moves_forward(post_webhook, event_doc):
    post_webhook(event_doc("call.initiated", id="i", occurred_at=at(0)))
    c = call()
    assert (c.state, c.from_number, c.to_number, c.direction) == ("initiated", "+15550001111", "+15550002222", "incoming")
    assert (c.call_leg_id, c.call_session_id, c.connection_id) == ("leg-alice", "session-1", "conn-1")
    assert c.started_at.isoformat().startswith("2026-11-23T08:59")
    assert c.client_state == "aGVsbG8=" and c.client_state_text == "hello"
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(1)))
    assert call().state == "answered" and call().answered_at.isoformat().startswith("2026-11-23T09:01")
    post_webhook(event_doc("call.bridged", id="b", occurred_at=at(2)))
    assert call().state == "bridged"
    post_webhook(event_doc("call.hangup", id="h", occurred_at=at(5)))
    c = call()
    assert (c.state, c.hangup_cause, c.hangup_source) == ("hangup", "normal_clearing", "caller")
    assert c.ended_at.isoformat().startswith("2026-11-23T09:05")


def test_late_answered_never_moves_back(post_webhook, event_doc):
    post_webhook(event_doc("call.bridged", id="b", occurred_at=at(2)))
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(1)))
    post_webhook(event_doc("call.initiated", id="i", occurred_at=at(0)))
    c = call()
    assert c.state == "bridged"
    assert c.started_at is not None and c.direction == "incoming"


def test_hangup_stops_everything_and_nothing_starts_after_it(post_webhook, event_doc):
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(1)))
    post_webhook(event_doc("call.playback.started", id="p", occurred_at=at(2)))
    post_webhook(event_doc("streaming.started", id="s", occurred_at=at(2)))
    post_webhook(event_doc("call.enqueued", id="q", occurred_at=at(2)))
    c = call()
    assert c.playing and c.streaming and c.queue_name == "support"
    post_webhook(event_doc("call.hangup", id="h", occurred_at=at(5)))
    c = call()
    assert not (c.playing or c.streaming) and c.queue_name == "" and c.badges == []
    post_webhook(event_doc("call.speak.started", id="sp", occurred_at=at(3)))
    assert call().speaking is False


def test_dtmf_digits_in_pressed_order_once_each(post_webhook, event_doc):
    for event_id, second, digit in [("d2", 2, "2"), ("d1", 1, "1"), ("d3", 3, "#")]:
        post_webhook(event_doc("call.dtmf.received", id=event_id, occurred_at=at(0, second), digit=digit))
    post_webhook(event_doc("call.dtmf.received", id="d1", occurred_at=at(0, 1), digit="1"))  # redelivery
    assert selectors.call_dtmf(call()) == "12#"
    assert DtmfDigit.objects.count() == 3
    assert call().state == "answered"  # first heard of mid-call: it was answered


def test_a_digit_or_fragment_applied_again_adds_nothing_and_breaks_nothing(post_webhook, event_doc):
    """Reprocessing (reprocess_since, a retried batch) applies an event again inside one transaction: the
    conflict is ignored by the INSERT, so the transaction and the events after it go on."""
    post_webhook(event_doc("call.dtmf.received", id="again-d", occurred_at=at(0, 1), digit="5"))
    post_webhook(event_doc("call.transcription", id="again-t", occurred_at=at(0, 2)))
    assert (DtmfDigit.objects.count(), TranscriptFragment.objects.count()) == (1, 1)
    with transaction.atomic():
        apply_events(list(WebhookEvent.objects.filter(event_id__in=["again-d", "again-t"])), optimistic=True)
        assert (DtmfDigit.objects.count(), TranscriptFragment.objects.count()) == (1, 1)
        assert Call.objects.filter(call_control_id="v3:cc-alice").exists()  # the transaction is still usable


@pytest.mark.parametrize(
    "event_type, field, result, premium",
    [
        ("call.machine.detection.ended", "machine_detection", "human", False),
        ("call.machine.premium.detection.ended", "machine_detection", "human_residence", True),
        ("call.machine.greeting.ended", "machine_greeting", "beep_detected", False),
        ("call.machine.premium.greeting.ended", "machine_greeting", "no_beep_detected", True),
    ],
)
def test_machine_detection_results(post_webhook, event_doc, event_type, field, result, premium):
    post_webhook(event_doc(event_type, result=result))
    c = call()
    assert getattr(c, field) == result and c.machine_detection_premium is premium


def test_refer_started_then_failed(post_webhook, event_doc):
    post_webhook(event_doc("call.refer.started", id="r1", occurred_at=at(1), sip_notify_response=100))
    assert call().refer_status == "started"
    post_webhook(event_doc("call.refer.failed", id="r2", occurred_at=at(2), sip_notify_response=486))
    post_webhook(event_doc("call.refer.completed", id="r0", occurred_at=at(0)))  # late and older: ignored
    c = call()
    assert (c.refer_status, c.refer_sip_response) == ("failed", 486)


def test_siprec_started_stopped_failed(post_webhook, event_doc):
    post_webhook(event_doc("siprec.started", id="s1", occurred_at=at(1)))
    assert call().siprec
    post_webhook(event_doc("siprec.stopped", id="s2", occurred_at=at(2)))
    c = call()
    assert not c.siprec and c.activity["siprec"]["hangup_cause"] == "normal_clearing"
    post_webhook(event_doc("siprec.started", id="s3", occurred_at=at(3)))
    post_webhook(event_doc("siprec.failed", id="s4", occurred_at=at(4), failure_cause="timeout"))
    c = call()
    assert not c.siprec and c.activity["siprec"] == {"failure_cause": "timeout"}


def test_stop_arriving_before_start_wins(post_webhook, event_doc):
    post_webhook(event_doc("call.fork.stopped", id="f2", occurred_at=at(2)))
    post_webhook(event_doc("call.fork.started", id="f1", occurred_at=at(1)))
    assert call().forking is False
    post_webhook(event_doc("call.fork.started", id="f3", occurred_at=at(3), stream_type="decrypted"))
    c = call()
    assert c.forking and c.activity["fork"]["stream_type"] == "decrypted"


def test_conversation_ended_and_insights(post_webhook, event_doc):
    post_webhook(event_doc("call.conversation.ended", reason="all_left", duration_sec=61))
    assert call().conversation["reason"] == "all_left" and call().conversation["duration_sec"] == 61
    results = [{"insight_id": "i1", "result": {"sentiment": "positive"}}]
    post_webhook(event_doc("call.conversation_insights.generated", id="g1", results=results))
    post_webhook(event_doc("call.conversation_insights.generated", id="g1b", results=results))  # same group again
    assert [g["results"] for g in call().insights] == [results]


def test_playback_started_and_how_it_ended(post_webhook, event_doc):
    post_webhook(event_doc("call.playback.started", id="p1", occurred_at=at(1)))
    c = call()
    assert c.playing and c.activity["playback"]["media_name"] == "hold-music"
    post_webhook(event_doc("call.playback.ended", id="p2", occurred_at=at(2), status="file_not_found", status_detail="404"))
    c = call()
    assert not c.playing
    assert c.activity["playback"] == {
        "media_name": "hold-music", "media_url": "https://example.com/audio.mp3", "overlay": False,
        "status": "file_not_found", "status_detail": "404",
    }


def test_speak_started_and_ended(post_webhook, event_doc):
    post_webhook(event_doc("call.speak.started", id="s1", occurred_at=at(1)))
    assert call().speaking
    post_webhook(event_doc("call.speak.ended", id="s2", occurred_at=at(2), status="cancelled_amd"))
    assert not call().speaking and call().activity["speak"]["status"] == "cancelled_amd"


def test_recording_saved_found_by_leg_and_error_shown(post_webhook, event_doc):
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(0)))
    Call.objects.filter(call_control_id="v3:cc-alice").update(recording_state=Call.RecordingState.RECORDING)
    post_webhook(event_doc("call.recording.saved", id="rs", occurred_at=at(3)))
    assert call().recording_state == Call.RecordingState.IDLE
    assert call().activity["recording"]["recording_ended_at"] == "2026-11-23T09:00:00Z"
    post_webhook(event_doc("call.recording.error", id="re", occurred_at=at(4), reason="insufficient_credit"))
    c = call()
    assert c.recording_error == "insufficient_credit" and c.recording_state == Call.RecordingState.IDLE


def test_recording_saved_for_an_unknown_leg_creates_nothing(post_webhook, event_doc):
    post_webhook(event_doc("call.recording.saved"))
    assert Call.objects.count() == 0
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_recording_transcription_saved_noted_on_the_call(post_webhook, event_doc):
    post_webhook(event_doc("call.recording.transcription.saved"))
    assert call().activity["recording_transcription"] == {
        "recording_id": "rec-1", "recording_transcription_id": "rt-1", "status": "completed",
    }


def test_streaming_started_stopped_failed_with_reason(post_webhook, event_doc):
    post_webhook(event_doc("streaming.started", id="s1", occurred_at=at(1)))
    c = call()
    assert c.streaming and c.activity["streaming"]["stream_url"] == "wss://example.com/stream"
    post_webhook(event_doc("streaming.stopped", id="s2", occurred_at=at(2)))
    assert not call().streaming
    post_webhook(event_doc("streaming.started", id="s3", occurred_at=at(3)))
    post_webhook(event_doc("streaming.failed", id="s4", occurred_at=at(4)))
    c = call()
    assert not c.streaming and c.activity["streaming"]["failure_reason"] == "connection_failed"


def test_live_transcript_assembled_in_order_from_out_of_order_fragments(post_webhook, event_doc):
    fragments = [
        ("t3", at(0, 30), "and how can I help?", True),
        ("t1", at(0, 10), "Hello,", True),
        ("t4", at(0, 35), "I need", False),
        ("t2", at(0, 20), "thanks for calling", True),
        ("t2i", at(0, 15), "thanks for", False),  # interim superseded by the final t2
        ("t5", at(0, 40), "I need a refund", False),
    ]
    for event_id, when, text, final in fragments:
        post_webhook(event_doc("call.transcription", id=event_id, occurred_at=when,
                               transcription_data={"transcript": text, "is_final": final, "confidence": 0.9}))
    transcript = selectors.call_transcript(call())
    assert [f.text for f in transcript["lines"]] == ["Hello,", "thanks for calling", "and how can I help?"]
    assert [f.text for f in transcript["interim"]] == ["I need a refund"]
    assert call().transcribing is True
    post_webhook(event_doc("call.transcription", id="t6", occurred_at=at(0, 45),
                           transcription_data={"transcript": "I need a refund.", "is_final": True}))
    transcript = selectors.call_transcript(call())
    assert transcript["lines"][-1].text == "I need a refund." and transcript["interim"] == []
    assert TranscriptFragment.objects.count() == 7


def test_queue_and_conference_where_the_call_is(post_webhook, event_doc):
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(0)))
    post_webhook(event_doc("call.enqueued", id="q1", occurred_at=at(1)))
    assert call().queue_name == "support"
    post_webhook(event_doc("call.dequeued", id="q2", occurred_at=at(2), queue="other"))  # not its queue
    assert call().queue_name == "support"
    post_webhook(event_doc("call.dequeued", id="q3", occurred_at=at(3)))
    assert call().queue_name == "" and call().activity["queue"]["reason"] == "bridged"
    post_webhook(event_doc("conference.participant.joined", id="j", occurred_at=at(4)))
    assert call().conference_id == "conf-1"
    post_webhook(event_doc("conference.participant.left", id="l", occurred_at=at(6)))
    assert call().conference_id == ""


def test_dequeued_before_enqueued_leaves_it_out(post_webhook, event_doc):
    post_webhook(event_doc("call.dequeued", id="q2", occurred_at=at(2)))
    post_webhook(event_doc("call.enqueued", id="q1", occurred_at=at(1)))
    assert call().queue_name == ""


def test_conference_join_of_an_unknown_leg_creates_no_call(post_webhook, event_doc):
    post_webhook(event_doc("conference.participant.joined", call_control_id="v3:stranger"))
    assert not Call.objects.filter(call_control_id="v3:stranger").exists()


def test_client_state_follows_the_newest_event(post_webhook, event_doc):
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(2), client_state="bmV3"))
    post_webhook(event_doc("call.initiated", id="i", occurred_at=at(1), client_state="b2xk"))
    c = call()
    assert c.client_state == "bmV3" and c.client_state_text == "new"


def test_binary_client_state_is_not_decoded():
    assert Call(client_state="//79").client_state_text == ""
    assert Call(client_state="not base64!").client_state_text == ""


CALL_TYPES = [
    "call.initiated", "call.answered", "call.bridged", "call.hangup", "call.dtmf.received",
    "call.machine.detection.ended", "call.machine.greeting.ended", "call.machine.premium.detection.ended",
    "call.machine.premium.greeting.ended", "call.refer.started", "call.refer.completed", "call.refer.failed",
    "siprec.started", "siprec.stopped", "siprec.failed", "call.conversation.ended", "call.conversation_insights.generated",
    "call.playback.started", "call.playback.ended", "call.speak.started", "call.speak.ended", "call.recording.saved",
    "call.recording.error", "call.recording.transcription.saved", "call.fork.started", "call.fork.stopped",
    "streaming.started", "streaming.stopped", "streaming.failed", "call.transcription", "call.enqueued", "call.dequeued",
]


def test_no_call_siprec_or_streaming_fixture_is_left_ignored(post_webhook, event_doc):
    from tests.conftest import EVENTS_DIR

    fixtures = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
    ours = [t for t in fixtures if t.split(".")[0] in ("call", "siprec", "streaming")]
    assert set(ours) == set(CALL_TYPES)  # a new fixture must be handled here too
    for event_type in fixtures:
        assert post_webhook(event_doc(event_type)).status_code == 200
    statuses = dict(WebhookEvent.objects.values_list("event_type", "status"))
    not_applied = {t: statuses[t] for t in ours if statuses[t] != WebhookEvent.Status.PROCESSED}
    assert not_applied == {}


def test_applying_an_event_twice_changes_nothing(post_webhook, event_doc):
    from webhooks.apply import event_process

    for event_type in ["call.answered", "call.playback.started", "call.dtmf.received", "call.transcription", "call.enqueued"]:
        post_webhook(event_doc(event_type))
    before = (list(Call.objects.values()), DtmfDigit.objects.count(), TranscriptFragment.objects.count())
    for event in WebhookEvent.objects.all():
        event_process(event_pk=event.pk)
    assert (list(Call.objects.values()), DtmfDigit.objects.count(), TranscriptFragment.objects.count()) == before


@pytest.mark.parametrize("event_type", CALL_TYPES)
def test_call_page_renders_after_any_single_event(event_type, post_webhook, event_doc, client, viewer):
    post_webhook(event_doc("call.initiated", id="first", occurred_at=at(0)))
    post_webhook(event_doc(event_type, id="only", occurred_at=at(1)))
    assert WebhookEvent.objects.get(event_id="only").status == WebhookEvent.Status.PROCESSED
    client.force_login(viewer)
    page = client.get("/calls/v3:cc-alice/")
    assert page.status_code == 200 and event_type in page.content.decode()


def test_a_leg_first_heard_of_mid_call_is_born_with_its_facts_in_one_insert(post_webhook, event_doc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls import services

    with CaptureQueriesContext(connection) as queries:
        created = services.call_seen(
            call_control_id="v3:new-leg", occurred_at=None, client_state="aGk=",
            facts={"call_leg_id": "leg-new", "from_number": "+15550003333", "to_number": ""},
        )
    writes = [q["sql"].split()[0] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE")]
    assert writes == ["INSERT"]
    stored = call("v3:new-leg")
    assert (stored.pk, stored.state, stored.call_leg_id, stored.from_number, stored.to_number, stored.client_state) == (
        created.pk, "answered", "leg-new", "+15550003333", "", "aGk=")


@pytest.mark.parametrize("event_type", ["call.playback.started", "call.hangup"])
def test_an_event_on_a_known_leg_writes_the_leg_once(event_type, post_webhook, event_doc):
    """client_state, facts and the event's own change leave in one UPDATE, not one per step."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks.apply import event_process
    from webhooks.store import event_store

    post_webhook(event_doc("call.initiated", id="first", occurred_at=at(0)))
    doc = event_doc(event_type, id="second", occurred_at=at(5), client_state="bmV3")
    event_store(data=doc.get("data", doc), raw_body=json.dumps(doc).encode())  # stored, not applied
    pending = WebhookEvent.objects.get(event_id="second")
    with CaptureQueriesContext(connection) as queries:
        event_process(event_pk=pending.pk)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "calls_call"')]
    assert len(updates) == 1, updates
    stored = call("v3:cc-alice")
    assert (stored.client_state, stored.client_state_at.isoformat()) == ("bmV3", at(5).replace("Z", "+00:00"))
    assert WebhookEvent.objects.get(event_id="second").status == WebhookEvent.Status.PROCESSED


def test_an_ended_call_says_where_it_was(post_webhook, event_doc, client, viewer):
    """Issue 31: after it left its queue and its conference, a call still names them (not "—")."""
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(0)))
    post_webhook(event_doc("call.enqueued", id="q1", occurred_at=at(1)))
    post_webhook(event_doc("call.dequeued", id="q3", occurred_at=at(3)))
    post_webhook(event_doc("conference.participant.joined", id="j", occurred_at=at(4)))
    post_webhook(event_doc("conference.participant.left", id="l", occurred_at=at(6)))
    post_webhook(event_doc("call.hangup", id="h", occurred_at=at(7)))
    c = call()
    assert (c.queue_name, c.conference_id) == ("", "")
    assert (c.was_in_queue, c.was_in_conference) == ("support", "conf-1")
    client.force_login(viewer)
    html = client.get("/calls/").content.decode()
    assert 'href="/queues/support/">was in queue support</a>' in html
    assert 'href="/conferences/conf-1/">was in a conference</a>' in html


def test_hangup_asks_open_call_pages_to_drop_their_forms(post_webhook, event_doc, listen):
    """Issue 26: an ended call shows no action forms, on pages already open too."""
    post_webhook(event_doc("call.answered", id="a", occurred_at=at(0)))
    listen(f"call.{call().pk}")
    post_webhook(event_doc("call.answered", id="a2", occurred_at=at(1)))
    assert not any('data-refresh="call-controls"' in html for html in listen.received(f"call.{call().pk}"))
    post_webhook(event_doc("call.hangup", id="h", occurred_at=at(2)))
    assert '<div data-refresh="call-controls" hidden></div>' in listen.received(f"call.{call().pk}")
