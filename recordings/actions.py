"""The recording commands (endpoints.md, section recordings-api): deleting a recording at Telnyx."""
from portal.commands.actions import Action, TargetKind, register, register_kind
from recordings import deletion
from recordings.models import Recording


def _deleted(command, response):
    """Telnyx deleted it (no webhook says so): remove the stored audio, keep a tombstone with who and when."""
    deletion.recording_tombstone(
        recording_id=command.target, user=command.requested_by, reason=deletion.delete_reason(command)
    )


RECORDING = register_kind(
    TargetKind(
        name="recording", plural="recordings", model=Recording, lookup_field="recording_id",
        view_permission="recordings.view_recording", detail_url_name="recording-detail",
        form_groups=(("", "Retention", True),), takes_commands=lambda recording: recording.can_be_deleted,
    )
)
register(
    Action(
        name="recording.delete", sdk="client.recordings.delete", label="Delete recording",
        permission="recordings.delete_recording", target_kind="recording", target_param="recording_id",
        idempotent=True, destructive=True, on_success=_deleted,
        description="Delete the recording at Telnyx and the portal's stored copy; a tombstone keeps who and when.",
    )
)
