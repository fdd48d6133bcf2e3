"""Every write to call legs: from webhooks and from commands Telnyx confirms without a webhook."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from calls.batch import call_by_control_id, call_cached, call_create_new
from calls.live import publish_call
from calls.models import Call, DtmfDigit, TranscriptFragment
from webhooks.payloads import text
from webhooks.pipeline import deferring
from webhooks.prepared import save_fields

# Lifecycle states in the only order a leg goes through them.
STATE_RANK = {Call.State.INITIATED: 0, Call.State.ANSWERED: 1, Call.State.BRIDGED: 2, Call.State.HANGUP: 3}
FACT_FIELDS = ["call_leg_id", "call_session_id", "connection_id", "direction", "from_number", "to_number", "started_at"]
# Fields that say something runs on the call, and their "nothing runs" value: after hangup only that value applies.
RUNNING_FIELDS = {
    "recording_state": Call.RecordingState.IDLE, "playing": False, "speaking": False, "forking": False,
    "streaming": False, "transcribing": False, "siprec": False, "noise_suppression": False, "queue_name": "",
    "conference_id": "",
}


# How the call sync words a hangup it inferred: Telnyx no longer knows the leg, or reports it ended.
HANGUP_NOT_FOUND = "not found at sync"
HANGUP_ENDED = "ended (found at sync)"
SYNC_HANGUP_CAUSES = (HANGUP_NOT_FOUND, HANGUP_ENDED)


def call_find(*, call_control_id: str = "", call_leg_id: str = "", call_session_id: str = "") -> Call | None:
    """The leg by its control id, else by leg id, else the only leg of a session; None if unknown."""
    if call_control_id:
        return call_by_control_id(call_control_id)
    if call_leg_id:
        found = Call.objects.filter(call_leg_id=call_leg_id).first()
        if found:
            return found
    if call_session_id:
        legs = list(Call.objects.filter(call_session_id=call_session_id)[:2])
        return legs[0] if len(legs) == 1 else None
    return None


def call_seen(
    *, call_control_id: str, occurred_at: datetime | None, facts: dict, client_state: str = "",
    create_state: str = Call.State.ANSWERED,
) -> Call:
    """The leg for an event, created if new; facts fill blanks whatever the order, client_state follows time.

    A leg first heard of by a mid-call event (DTMF, playback...) is answered: Telnyx sends those only then.
    """
    call, changed = _call_seen_unsaved(
        call_control_id=call_control_id, occurred_at=occurred_at, facts=facts, client_state=client_state,
        create_state=create_state,
    )
    if changed:
        save_fields(call, changed)
    return call


def _call_seen_unsaved(
    *, call_control_id: str, occurred_at: datetime | None, facts: dict, client_state: str, create_state: str,
) -> tuple[Call, list[str]]:
    """`call_seen` leaving its changes unsaved: (the leg, fields the caller saves with its own write).

    Every event carries client_state and a newer occurred_at, so a separate save cost each event a
    second UPDATE of the same row (issue 13).
    """
    defaults = {"state": create_state, **{name: facts[name] for name in FACT_FIELDS if facts.get(name) not in (None, "")}}
    if client_state:
        defaults.update(client_state=client_state, client_state_at=occurred_at)
    call = call_cached(call_control_id)  # a batch's legs are loaded in one query (calls/batch.py)
    if call is None:
        call, created = call_create_new(call_control_id, defaults)
        if created:
            return call, []  # born with its facts: no second write
    changed = []
    for name in FACT_FIELDS:
        value = facts.get(name)
        if value not in (None, "") and not getattr(call, name):
            setattr(call, name, value)
            changed.append(name)
    if client_state and (call.client_state_at is None or occurred_at is None or occurred_at >= call.client_state_at):
        stamp = occurred_at or call.client_state_at
        if (call.client_state, call.client_state_at) != (client_state, stamp):
            call.client_state, call.client_state_at = client_state, stamp
            changed += ["client_state", "client_state_at"]
    return call, changed


def call_record_state(
    *, call_control_id: str, state: str, occurred_at: datetime | None, details: dict, client_state: str = "",
    event=None,
) -> Call:
    """Create the leg if new and move it forward to `state`; a late event never moves it back.

    Hangup is final: it stops everything that ran on the call and takes it out of its queue and conference.
    """
    details = dict(details)
    answered_at = details.pop("answered_at", None)
    ended_at = details.pop("ended_at", None)
    cause = {k: details.pop(k, "") for k in ("hangup_cause", "hangup_source")}
    call, fields = _call_seen_unsaved(
        call_control_id=call_control_id, occurred_at=occurred_at, facts=details, client_state=client_state,
        create_state=Call.State.INITIATED,
    )
    if answered_at and not call.answered_at:
        call.answered_at = answered_at
        fields.append("answered_at")
    if state == Call.State.HANGUP:
        # The sync's guess (calls/sync.py) gives way to Telnyx's own call.hangup if that arrives after all.
        guessed = call.hangup_cause in SYNC_HANGUP_CAUSES and event is not None
        if ended_at and (not call.ended_at or guessed):
            call.ended_at = ended_at
            fields.append("ended_at")
        for name, value in cause.items():
            if value and (not getattr(call, name) or guessed):
                setattr(call, name, value)
                fields.append(name)
        for name, off in RUNNING_FIELDS.items():
            if getattr(call, name) != off:
                setattr(call, name, off)
                fields.append(name)
    if STATE_RANK[state] > STATE_RANK[Call.State(call.state)]:
        call.state = state
        fields.append("state")
    if occurred_at and (call.last_event_at is None or occurred_at > call.last_event_at):
        call.last_event_at = occurred_at
        fields.append("last_event_at")
    if fields:
        save_fields(call, fields)
    publish_call(call, event=event, list_changed=True, dashboard=True)
    return call


def call_closed_by_sync(*, call_control_id: str, ended_at: datetime | None, checked_at: datetime, reason: str) -> Call | None:
    """Telnyx says this leg ended (or no longer knows it): hang it up here, unless an event came since the check.

    `ended_at`: Telnyx's end_time if it still had the leg, else the check's time. Returns the leg if closed.
    """
    call = call_by_control_id(call_control_id)
    if call is None or call.state == Call.State.HANGUP or (call.last_event_at and call.last_event_at > checked_at):
        return None
    ended_at = ended_at or checked_at
    return call_record_state(
        call_control_id=call_control_id, state=Call.State.HANGUP, occurred_at=ended_at,
        details={"ended_at": ended_at, "hangup_cause": reason[:64]},
    )


def _stamp(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def call_apply(
    *, call: Call, feature: str, occurred_at: datetime | None, changes: dict | None = None,
    details: dict | None = None, merge_details: bool = False, only_if: dict | None = None, unsaved: list[str] = (),
) -> bool:
    """Apply `changes` (and `feature`'s details) unless a newer event already changed that feature.

    `only_if` = {field: allowed values}: apply only while the call shows one of them (leaving queue A
    does not take the call out of queue B). Once the call has hung up nothing starts running again.
    `unsaved`: fields the caller changed on `call` already, saved with this write (or alone if none).
    """
    stamp = _stamp(call.activity_at.get(feature))
    stale = stamp and occurred_at and occurred_at < stamp
    if stale or (only_if and any(getattr(call, k) not in allowed for k, allowed in only_if.items())):
        if unsaved:
            save_fields(call, unsaved)
        return False
    changes = dict(changes or {})
    if call.state == Call.State.HANGUP:
        changes = {k: v for k, v in changes.items() if k not in RUNNING_FIELDS or v == RUNNING_FIELDS[k]}
    for name, value in changes.items():
        setattr(call, name, value)
    if details is not None:
        previous = call.activity.get(feature, {}) if merge_details else {}
        call.activity = {**call.activity, feature: {**previous, **details}}
    when = occurred_at or timezone.now()
    call.activity_at = {**call.activity_at, feature: when.isoformat()}
    save_fields(call, [*unsaved, *changes, "activity", "activity_at"])
    return True


def call_event_applied(
    *, event, feature: str, changes: dict | None = None, details: dict | None = None, merge_details: bool = False,
    only_if: dict | None = None, create: bool = True, list_changed: bool = True,
) -> Call | None:
    """Apply one webhook to its leg (found by control id, else leg or session) and publish after commit."""
    call, unsaved = _call_for_event_unsaved(event, create=create)
    if call is None:
        return None
    call_apply(
        call=call, feature=feature, occurred_at=event.occurred_at, changes=changes, details=details,
        merge_details=merge_details, only_if=only_if, unsaved=unsaved,
    )
    publish_call(call, event=event, list_changed=list_changed)
    return call


def _call_for_event(event, *, create: bool = True) -> Call | None:
    """The leg an event is about: created from its call_control_id, or only looked up (`create=False`)."""
    call, unsaved = _call_for_event_unsaved(event, create=create)
    if unsaved:
        save_fields(call, unsaved)
    return call


def _call_for_event_unsaved(event, *, create: bool = True) -> tuple[Call | None, list[str]]:
    """`_call_for_event` leaving what the event changed on the leg unsaved: (leg, fields to save)."""
    p = event.payload
    call_control_id = text(p, "call_control_id")
    if not (call_control_id and create):
        found = call_find(
            call_control_id=call_control_id, call_leg_id=text(p, "call_leg_id"), call_session_id=text(p, "call_session_id")
        )
        return found, []
    return _call_seen_unsaved(
        call_control_id=call_control_id, occurred_at=event.occurred_at, client_state=text(p, "client_state", 10_000),
        facts={
            "call_leg_id": text(p, "call_leg_id"), "call_session_id": text(p, "call_session_id"),
            "connection_id": text(p, "connection_id"), "from_number": text(p, "from", 64), "to_number": text(p, "to", 64),
        },
        create_state=Call.State.ANSWERED,
    )


def call_dtmf_received(*, event, digit: str) -> Call | None:
    """Keep one digit (once per event, whatever the delivery count) and show it on the call's page."""
    call = _call_for_event(event)
    if call is None:
        return None
    # Once per event: one INSERT that ignores a conflict (get_or_create was a SELECT, a savepoint and the INSERT).
    with deferring():  # pipelined in a drain's batch: nothing reads what it returns
        DtmfDigit.objects.bulk_create(
            [DtmfDigit(event_id=event.event_id, call=call, digit=digit[:4], occurred_at=event.occurred_at)], ignore_conflicts=True
        )
    publish_call(call, event=event, list_changed=False, dtmf=True)
    return call


def call_transcript_add(
    *, event, text: str, is_final: bool, confidence: float | None = None, track: str = ""
) -> Call | None:
    """Keep one transcription fragment (once per event); the transcript is ordered by occurred_at."""
    call = _call_for_event(event)
    if call is None:
        return None
    with deferring():  # once per event, as for DTMF digits
        TranscriptFragment.objects.bulk_create([TranscriptFragment(
            event_id=event.event_id, call=call, occurred_at=event.occurred_at, text=text, is_final=is_final,
            confidence=confidence, track=track[:16],
        )], ignore_conflicts=True)
    was = call.transcribing
    # A fragment means transcription runs, even if the command's success was not seen.
    call_apply(call=call, feature="transcription", occurred_at=event.occurred_at, changes={"transcribing": True})
    publish_call(call, event=event, list_changed=call.transcribing != was, transcript=True)
    return call


def call_insights_add(*, event, insight_group_id: str, results: list) -> Call | None:
    """Keep one group of conversation insights (replaced if Telnyx sends the same group again)."""
    call = _call_for_event(event)
    if call is None:
        return None
    kept = [i for i in call.insights if i.get("insight_group_id") != insight_group_id]
    group = {"insight_group_id": insight_group_id, "results": results,
             "at": event.occurred_at.isoformat() if event.occurred_at else ""}
    insights = sorted([*kept, group], key=lambda i: i.get("at") or "")
    if insights != call.insights:
        call.insights = insights
        call.save(update_fields=["insights"])
    publish_call(call, event=event, list_changed=False)
    return call


def call_command_applied(*, call_control_id: str, feature: str, changes: dict | None = None,
                         details: dict | None = None, merge_details: bool = False) -> Call | None:
    """Mirror a command Telnyx accepted but reports by no webhook (recording paused, suppression on...)."""
    call = call_by_control_id(call_control_id)
    if call is None:
        return None
    if call_apply(call=call, feature=feature, occurred_at=timezone.now(), changes=changes, details=details,
                  merge_details=merge_details):
        publish_call(call, list_changed=True)
    return call


def call_client_state_set(*, call_control_id: str, client_state: str) -> Call | None:
    """client_state_update succeeded: Telnyx echoes the new state from now on."""
    call = call_by_control_id(call_control_id)
    if call is None:
        return None
    call.client_state, call.client_state_at = client_state, timezone.now()
    call.save(update_fields=["client_state", "client_state_at"])
    publish_call(call, list_changed=False)
    return call
