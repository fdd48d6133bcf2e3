"""The ZIP export's size limit is the same in every door: at most MAX_ZIP_RECORDINGS, refused with a clear message."""
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from portal.audit.models import AuditEntry
from recordings.models import Recording
from recordings.serving import MAX_ZIP_RECORDINGS
from tests.recordings.conftest import AUDIO
from tests.recordings.factories import stored_recording

pytestmark = pytest.mark.django_db


def many_recordings(n: int) -> None:
    Recording.objects.bulk_create(Recording(recording_id=f"bulk-{i}", status=Recording.Status.SAVED) for i in range(n))


def test_admin_select_all_past_the_limit_is_refused_with_a_message(client, supervisor):
    """The admin's "select all N" sends no ids, so Django's 1,000-field cap, the page door's limit, does not apply."""
    stored_recording(AUDIO, recording_id="rec-stored")
    many_recordings(MAX_ZIP_RECORDINGS)
    client.force_login(supervisor)
    supervisor.is_staff = True
    supervisor.save()
    response = client.post("/admin/recordings/recording/", {
        "action": "export_zip", "select_across": "1", "index": "0", ACTION_CHECKBOX_NAME: ["1"],
    }, follow=True)
    assert response.status_code == 200
    assert response.get("Content-Type", "").startswith("text/html")
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"A ZIP holds at most 1,000 recordings; {MAX_ZIP_RECORDINGS + 1:,} were selected. "
                     "Narrow the selection (a date or a filter) and export it in parts."]
    # Nothing was exported, so nothing is logged as exported (plays and downloads live in the audit trail).
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.RECORDING_DOWNLOADED).exists()


def test_admin_export_within_the_limit_streams_the_zip(client, supervisor):
    recording = stored_recording(AUDIO, recording_id="rec-stored")
    supervisor.is_staff = True
    supervisor.save()
    client.force_login(supervisor)
    response = client.post("/admin/recordings/recording/", {"action": "export_zip", ACTION_CHECKBOX_NAME: [recording.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.RECORDING_DOWNLOADED, door="admin",
                                     detail__how="zip").count() == 1


def test_page_door_has_the_same_limit(client, supervisor, settings):
    many_recordings(MAX_ZIP_RECORDINGS + 1)
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = None  # past Django's own cap, the service's must hold
    client.force_login(supervisor)
    pks = list(Recording.objects.values_list("pk", flat=True))
    response = client.post("/recordings/zip/", {"pk": pks}, follow=True)
    assert response.status_code == 200 and "application/zip" not in response.get("Content-Type", "")
    assert [str(m) for m in response.context["messages"]] == [
        f"A ZIP holds at most 1,000 recordings; {MAX_ZIP_RECORDINGS + 1:,} were selected. "
        "Narrow the selection (a date or a filter) and export it in parts."]
