"""Every write to queues and queued callers: webhooks, command outcomes, sync and portal-side settings.

A call may wait in the same queue many times; each stay is its own QueuedCall row. Telnyx does not
promise event order, so each event finds the stay it belongs to by time: a call.dequeued at T closes
the stay that was waiting at T (or opens-and-closes one if its call.enqueued has not arrived), and a
call.enqueued at T completes the stay its call.dequeued already closed, or opens a new one.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from queues.live import publish_queue
from queues.models import Queue, QueuedCall
from queues.rows import (
    line_renumber,
    line_renumber_later,
    lines_renumber_still_waiting,
    queue_apply_telnyx,
    queue_for_update,
    queue_note_event,
    stay_apply_enqueue_command,
    stay_close,
    stay_fill,
    stay_save,
    stays_forget,
    stays_lock,
    stays_of,
)
from webhooks.payloads import number, when

Reason = QueuedCall.Reason
MANAGE = "queues.manage_queue"
# Telnyx's clock against ours, when matching its call.dequeued to a removal the portal asked for.
CLOCK_SKEW = timedelta(seconds=5)


# --- webhooks -------------------------------------------------------------------------------------
def queued_call_enter(
    *, queue_name: str, call_control_id: str, occurred_at: datetime, position: int | None = None,
    average_wait_secs: int | None = None, call_leg_id: str = "", call_session_id: str = "",
    from_number: str = "", to_number: str = "",
) -> QueuedCall:
    """A caller entered a queue (call.enqueued): idempotent, and tolerant of any arrival order."""
    # All or nothing; no savepoint of its own: in a webhook batch the batch is the unit (issue 13).
    with transaction.atomic(savepoint=False):
        queue = queue_for_update(queue_name, seen_at=occurred_at)
        queue_note_event(queue, occurred_at, revive=True, average_wait_secs=average_wait_secs)
        known = stays_of(queue, call_control_id)
        since = min([occurred_at, *(s.enqueued_at for s in known if s.left_at is None)])  # where this event can change the line
        # A closed stay that left after this event began is this event's stay (its call.dequeued came first).
        stay = min(
            (s for s in known if s.left_at is not None and s.left_at >= occurred_at
             and s.entered_event_at in (None, occurred_at)),
            key=lambda s: s.left_at, default=None,
        )
        if stay is None:
            stay = open_stay = next((s for s in known if s.left_at is None), None)
            if stay is not None and stay.entered_event_at and stay.entered_event_at < occurred_at:
                # The call queued again while its previous stay looked open: that stay's call.dequeued was missed.
                stay_close(stay, left_at=occurred_at, reason="")
                stay = None
            elif stay is not None and stay.entered_event_at and stay.entered_event_at > occurred_at:
                # An earlier stay whose end we have not heard: it ended before the open one began.
                stay = QueuedCall(queue=queue, call_control_id=call_control_id, enqueued_at=occurred_at)
                stay_close(stay, left_at=open_stay.enqueued_at, reason="", save=False)
        if stay is None:
            stay = QueuedCall(queue=queue, call_control_id=call_control_id, enqueued_at=occurred_at)
            stay_apply_enqueue_command(queue, stay, occurred_at)
        stay.enqueued_at = occurred_at
        stay.entered_event_at = occurred_at
        stay_fill(stay, call_leg_id=call_leg_id, call_session_id=call_session_id, from_number=from_number, to_number=to_number)
        if stay.left_at is None and position is not None:
            stay.position = position
        stay.last_event_at = max(filter(None, [stay.last_event_at, occurred_at]))
        stay_save(stay)
        line_renumber_later(queue, since)
        publish_queue(queue)
    return stay


def queued_call_leave(
    *, queue_name: str, call_control_id: str, occurred_at: datetime, reason: str, wait_time_secs: int | None = None,
    position: int | None = None, call_leg_id: str = "", call_session_id: str = "",
) -> QueuedCall:
    """A caller left a queue (call.dequeued), even if its call.enqueued has not arrived yet."""
    # All or nothing; no savepoint of its own: in a webhook batch the batch is the unit (issue 13).
    with transaction.atomic(savepoint=False):
        queue = queue_for_update(queue_name, seen_at=occurred_at)
        queue_note_event(queue, occurred_at)
        known = stays_of(queue, call_control_id)
        stay = (
            next((s for s in known if s.left_event_at == occurred_at), None)
            # Closed by the portal's own estimate (sync, a removal, a missed event): Telnyx's word corrects it.
            or max(
                (s for s in known if s.left_event_at is None and s.enqueued_at <= occurred_at
                 and s.left_at is not None and s.left_at >= occurred_at),
                key=lambda s: s.enqueued_at, default=None,
            )
            or next((s for s in known if s.left_at is None and s.enqueued_at <= occurred_at), None)
            or _removed_stay(known, occurred_at, wait_time_secs)
        )
        if stay is None:
            started = occurred_at - timedelta(seconds=wait_time_secs or 0)
            stay = QueuedCall(queue=queue, call_control_id=call_control_id, enqueued_at=started)
        stay_fill(stay, call_leg_id=call_leg_id, call_session_id=call_session_id)
        # Telnyx says "leave" for a staff removal: the portal's own reason says more (and is what it did).
        if stay.leave_reason == Reason.REMOVED and stay.left_event_at is None:
            reason = Reason.REMOVED
        stay_close(stay, left_at=occurred_at, reason=reason, wait_time_secs=wait_time_secs, position=position, save=False)
        stay.left_event_at = occurred_at
        if reason == Reason.HANGUP:
            stay.is_alive = False
        stay.last_event_at = max(filter(None, [stay.last_event_at, occurred_at]))
        stay_save(stay)
        line_renumber_later(queue, stay.enqueued_at)  # the line changes from the stay that left
        publish_queue(queue)
    return stay


def _removed_stay(known: list[QueuedCall], occurred_at: datetime, wait_time_secs: int | None) -> QueuedCall | None:
    """The stay a force-removal closed, when Telnyx's call.dequeued for it is stamped after the portal's
    record of the removal (Telnyx's clock, or a webhook built after the HTTP answer): the same stay, not
    a second one (issue 30). Only the call's latest stay, and only if it began before this wait did."""
    latest = max((s for s in known if s.enqueued_at <= occurred_at), key=lambda s: s.enqueued_at, default=None)
    if latest is None or latest.leave_reason != Reason.REMOVED or latest.left_event_at is not None:
        return None
    if wait_time_secs is not None and occurred_at - timedelta(seconds=wait_time_secs + 1) > latest.left_at:
        return None  # this wait began after the removal: another stay whose call.enqueued has not come yet
    return latest


def queued_call_hung_up(*, call_control_id: str, occurred_at: datetime) -> int:
    """A queued caller hung up (call.hangup): with keep_after_hangup it stays in line, no longer alive."""
    # All or nothing; no savepoint of its own: in a webhook batch the batch is the unit (issue 13).
    with transaction.atomic(savepoint=False):
        stays = list(
            QueuedCall.objects.filter(call_control_id=call_control_id, left_at__isnull=True, enqueued_at__lte=occurred_at, is_alive=True)
            .select_related("queue").order_by()
        )
        stays_forget(call_control_id)  # the batch's objects would write is_alive back
        for stay in stays:
            QueuedCall.objects.filter(pk=stay.pk).update(is_alive=False)
            line_renumber_later(stay.queue, stay.enqueued_at)  # this drain holds the stay: a renumber elsewhere skipped it
            publish_queue(stay.queue)
    return len(stays)


# --- command outcomes (Telnyx sends no webhook for these) -----------------------------------------
def queue_upsert(*, data: dict, name: str = "") -> Queue:
    """Record a queue as Telnyx returned it (create, update, retrieve)."""
    name = data.get("name") or name
    with transaction.atomic():
        queue = queue_for_update(name, seen_at=when(data.get("created_at")))
        queue_apply_telnyx(queue, data)
        queue.deleted_at = None
        queue.save()
        publish_queue(queue)
    return queue


def queue_max_size_set(*, name: str, max_size: int, data: dict | None = None) -> Queue | None:
    """Telnyx accepted a new max size."""
    if data and data.get("name"):
        return queue_upsert(data=data, name=name)
    with transaction.atomic():
        queue = Queue.objects.select_for_update().filter(name=name).first()
        if queue is None:
            return None
        queue.max_size = max_size
        queue.save(update_fields=["max_size"])
        publish_queue(queue)
    return queue


def queue_mark_deleted(*, name: str, reason: str = Reason.QUEUE_DELETED, at: datetime | None = None) -> Queue | None:
    """The queue is gone from Telnyx: hide it from the board, close its stays, keep its history."""
    at = at or timezone.now()
    with transaction.atomic():
        stays_lock(queue__name=name, left_at__isnull=True)
        queue = Queue.objects.select_for_update().filter(name=name).first()
        if queue is None:
            return None
        queue.deleted_at = at
        queue.save(update_fields=["deleted_at"])
        for stay in queue.calls.filter(left_at__isnull=True, enqueued_at__lte=at):
            stay_close(stay, left_at=at, reason=reason)
        lines_renumber_still_waiting([queue])  # callers who entered after `at` still wait: from 1 again
        publish_queue(queue)
    return queue


def queued_call_removed(
    *, queue_name: str, call_control_id: str, at: datetime | None = None, asked_at: datetime | None = None
) -> QueuedCall | None:
    """Staff force-removed a call; Telnyx's call.dequeued, if one comes, corrects the time (not the reason).

    If that call.dequeued came first (it closed the stay as "leave" after the command was asked for,
    `asked_at`), that stay is the one removed: it is marked so, and no other is touched (issue 30).
    """
    at = at or timezone.now()
    with transaction.atomic():
        stays_lock(queue__name=queue_name, call_control_id=call_control_id)
        queue = Queue.objects.select_for_update().filter(name=queue_name).first()
        stay = queue and queue.calls.filter(call_control_id=call_control_id, left_at__isnull=True).first()
        if not stay and queue and asked_at:
            closed = (
                queue.calls.filter(
                    call_control_id=call_control_id, left_event_at__gte=asked_at - CLOCK_SKEW, leave_reason=Reason.LEAVE
                )
                .order_by("-left_event_at").first()
            )
            if closed:
                QueuedCall.objects.filter(pk=closed.pk).update(leave_reason=Reason.REMOVED)
                publish_queue(queue)
            return closed
        if not stay:
            return None
        stay_close(stay, left_at=max(at, stay.enqueued_at), reason=Reason.REMOVED)
        line_renumber(queue)
        publish_queue(queue)
    return stay


def queued_call_keep_after_hangup(*, queue_name: str, call_control_id: str, keep: bool) -> int:
    """Telnyx accepted a queued call's new keep_after_hangup."""
    with transaction.atomic():
        stays = QueuedCall.objects.filter(queue__name=queue_name, call_control_id=call_control_id, left_at__isnull=True)
        changed = stays.update(keep_after_hangup=keep)
        queue = Queue.objects.filter(name=queue_name).first()
        if changed and queue:
            publish_queue(queue)
    return changed


def queue_check_deletable(*, name: str, force: bool) -> None:
    """Refuse to delete a queue while callers wait in it, unless forced (every door asks this first)."""
    waiting = QueuedCall.objects.filter(queue__name=name, left_at__isnull=True).count()
    if waiting and not force:
        callers = "1 caller is" if waiting == 1 else f"{waiting} callers are"
        raise serializers.ValidationError(
            {"force": [f"{callers} still waiting in “{name}”. Wait until the queue is empty, or delete with "
                       "force (Telnyx may still refuse while calls wait)."]}
        )


# --- portal-side settings -------------------------------------------------------------------------
def queue_set_service_level(*, queue: Queue, user, target_secs: int | None = None, goal_percent: int | None = None) -> Queue:
    """Change a queue's service-level target (seconds) and goal (percent); both are the portal's own."""
    if user is not None and not user.has_perm(MANAGE):
        raise PermissionDenied("You do not have permission to change queue settings.")
    errors = {}
    if target_secs is not None and not 1 <= target_secs <= 3600:
        errors["service_level_target_secs"] = ["Enter a number of seconds from 1 to 3600."]
    if goal_percent is not None and not 1 <= goal_percent <= 100:
        errors["service_level_goal_percent"] = ["Enter a percentage from 1 to 100."]
    if errors:
        raise serializers.ValidationError(errors)
    changes = {}
    if target_secs is not None:
        changes["service_level_target_secs"] = target_secs
    if goal_percent is not None:
        changes["service_level_goal_percent"] = goal_percent
    with transaction.atomic():
        before = {name: getattr(queue, name) for name in changes}
        for name, value in changes.items():
            setattr(queue, name, value)
        if changes:
            queue.save(update_fields=list(changes))
            audit_record(
                kind=AuditEntry.Kind.SETTING_CHANGED, user=user, target=f"queue {queue.name}",
                summary=f"Queue {queue.name}: " + ", ".join(f"{k} {before[k]} → {v}" for k, v in changes.items()),
                detail={"queue": queue.name, "changes": {k: [before[k], v] for k, v in changes.items()}},
            )
            publish_queue(queue)
    return queue


# --- sync -----------------------------------------------------------------------------------------
SYNCED_QUEUE_FIELDS = [
    "telnyx_id", "max_size", "current_size", "average_wait_secs", "average_wait_reported_at", "created_at", "updated_at",
    "last_seen_at", "deleted_at",
]
SYNCED_CALL_FIELDS = [
    "call_leg_id", "call_session_id", "from_number", "to_number", "is_alive", "enqueued_at", "position", "left_at",
    "leave_reason", "wait_time_secs",
]


@transaction.atomic
def queue_sync_page(*, telnyx_queues: list[dict], calls_by_queue: dict[str, list[dict]], started_at: datetime) -> dict:
    """Upsert one page of Telnyx's queues and the calls in each, closing stays Telnyx no longer lists.

    Only stays that began before the listing started are closed, so a caller whose call.enqueued landed
    while the sync ran is not closed by mistake; a listed caller whose stay has already ended locally
    (its call.dequeued landed meanwhile) is not reopened.
    """
    now = timezone.now()
    names = [q["name"] for q in telnyx_queues if q.get("name")]
    existing = {q.name: q for q in Queue.objects.filter(name__in=names)}
    created, updated = [], []
    for data in telnyx_queues:
        if not data.get("name"):
            continue
        queue = existing.get(data["name"]) or Queue(name=data["name"])
        queue_apply_telnyx(queue, data, reported_at=now)
        queue.last_seen_at = now
        queue.deleted_at = None
        (updated if queue.pk else created).append(queue)
    Queue.objects.bulk_create(created)
    Queue.objects.bulk_update(updated, SYNCED_QUEUE_FIELDS)
    pks = dict(Queue.objects.filter(name__in=names).values_list("name", "pk"))

    open_stays = {(s.queue_id, s.call_control_id): s for s in QueuedCall.objects.filter(queue_id__in=pks.values(), left_at__isnull=True)}
    listed_ids = [c.get("call_control_id") for calls in calls_by_queue.values() for c in calls if c.get("call_control_id")]
    closed = {}
    for stay in QueuedCall.objects.filter(queue_id__in=pks.values(), call_control_id__in=listed_ids, left_at__isnull=False):
        closed.setdefault((stay.queue_id, stay.call_control_id), []).append(stay)
    new, changed, listed = [], [], set()
    for name, calls in calls_by_queue.items():
        if name not in pks:
            continue
        for data in calls:
            if not data.get("call_control_id"):
                continue
            key = (pks[name], data["call_control_id"])
            listed.add(key)
            enqueued_at = when(data.get("enqueued_at")) or started_at - timedelta(seconds=number(data, "wait_time_secs") or 0)
            stay = open_stays.get(key)
            if stay is None:
                ended = [s for s in closed.get(key, []) if s.left_at >= enqueued_at]
                if any(s.left_event_at or s.leave_reason in (Reason.REMOVED, Reason.QUEUE_DELETED) for s in ended):
                    continue  # Telnyx (or staff) ended this stay while we were listing
                if ended:
                    stay = ended[0]  # closed by an earlier sync's guess, yet Telnyx lists it: still waiting
                    stay.left_at, stay.leave_reason, stay.wait_time_secs = None, "", None
                    changed.append(stay)
                else:
                    stay = QueuedCall(queue_id=key[0], call_control_id=key[1], enqueued_at=enqueued_at)
                    new.append(stay)
            else:
                changed.append(stay)
            if stay.entered_event_at is None:
                stay.enqueued_at = enqueued_at
            stay_fill(stay, call_leg_id=data.get("call_leg_id") or "", call_session_id=data.get("call_session_id") or "",
                  from_number=data.get("from") or "", to_number=data.get("to") or "")
            if isinstance(data.get("is_alive"), bool):
                stay.is_alive = data["is_alive"]
            stay.position = number(data, "queue_position") or stay.position
    QueuedCall.objects.bulk_create(new)
    QueuedCall.objects.bulk_update(changed, SYNCED_CALL_FIELDS)
    # Waiting here but no longer listed by Telnyx: they left without us hearing it.
    reconciled = {pks[name] for name in calls_by_queue if name in pks}
    gone = [s for key, s in open_stays.items() if key not in listed and key[0] in reconciled and s.enqueued_at < started_at]
    for stay in gone:
        stay_close(stay, left_at=max(started_at, stay.enqueued_at), reason=Reason.GONE)
    for queue in Queue.objects.filter(pk__in=pks.values()):
        line_renumber(queue)
        publish_queue(queue)
    return {"queues": len(names), "created": len(new), "updated": len(changed), "closed": len(gone)}


def queues_sync_missing(*, listed_names: set[str], started_at: datetime) -> int:
    """Queues Telnyx no longer lists (and nobody mentioned since the listing began) are gone."""
    missing = Queue.objects.filter(deleted_at__isnull=True).exclude(name__in=listed_names).filter(
        Q(last_seen_at__lt=started_at) | Q(last_seen_at__isnull=True)
    )
    names = list(missing.values_list("name", flat=True))
    gone = 0
    for start in range(0, len(names), GONE_BATCH):
        gone += queues_mark_gone(names=names[start:start + GONE_BATCH], at=started_at)
    return gone


GONE_BATCH = 500


def queues_mark_gone(*, names: list[str], at: datetime) -> int:
    """Many queues gone from Telnyx at once: one transaction, stays closed in bulk, the board published once."""
    with transaction.atomic():
        queues = list(Queue.objects.select_for_update().filter(name__in=names, deleted_at__isnull=True))
        if not queues:
            return 0
        Queue.objects.filter(pk__in=[q.pk for q in queues]).update(deleted_at=at)
        stays = list(QueuedCall.objects.filter(queue__in=queues, left_at__isnull=True, enqueued_at__lte=at))
        for stay in stays:
            stay_close(stay, left_at=at, reason=Reason.GONE, save=False)
        QueuedCall.objects.bulk_update(stays, ["left_at", "leave_reason", "wait_time_secs", "position"], batch_size=500)
        lines_renumber_still_waiting(queues)  # callers who entered after `at`, as in queue_mark_deleted
        for queue in queues:
            queue.deleted_at = at
            publish_queue(queue)  # each open queue page hears; the board renders once (publish_rendered_once)
    return len(queues)
