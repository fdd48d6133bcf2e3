"""Every write to conferences and participants: from webhooks, command outcomes and sync."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from conferencing.batch import (
    conference_get_or_insert,
    ended_by,
    name_from_create_command,
    participant_get_or_create,
)
from conferencing.labels import call_label, call_labels
from conferencing.live import publish_conference, publish_conferences_synced
from conferencing.models import Conference, Participant
from webhooks.ordering import apply_if_newer, is_stale, set_if_newer
from webhooks.payloads import when
from webhooks.pipeline import deferring, execute_deferred
from webhooks.shared_rows import write_later

log = logging.getLogger(__name__)
PRESENT = [Participant.Status.JOINING, Participant.Status.JOINED]


def conference_get_or_create(*, conference_id: str, **facts) -> Conference:
    """The conference row for a Telnyx id, created on first sight; blank facts are filled in."""
    facts = _clean(facts)
    conference, created = conference_get_or_insert(conference_id, facts)  # one statement in a batch
    if not created and any(not getattr(conference, k) for k in facts):
        write_later(conference, lambda row: _set_missing(row, facts))
    return conference


def _set_missing(row, facts: dict) -> list[str]:
    """Set the facts `row` lacks; the names set."""
    missing = [k for k, v in facts.items() if not getattr(row, k)]
    for k in missing:
        setattr(row, k, facts[k])
    return missing


def _clean(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if v not in (None, "")}


def conference_started(*, conference_id: str, occurred_at: datetime | None, connection_id: str = "", name: str = "") -> Conference:
    """conference.created: in progress, unless a newer event already ended it; its name found or asked for.

    The event carries no name: it comes from the portal's own conference.create answer if there is
    one, else a task reads the conference from Telnyx after commit.
    """
    conference = conference_get_or_create(
        conference_id=conference_id, created_at=occurred_at, connection_id=connection_id,
        name=name or name_from_create_command(conference_id),
    )
    write_later(conference, lambda row: [] if row.status == Conference.Status.COMPLETED
                else set_if_newer(row, occurred_at, {"status": Conference.Status.IN_PROGRESS}))
    if not conference.name:
        transaction.on_commit(lambda: _queue_name_fetch(conference_id))
    publish_conference(conference)
    return conference


def _queue_name_fetch(conference_id: str) -> None:
    from conferencing.tasks import fetch_conference_name  # tasks import this module: imported when first used

    try:
        fetch_conference_name.delay(conference_id)
    except Exception:  # noqa: BLE001 - broker down: the periodic sync fills the name later
        log.warning("could not queue the name lookup of conference %s", conference_id, exc_info=True)


def conference_name_fill(*, conference_id: str, name: str, region: str = "") -> Conference | None:
    """Give a conference the name Telnyx knows it by, if it has none yet (a name set earlier wins)."""
    conference = Conference.objects.filter(conference_id=conference_id).first()
    if conference is None or not name:
        return conference
    changes = {k: v for k, v in {"name": name[:255], "region": region[:32]}.items() if v and not getattr(conference, k)}
    if changes:
        Conference.objects.filter(pk=conference.pk).update(**changes)
        for k, v in changes.items():
            setattr(conference, k, v)
        publish_conference(conference)
    return conference


def conference_ended(*, conference_id: str, occurred_at: datetime | None, reason: str = "") -> Conference:
    """conference.ended: completed, everyone still present has left; credits who ended it."""
    conference = conference_get_or_create(conference_id=conference_id)
    ender = ended_by(conference_id)

    def end(row) -> list[str]:  # ended is final: it applies whatever order events arrive in
        row.status = Conference.Status.COMPLETED
        row.ended_at = row.ended_at or occurred_at or timezone.now()
        row.end_reason = reason or row.end_reason
        row.ended_by_id = row.ended_by_id or ender
        row.recording_state = Conference.RecordingState.IDLE
        row.speaking = False
        row.playing_media = ""
        if occurred_at and (row.last_event_at is None or occurred_at > row.last_event_at):
            row.last_event_at = occurred_at
        # Only what ending changes: a name the fetch task filled meanwhile is not written back blank.
        return ["status", "ended_at", "end_reason", "ended_by", "recording_state", "speaking", "playing_media", "last_event_at"]

    def everyone_leaves(row) -> None:
        with deferring():  # pipelined in a drain's batch: nothing reads its count
            row.participants.filter(status__in=PRESENT).update(status=Participant.Status.LEFT, left_at=row.ended_at, speaking=False)

    write_later(conference, end, everyone_leaves)
    publish_conference(conference)
    return conference


def participant_joined(
    *, conference_id: str, call_control_id: str, occurred_at: datetime | None, call_leg_id: str = "",
    call_session_id: str = "",
) -> Participant:
    """conference.participant.joined, ignored if a newer leave is already applied."""
    conference = conference_get_or_create(conference_id=conference_id)
    if conference.status == Conference.Status.INIT:
        write_later(conference, lambda row: set_if_newer(row, occurred_at, {"status": Conference.Status.IN_PROGRESS})
                    if row.status == Conference.Status.INIT else [])
    participant, _ = participant_get_or_create(conference, call_control_id)
    filled = _fill(
        participant, call_leg_id=call_leg_id, call_session_id=call_session_id, joined_at=occurred_at,
        label="" if participant.label else call_label(call_control_id), save=False,
    )
    apply_if_newer(participant, occurred_at, {"status": Participant.Status.JOINED}, unsaved=filled)
    publish_conference(conference)
    return participant


def participant_left(
    *, conference_id: str, call_control_id: str, occurred_at: datetime | None, call_leg_id: str = "",
    call_session_id: str = "",
) -> Participant:
    """conference.participant.left, even if its join has not arrived yet."""
    conference = conference_get_or_create(conference_id=conference_id)
    participant, _ = participant_get_or_create(conference, call_control_id)
    filled = _fill(
        participant, call_leg_id=call_leg_id, call_session_id=call_session_id,
        label="" if participant.label else call_label(call_control_id), save=False,
    )
    apply_if_newer(
        participant, occurred_at, {"status": Participant.Status.LEFT, "left_at": occurred_at, "speaking": False},
        unsaved=filled,
    )
    publish_conference(conference)
    return participant


def _fill(participant: Participant, *, save: bool = True, **facts) -> list[str]:
    """Set the facts the participant lacks; save them unless the caller saves with its own write."""
    missing = {k: v for k, v in _clean(facts).items() if not getattr(participant, k)}
    for k, v in missing.items():
        setattr(participant, k, v)
    if missing and save:
        participant.save(update_fields=list(missing))
    return list(missing)


def participants_label_from_call(call_control_id: str, label: str | Callable[[], str]) -> int:
    """A call leg became known (call.initiated / call.answered, or a Call row): label its unlabelled participants.

    `label` may be a callable, worked out only if the leg has unlabelled participants (most legs
    are in no conference). Returns how many got the label; their conferences refresh after commit.
    """
    if not call_control_id:
        return 0
    unlabelled = Participant.objects.filter(call_control_id=call_control_id, label="")
    conference_pks = list(unlabelled.values_list("conference_id", flat=True))
    if not conference_pks:
        return 0
    label = label() if callable(label) else label
    if not label:
        return 0
    count = unlabelled.update(label=label[:255])
    for conference in Conference.objects.filter(pk__in=conference_pks).only("conference_id", "status"):
        publish_conference(conference)
    return count


def floor_changed(*, conference_id: str, call_control_id: str, occurred_at: datetime | None) -> Conference:
    """Who speaks now; an older floor change never overrides a newer one."""
    conference = conference_get_or_create(conference_id=conference_id)

    def change(row) -> list[str]:
        if is_stale(row, occurred_at, "floor_changed_at"):
            return []
        row.floor_changed_at = occurred_at
        return ["floor_changed_at"]

    def speakers(row) -> None:
        # Written with the conference's row at the end of the batch: the participants are in other drains'
        # partitions. Only rows whose flag changes (the previous speaker, the new one), so a participant
        # another drain's batch holds is waited for only if this floor change is about it.
        if connection.vendor == "postgresql":  # one prepared statement, pipelined in a drain's batch (was 6 % of its CPU)
            execute_deferred(connection, _speakers_sql(), (call_control_id, row.pk, call_control_id, call_control_id))
            return
        row.participants.exclude(call_control_id=call_control_id).filter(speaking=True).update(speaking=False)
        row.participants.filter(call_control_id=call_control_id, status__in=PRESENT, speaking=False).update(speaking=True)

    if write_later(conference, change, speakers):
        publish_conference(conference)
    return conference


@functools.cache
def _speakers_sql() -> str:
    """Speaking: the floor's participant (if present) and nobody else, writing only rows whose flag changes."""
    table = connection.ops.quote_name(Participant._meta.db_table)
    return (
        f"UPDATE {table} SET speaking = (call_control_id = %s) WHERE conference_id = %s AND "
        "((speaking AND call_control_id <> %s) OR (NOT speaking AND call_control_id = %s AND status IN "
        f"({', '.join(repr(str(status)) for status in PRESENT)})))"  # constants: a list parameter costs a regex per item
    )


def conference_media(*, conference_id: str, playing_media: str | None = None, speaking: bool | None = None) -> Conference:
    """Conference-wide playback / speak started or ended."""
    conference = conference_get_or_create(conference_id=conference_id)
    changes = {}
    if playing_media is not None:
        changes["playing_media"] = playing_media[:500]
    if speaking is not None:
        changes["speaking"] = speaking
    write_later(conference, lambda row: _set(row, changes))
    publish_conference(conference)
    return conference


def participant_media(
    *, conference_id: str, call_control_id: str, playing_media: str | None = None, speaking_tts: bool | None = None
) -> None:
    """Playback / speak to one participant started or ended."""
    conference = conference_get_or_create(conference_id=conference_id)
    changes = {}
    if playing_media is not None:
        changes["playing_media"] = playing_media[:500]
    if speaking_tts is not None:
        changes["speaking_tts"] = speaking_tts
    with deferring():  # pipelined in a drain's batch: nothing reads its count
        Participant.objects.filter(conference=conference, call_control_id=call_control_id).update(**changes)
    publish_conference(conference)


def recording_saved(*, conference_id: str, recording_id: str) -> None:
    """conference.recording.saved: recording state back to idle (the recordings app lists the recording)."""
    conference = conference_get_or_create(conference_id=conference_id)
    idle = {"recording_state": Conference.RecordingState.IDLE, "active_recording_id": ""}
    write_later(conference, lambda row: _set(row, idle) if row.active_recording_id in ("", recording_id) else [])
    publish_conference(conference)


def _set(row, changes: dict) -> list[str]:
    for name, value in changes.items():
        setattr(row, name, value)
    return list(changes)


def participants_set(*, conference: Conference, call_control_ids: list[str] | None, **changes) -> int:
    """Apply a command's effect (mute, hold...) to the chosen participants, or to everyone present."""
    participants = conference.participants.filter(status__in=PRESENT)
    if call_control_ids:
        participants = participants.filter(call_control_id__in=call_control_ids)
    count = participants.update(**changes)
    publish_conference(conference)
    return count


def conference_set(*, conference: Conference, **changes) -> None:
    """Apply a command's effect to the conference row (recording state...), never reviving an ended one."""
    Conference.objects.filter(pk=conference.pk).exclude(status=Conference.Status.COMPLETED).update(**changes)
    publish_conference(conference)


def participant_expect(*, conference: Conference, call_control_id: str, **settings_) -> Participant:
    """A join command succeeded: show the leg as joining with its options until Telnyx confirms."""
    participant, created = Participant.objects.get_or_create(
        conference=conference, call_control_id=call_control_id, defaults={**settings_, "label": call_label(call_control_id)}
    )
    if not created:
        if participant.status == Participant.Status.LEFT:
            settings_["status"] = Participant.Status.JOINING
            settings_["left_at"] = None
        Participant.objects.filter(pk=participant.pk).update(**settings_)
    publish_conference(conference)
    return participant


SYNCED_CONFERENCE_FIELDS = [
    "name", "region", "connection_id", "created_at", "expires_at", "status", "ended_at", "end_reason", "synced_at",
]
SYNCED_PARTICIPANT_FIELDS = [
    "call_leg_id", "status", "muted", "on_hold", "end_conference_on_exit", "soft_end_conference_on_exit",
    "whisper_call_control_ids", "joined_at", "left_at", "speaking", "label",
]


# A join Telnyx reports this close to (or after) the moment a roster was fetched may be missing from
# that roster (its clock and ours differ a little; its list may lag its webhooks): such a participant
# is not closed by that roster, the next sync decides.
SYNC_JOIN_GRACE = timedelta(seconds=5)


@transaction.atomic
def conference_sync_page(*, telnyx_conferences: list[dict], participants_by_conference: dict[str, list[dict]],
                         fetched_at: datetime | None = None) -> dict:
    """Upsert one page of Telnyx's conferences (any status) and their participants in a constant number of queries.

    `fetched_at`: when the participant lists were asked for (before the first request). A participant
    whose join was applied after that is absent from them without having left (issue 23).
    """
    now = timezone.now()
    fetched_at = fetched_at or now
    ids = [c["id"] for c in telnyx_conferences]
    existing = {c.conference_id: c for c in Conference.objects.filter(conference_id__in=ids)}
    created, updated = [], []
    for data in telnyx_conferences:
        conference = existing.get(data["id"]) or Conference(conference_id=data["id"])
        conference.name = data.get("name") or conference.name
        conference.region = data.get("region") or conference.region
        conference.connection_id = data.get("connection_id") or conference.connection_id
        conference.created_at = conference.created_at or when(data.get("created_at"))
        conference.expires_at = when(data.get("expires_at")) or conference.expires_at
        if data.get("status") in (Conference.Status.INIT, Conference.Status.IN_PROGRESS) and conference.status != Conference.Status.COMPLETED:
            conference.status = data["status"]
        elif data.get("status") == Conference.Status.COMPLETED:
            # Completed is final; its end time is Telnyx's last update (the list has no ended_at).
            conference.status = Conference.Status.COMPLETED
            conference.ended_at = conference.ended_at or when(data.get("updated_at")) or conference.expires_at or now
            conference.end_reason = conference.end_reason or (data.get("end_reason") or "")[:64]
        conference.synced_at = now
        (updated if conference.pk else created).append(conference)
    Conference.objects.bulk_create(created)
    Conference.objects.bulk_update(updated, SYNCED_CONFERENCE_FIELDS)
    pks = dict(Conference.objects.filter(conference_id__in=ids).values_list("conference_id", "pk"))

    known = {(p.conference_id, p.call_control_id): p for p in Participant.objects.filter(conference_id__in=pks.values())}
    labels = call_labels([d.get("call_control_id") for listed in participants_by_conference.values() for d in listed])
    new_participants, changed, seen = [], [], []
    for conference_id, listed in participants_by_conference.items():
        for data in listed:
            if not data.get("call_control_id") or conference_id not in pks:
                continue
            key = (pks[conference_id], data["call_control_id"])
            participant = known.get(key) or Participant(conference_id=key[0], call_control_id=key[1])
            participant.call_leg_id = data.get("call_leg_id") or participant.call_leg_id
            participant.status = data.get("status") or participant.status
            for flag in ("muted", "on_hold", "end_conference_on_exit", "soft_end_conference_on_exit"):
                if isinstance(data.get(flag), bool):
                    setattr(participant, flag, data[flag])
            if isinstance(data.get("whisper_call_control_ids"), list):
                participant.whisper_call_control_ids = data["whisper_call_control_ids"]
            participant.joined_at = participant.joined_at or when(data.get("created_at"))
            participant.label = participant.label or labels.get(participant.call_control_id, "")
            (changed if participant.pk else new_participants).append(participant)
            seen.append(key)
    Participant.objects.bulk_create(new_participants)
    Participant.objects.bulk_update(changed, SYNCED_PARTICIPANT_FIELDS)
    # Present locally but no longer listed by Telnyx: they left without us hearing it (one UPDATE).
    missing = Participant.objects.filter(conference_id__in=pks.values(), status__in=PRESENT).filter(
        Q(last_event_at__isnull=True) | Q(last_event_at__lt=fetched_at - SYNC_JOIN_GRACE)
    )
    for conference_pk in set(pks.values()):
        listed = [call_control_id for (pk, call_control_id) in seen if pk == conference_pk]
        if listed:
            missing = missing.exclude(conference_id=conference_pk, call_control_id__in=listed)
    missing.update(status=Participant.Status.LEFT, left_at=now, speaking=False)
    publish_conferences_synced(ids)
    return {"created": len(created), "updated": len(updated)}
