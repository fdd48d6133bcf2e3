"""Every write to commands: issue, execute an attempt, retry, sweep."""
from __future__ import annotations

import logging
import random
import traceback
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework import serializers

from portal import gateway, live, metrics, sealing
from portal.audit.services import Kind as AuditKind
from portal.audit.services import audit_record
from portal.commands import actions
from portal.models import Command

log = logging.getLogger(__name__)


class UnknownAction(ValueError):
    """No action is declared under that name."""


@dataclass
class Outcome:
    """What one attempt led to: the command, and the delay before the next attempt if any."""

    command: Command | None
    retry_in: float | None = None


def ensure_permission(user, action: actions.Action, params: dict | None = None) -> None:
    """The one permission check shared by pages, admin and API."""
    if user is None:
        return  # the system itself (sync, sweepers)
    for permission in action.permissions_for(params or {}):
        if not user.has_perm(permission):
            raise PermissionDenied(f"You do not have permission to {action.label.lower()}.")


def command_issue(
    *,
    action_name: str,
    target: str,
    params: dict,
    user,
    door: str,
    command_id: uuid.UUID | None = None,
    retry_of: Command | None = None,
) -> Command:
    """Check permission, validate, record the command and queue it after commit; nothing is sent here."""
    action = actions.get(action_name)
    if action is None:
        raise UnknownAction(f"Unknown action {action_name!r}.")
    ensure_permission(user, action)
    clean = action.validate(params)
    ensure_permission(user, action, clean)
    if action.check:
        action.check(target, clean)
    shown, sealed = split_secrets(action, clean)
    with transaction.atomic():
        command = Command.objects.create(
            action=action.name,
            target=target or "",
            params=shown,
            sealed_params=sealing.seal(sealed),
            command_id=command_id or uuid.uuid4(),
            requested_by=user if user is not None and user.is_authenticated else None,
            door=door,
            retry_of=retry_of,
        )
        # Its audit entry commits (or rolls back) with the row: no command without a trail.
        audit_record(
            kind=AuditKind.COMMAND, user=user, door=door, target=command.target,
            summary=f"{action.label}: {command.target or '-'}",
            detail={"command": command.pk, "command_id": str(command.command_id), "action": action.name, "params": shown},
        )
        transaction.on_commit(lambda: queue_command(command.pk))
        _publish(command)
    return command


SECRET_MASK = "********"


def split_secrets(action: actions.Action, params: dict) -> tuple[dict, dict]:
    """Parameters safe to show (secrets masked) and the secrets alone, kept only for sending."""
    sealed = {k: params[k] for k in action.secret_params if k in params}
    shown = {k: (SECRET_MASK if k in sealed else v) for k, v in params.items()}
    return shown, sealed


def queue_command(command_pk: int, countdown: float | None = None) -> None:
    """Hand a command to a worker; if the broker is down the stuck-command sweeper re-queues it."""
    from portal.commands.tasks import execute_command  # tasks import this module: imported when first used

    try:
        execute_command.apply_async((command_pk,), countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure; the row stays queued and is swept
        log.warning("could not queue command %s; the sweeper will pick it up", command_pk, exc_info=True)


def _request_kwargs(command: Command, action: actions.Action) -> dict:
    kwargs = {
        action.sdk_names.get(k, k): v
        for k, v in {**command.params, **sealing.unseal(command.sealed_params)}.items()
        if k not in action.local_params
    }
    if action.target_param:
        kwargs[action.target_param] = command.target
    if action.accepts_command_id:
        kwargs["command_id"] = str(command.command_id)
    return action.request(command, kwargs) if action.request else kwargs


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never shorter than Telnyx's Retry-After."""
    base = min(60.0, 2.0 ** max(0, attempts - 1))
    delay = base + random.uniform(0, base / 2)
    return max(delay, retry_after) if retry_after is not None else delay


def _should_retry(action: actions.Action, error: gateway.GatewayError) -> bool:
    if not error.retryable:
        return False
    if error.kind == "connect" or error.status_code == 429:
        return True  # Telnyx never acted on it
    return action.retry_safe  # sent, and no clear answer: only where a repeat cannot act twice


def may_resend(command: Command, action: actions.Action) -> bool:
    """Whether an attempt that may have reached Telnyx can be sent again without acting twice.

    Only for actions Telnyx de-duplicates by command_id or that are idempotent, and only inside
    COMMAND_MAX_RETRY_SECONDS of the command: Telnyx's duplicate window, and no stale repeat of an
    idempotent action over what an operator did since (issue 23).
    """
    elapsed = (timezone.now() - command.created_at).total_seconds()
    return action.retry_safe and elapsed <= settings.COMMAND_MAX_RETRY_SECONDS


def command_execute(*, command_pk: int) -> Outcome:
    """Send one attempt to Telnyx; record success, schedule a retry, or fail with Telnyx's words."""
    pending = Command.objects.filter(pk=command_pk, status=Command.Status.QUEUED).first()
    if pending is None:
        return Outcome(None)  # finished already, or another worker holds it
    action = actions.get(pending.action)
    if action is not None and pending.maybe_delivered and not may_resend(pending, action):
        # A retry queued in time but delivered late (a lost message re-queued by the sweeper, a slow broker).
        if not Command.objects.filter(pk=command_pk, status=Command.Status.QUEUED).update(status=Command.Status.RUNNING):
            return Outcome(None)
        return Outcome(_finish_unknown(pending, pending.error_status, pending.error_title or "Not sent again",
                                       pending.error_detail or "The retry window passed before the retry could be sent."))
    claimed = Command.objects.filter(pk=command_pk, status=Command.Status.QUEUED).update(
        status=Command.Status.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return Outcome(None)  # another worker claimed it first
    command = Command.objects.get(pk=command_pk)
    _publish(command)
    if action is None:
        return Outcome(_finish_failed(command, None, "Unknown action", f"{command.action} is no longer declared."))
    try:
        kwargs = _request_kwargs(command, action)
    except sealing.SealBroken as exc:  # never sent without its secrets
        return Outcome(_finish_failed(command, None, "Secrets unreadable", f"{exc} Issue the action again."))
    try:
        response = gateway.call(action.sdk, **kwargs)
    except gateway.GatewayError as error:
        return _after_error(command, action, error)
    except Exception:  # noqa: BLE001 - a bug or an SDK surprise: fail loudly, never leave it running
        log.exception("command %s (%s) raised unexpectedly", command.pk, command.action)
        return Outcome(_finish_failed(command, None, "Unexpected error", traceback.format_exc()))
    # Telnyx acted: that is committed first, so nothing below can leave the row running or resend it.
    with transaction.atomic():
        command.status = Command.Status.SUCCEEDED
        command.response = response if isinstance(response, dict | list) or response is None else {"value": str(response)}
        command.error_status, command.error_title, command.error_detail = None, "", ""
        command.finished_at = timezone.now()
        # A secret is kept only until the command's end: a succeeded command is never sent again.
        command.sealed_params = {}
        command.save(update_fields=[
            "status", "response", "error_status", "error_title", "error_detail", "finished_at", "sealed_params",
        ])
        _publish(command)
    metrics.command_outcome(command, "succeeded")
    if action.on_success:
        _apply_local_state(command, action, response)
    return Outcome(command)


def _apply_local_state(command: Command, action: actions.Action, response) -> None:
    """Mirror a succeeded command locally; a failure here is recorded, the command stays succeeded."""
    try:
        with transaction.atomic():
            action.on_success(command, response)
    except Exception:  # noqa: BLE001 - local bookkeeping must not undo what Telnyx already did
        log.exception("command %s (%s) succeeded but applying local state failed", command.pk, command.action)
        Command.objects.filter(pk=command.pk).update(local_error=traceback.format_exc())


def _after_error(command: Command, action: actions.Action, error: gateway.GatewayError) -> Outcome:
    delay = backoff_seconds(command.attempts, error.retry_after)
    elapsed = (timezone.now() - command.created_at).total_seconds()
    command.maybe_delivered = command.maybe_delivered or error.maybe_delivered
    command.error_status, command.error_title, command.error_detail = error.status_code, error.title[:255], error.detail
    if (
        _should_retry(action, error)
        and command.attempts < settings.COMMAND_MAX_ATTEMPTS
        and elapsed + delay <= settings.COMMAND_MAX_RETRY_SECONDS
    ):
        command.status = Command.Status.QUEUED
        command.save(update_fields=["status", "maybe_delivered", "error_status", "error_title", "error_detail"])
        _publish(command)
        metrics.command_outcome(command, "retrying", retry_in=delay)
        return Outcome(command, delay)
    if command.maybe_delivered:
        # This attempt or an earlier one may have landed: "failed" would invite a blind resend.
        return Outcome(_finish_unknown(command, error.status_code, error.title, error.detail))
    return Outcome(_finish_failed(command, error.status_code, error.title, error.detail))


def _finish_failed(command: Command, status: int | None, title: str, detail: str) -> Command:
    return _finish(command, Command.Status.FAILED, status, title, detail)


def _finish_unknown(command: Command, status: int | None, title: str, detail: str) -> Command:
    command.maybe_delivered = True
    return _finish(command, Command.Status.OUTCOME_UNKNOWN, status, title, detail)


def _finish(command: Command, final: str, status: int | None, title: str, detail: str) -> Command:
    command.status = final
    command.error_status, command.error_title, command.error_detail = status, title[:255], detail
    command.finished_at = timezone.now()
    # Secrets are forgotten at every final state (issue 24); a deliberate retry asks for them again.
    command.sealed_params = {}
    command.save(update_fields=[
        "status", "maybe_delivered", "error_status", "error_title", "error_detail", "finished_at", "sealed_params",
    ])
    _publish(command)
    live.publish_dashboard()
    metrics.command_outcome(command, final)
    return command


def commands_retry(*, queryset, user, door: str) -> list[Command]:
    """Issue failed or outcome-unknown commands again, deliberately, as new rows linked to the originals.

    The original command_id is kept only where the earlier outcome is unknown (timeout, 5xx, 429, a
    connection lost, stuck) and the endpoint takes one, so Telnyx drops it if the first attempt did
    land inside its window; a command that Telnyx refused outright gets a fresh id. The new row records
    who retried, through which door, and what it retries (`retry_of`): that is the audit.
    """
    if user is not None and not user.has_perm("portal.retry_command"):
        raise PermissionDenied("You do not have permission to retry commands.")
    issued = []
    for original in queryset.filter(status__in=[Command.Status.FAILED, Command.Status.OUTCOME_UNKNOWN]):
        action = actions.get(original.action)
        if action is None:
            continue
        outcome_unknown = (
            original.status == Command.Status.OUTCOME_UNKNOWN or original.maybe_delivered
            or original.error_status is None or original.error_status == 429 or original.error_status >= 500
        )
        secrets = sealing.unseal(original.sealed_params)
        forgotten = sorted(k for k in action.secret_params if original.params.get(k) == SECRET_MASK and k not in secrets)
        if forgotten:
            raise serializers.ValidationError({
                name: "Secret values are forgotten when a command ends: issue the action again with this value."
                for name in forgotten
            })
        issued.append(
            command_issue(
                action_name=original.action,
                target=original.target,
                params={**original.params, **secrets},
                user=user,
                door=door,
                command_id=original.command_id if (outcome_unknown and action.accepts_command_id) else None,
                retry_of=original,
            )
        )
        log.info("command %s #%s retried as #%s by %s (%s)", original.action, original.pk, issued[-1].pk,
                 getattr(user, "username", "system"), door)
    return issued


def commands_sweep_stuck(*, stuck_after_seconds: int) -> int:
    """Re-queue or settle commands left running or queued past their time; returns how many it touched.

    A command stuck running lost its worker during an attempt that may have reached Telnyx: it is sent
    again only where that cannot act twice (`may_resend`), else it ends "outcome unknown".
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=stuck_after_seconds)
    touched = 0
    stuck = Command.objects.filter(
        Q(status=Command.Status.RUNNING, started_at__lt=cutoff)
        | Q(status=Command.Status.QUEUED, created_at__lt=cutoff) & (Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    )
    for command in stuck:
        action = actions.get(command.action)
        if command.status == Command.Status.QUEUED:
            queue_command(command.pk)  # its task message was lost; command_execute re-checks may_resend
        elif action and command.attempts < settings.COMMAND_MAX_ATTEMPTS and may_resend(command, action):
            Command.objects.filter(pk=command.pk, status=Command.Status.RUNNING).update(
                status=Command.Status.QUEUED, maybe_delivered=True
            )
            queue_command(command.pk)
        elif Command.objects.filter(pk=command.pk, status=Command.Status.RUNNING, started_at=command.started_at).exists():
            _finish_unknown(
                command, None, "No outcome",
                f"The worker stopped or timed out during attempt {command.attempts}: Telnyx may or may not have acted. "
                "Check the target before retrying.",
            )
        touched += 1
    return touched


def _publish(command: Command) -> None:
    """One element per command, replaced in place as its status moves: list row, detail, target's page."""
    new = command.status == Command.Status.QUEUED and command.attempts == 0
    command = live.snapshot(command)  # rendered after commit (if watched): as it is now, not as it will be
    action = actions.get(command.action)
    context = {"command": command, "action": action, "oob": True, "new": new}
    live.publish_on_commit(
        "commands",
        lambda: render_to_string("portal/commands/_command_row.html", context)
        + render_to_string("portal/commands/_command_detail_body.html", context),
    )
    live.publish_admin_changed("portal", "command")
    if action and command.target:
        kind = actions.kind(action.target_kind)
        group = kind.live_group(command.target) if kind else f"{action.target_kind}.{command.target}"
        if group and live.GROUP_NAME.match(group):
            live.publish_on_commit(group, lambda: render_to_string("portal/commands/_command_outcome.html", context))
    if command.requested_by_id and command.is_finished:
        live.publish_toast(command.requested_by_id, lambda: render_to_string("portal/commands/_toast.html", context))
