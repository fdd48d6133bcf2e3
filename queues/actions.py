"""The queue commands (endpoints.md, section queues), each declared once; none takes command_id.

Call-side commands (`call.enqueue`, `call.leave_queue`) act on a call and are declared by the calls app.
"""
from rest_framework import serializers

from portal.commands.actions import Action, TargetKind, register, register_kind
from queues import services
from queues.models import Queue

CONTROL = "queues.control_queue"
MANAGE = "queues.manage_queue"


class QueueCreateParams(serializers.Serializer):
    # Telnyx addresses a queue by its name in a URL path (/queues/{queue_name}): a "/" could never be reached.
    queue_name = serializers.RegexField(r"^[^/]+$", max_length=255, help_text="The new queue's name (no \"/\").",
                                        error_messages={"invalid": 'A queue name cannot contain "/".'})
    max_size = serializers.IntegerField(required=False, min_value=1, help_text="Most callers allowed to wait at once.")


class QueueUpdateParams(serializers.Serializer):
    max_size = serializers.IntegerField(min_value=1, help_text="Most callers allowed to wait at once.")


class QueueDeleteParams(serializers.Serializer):
    force = serializers.BooleanField(
        required=False, help_text="Delete even though callers are waiting (the portal's guard; Telnyx may still refuse)."
    )


class QueuedCallParams(serializers.Serializer):
    call_control_id = serializers.CharField(max_length=255, help_text="The queued call.")


class QueuedCallUpdateParams(QueuedCallParams):
    keep_after_hangup = serializers.BooleanField(required=False, help_text="Keep the call in line after it hangs up.")


def _created(command, response):
    data = (response or {}).get("data") or {}
    services.queue_upsert(data=data or {"max_size": command.params.get("max_size")}, name=command.params["queue_name"])


def _max_size_set(command, response):
    services.queue_max_size_set(name=command.target, max_size=command.params["max_size"], data=(response or {}).get("data"))


def _deleted(command, response):
    services.queue_mark_deleted(name=command.target)


def _removed(command, response):
    services.queued_call_removed(
        queue_name=command.target, call_control_id=command.params["call_control_id"], asked_at=command.created_at
    )


def _call_updated(command, response):
    if "keep_after_hangup" in command.params:
        services.queued_call_keep_after_hangup(
            queue_name=command.target, call_control_id=command.params["call_control_id"],
            keep=command.params["keep_after_hangup"],
        )


def _queue_group(name: str) -> str | None:
    """Queue pages listen on queue.<pk>: names may hold characters group names cannot."""
    pk = Queue.objects.filter(name=name).values_list("pk", flat=True).first()
    return f"queue.{pk}" if pk else None


def _check_deletable(target, params):
    services.queue_check_deletable(name=target, force=bool(params.get("force")))


QUEUE_ACTIONS = [
    Action(
        name="queue.create", sdk="client.queues.create", label="Create queue", params=QueueCreateParams, permission=MANAGE,
        target_kind="queue", target_param=None, on_success=_created, on_page=False,
        description="Create a call queue on Telnyx (enqueueing a call into an unknown name also creates one).",
    ),
    Action(
        name="queue.update", sdk="client.queues.update", label="Change max size", params=QueueUpdateParams, permission=MANAGE,
        target_kind="queue", target_param="queue_name", idempotent=True, on_success=_max_size_set,
        description="Telnyx refuses a max size below the number of callers waiting.",
    ),
    Action(
        name="queue.delete", sdk="client.queues.delete", label="Delete queue", params=QueueDeleteParams, permission=MANAGE,
        target_kind="queue", target_param="queue_name", idempotent=True, destructive=True, on_success=_deleted,
        local_params=("force",), check=_check_deletable,
        description="Refused while callers wait unless forced. Its history and metrics stay in the portal.",
    ),
    Action(
        name="queue.remove_call", sdk="client.queues.calls.remove", label="Force-remove call", params=QueuedCallParams,
        permission=CONTROL, target_kind="queue", target_param="queue_name", idempotent=True, destructive=True,
        on_success=_removed, group="calls",
        description="Take an inactive call (one no longer alive) out of the queue.",
    ),
    Action(
        name="queue.update_call", sdk="client.queues.calls.update", label="Keep after hangup", params=QueuedCallUpdateParams,
        permission=CONTROL, target_kind="queue", target_param="queue_name", idempotent=True, on_success=_call_updated,
        group="calls", description="Whether a queued call stays in line after it hangs up.",
    ),
]

QUEUE = register_kind(
    TargetKind(
        name="queue", plural="queues", model=Queue, lookup_field="name", view_permission="queues.view_queue",
        detail_url_name="queue-detail", group_of=_queue_group, form_groups=(("", "Settings", True),),
    )
)
register(*QUEUE_ACTIONS)
