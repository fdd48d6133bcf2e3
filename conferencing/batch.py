"""What a batch of webhooks needs of conferences, in one query each (issue 25): the conferences it names,
and which of its legs are on a roster.

Every conference and participant event looked its conference up on its own before, and every
call.initiated / answered / hangup asked the participants about its leg (most legs are in no
conference). Services change a conference through webhooks.shared_rows, which sets the same values
on the batch's object at once, so later events of the batch read what earlier ones wrote; a leg that joins, leaves or is rung in
during the batch is marked, so the roster answer only errs on the side of looking.
"""
from __future__ import annotations

from django.db.models import F

from conferencing.models import Conference, Participant
from portal.models import Command
from webhooks import batch_cache

KIND, ROSTER, UNLABELLED, RINGING = "conferences", "roster", "unlabelled roster", "rung in"
LEG_EVENTS = ("call.initiated", "call.answered", "call.hangup")


def preload_conferences(events) -> None:
    """Load every conference the batch's events name, unlocked: a conference's participants are in every
    partition, so its row is written at the end of the batch (webhooks/shared_rows.py)."""
    batch_cache.preload(KIND, Conference, "conference_id", {e.conference_id for e in events} - {""}, lock=False)


def conference_get_or_insert(conference_id: str, facts: dict) -> tuple[Conference, bool]:
    """get_or_create of a conference: the batch's object; else inserted in one statement unless another drain
    (its participants are in every partition) was first, then loaded; outside a batch, get_or_create."""
    return batch_cache.get_or_insert(KIND, conference_id, Conference, {"conference_id": conference_id}, facts, shared=True)


def preload_rostered_legs(events) -> None:
    """Note which of the batch's legs have a participant row, which have one without a name yet, and which one
    rung in that never joined, in one query."""
    ids = {e.call_control_id for e in events if e.event_type in LEG_EVENTS} - {""}
    if ids and batch_cache.rows(ROSTER) is not None:
        listed = list(Participant.objects.filter(call_control_id__in=ids).values_list("call_control_id", "label", "status", "joined_at"))
        batch_cache.note_present(ROSTER, ids, (leg for leg, *_ in listed))
        batch_cache.note_present(UNLABELLED, ids, (leg for leg, label, *_ in listed if not label))
        batch_cache.note_present(RINGING, ids, (leg for leg, _, status, joined in listed
                                                if status == Participant.Status.JOINING and joined is None))


def leg_rostered(call_control_id: str) -> None:
    """A participant row of this leg was written in the batch (perhaps without a name)."""
    for kind in (ROSTER, UNLABELLED, RINGING):
        batch_cache.mark_present(kind, call_control_id)


def surely_not_rostered(call_control_id: str) -> bool:
    """True if the batch knows this leg is on no roster (no query needed)."""
    return batch_cache.surely_absent(ROSTER, call_control_id)


def surely_not_ringing(call_control_id: str) -> bool:
    """True if the batch knows this leg has no participant row rung in and never joined (no query needed)."""
    return batch_cache.surely_absent(RINGING, call_control_id)


def surely_named_on_rosters(call_control_id: str) -> bool:
    """True if the batch knows every participant row of this leg has its name already (no query needed)."""
    return batch_cache.surely_absent(UNLABELLED, call_control_id)


PARTICIPANTS = "participants"
PARTICIPANT_EVENTS = frozenset({"conference.participant.joined", "conference.participant.left"})


def preload_participants(events) -> None:
    """The participant rows the batch's joins and leaves name, in one query, by (conference id, leg).

    A participant's events are applied in its call's partition (webhooks/store.partition_of), so no
    other drain writes these rows meanwhile; each join and leave looked its row up on its own before.
    """
    pairs = {(e.conference_id, e.call_control_id) for e in events if e.event_type in PARTICIPANT_EVENTS}
    pairs = {pair for pair in pairs if all(pair)}
    cache = batch_cache.rows(PARTICIPANTS)
    if cache is None or not pairs:
        return
    found = Participant.objects.filter(
        conference__conference_id__in={conference for conference, _ in pairs}, call_control_id__in={leg for _, leg in pairs}
    ).annotate(conference_key=F("conference__conference_id"))
    cache.update(dict.fromkeys(pairs))
    cache.update(((p.conference_key, p.call_control_id), p) for p in found if (p.conference_key, p.call_control_id) in pairs)


def participant_get_or_create(conference: Conference, call_control_id: str, defaults: dict | None = None) -> tuple[Participant, bool]:
    """get_or_create of a leg's row in a conference, from the batch's rows where it has them (batch_cache.get_or_insert)."""
    participant, created = batch_cache.get_or_insert(
        PARTICIPANTS, (conference.conference_id, call_control_id), Participant,
        {"conference": conference, "call_control_id": call_control_id}, defaults,
    )
    participant.conference = conference  # the batch's object: no query, and what the batch wrote on it
    return participant, created


CREATED = "conference names"


def _created_commands():
    return Command.objects.filter(action="conference.create", status=Command.Status.SUCCEEDED).only("params", "response")


def created_name(command: Command) -> str:
    """The name Telnyx answered (or the portal asked for) when the portal created a conference."""
    return str(((command.response or {}).get("data") or {}).get("name") or command.params.get("name") or "")[:255]


def preload_created_names(events) -> None:
    """The names the portal's conference.create commands gave the batch's new conferences, in one query
    (each conference.created looked for its command on its own, with a JSON lookup; most find none)."""
    ids = {e.conference_id for e in events if e.event_type == "conference.created"} - {""}
    cache = batch_cache.rows(CREATED)
    if cache is None or not ids:
        return
    cache.update(dict.fromkeys(ids, ""))
    for command in _created_commands().filter(response__data__id__in=sorted(ids)):
        conference_id = ((command.response or {}).get("data") or {}).get("id")
        if conference_id in ids and not cache[conference_id]:
            cache[conference_id] = created_name(command)


def name_from_create_command(conference_id: str) -> str:
    """The name the portal's conference.create gave this conference: the batch's answer, else one query."""
    cache = batch_cache.rows(CREATED)
    if cache and conference_id in cache:
        return cache[conference_id]
    command = _created_commands().filter(response__data__id=conference_id).first()
    return created_name(command) if command else ""


ENDERS = "conference enders"


def _end_commands():
    return Command.objects.filter(action="conference.end", status=Command.Status.SUCCEEDED).order_by("-finished_at")


def preload_enders(events) -> None:
    """Who ended the batch's ended conferences from the portal, in one query (each conference.ended asked on its own)."""
    ids = {e.conference_id for e in events if e.event_type == "conference.ended"} - {""}
    cache = batch_cache.rows(ENDERS)
    if cache is None or not ids:
        return
    cache.update(dict.fromkeys(ids))
    found = {}
    for target, requested_by in _end_commands().filter(target__in=ids).values_list("target", "requested_by"):
        found.setdefault(target, requested_by)  # the latest command's, as one query per conference took
    cache.update(found)


def ended_by(conference_id: str) -> int | None:
    """The user whose conference.end command ended this conference: the batch's answer, else one query."""
    cache = batch_cache.rows(ENDERS)
    if cache and conference_id in cache:
        return cache[conference_id]
    return _end_commands().filter(target=conference_id).values_list("requested_by", flat=True).first()
