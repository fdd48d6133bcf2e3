"""Acknowledging an alert is written to the audit trail once, with who, when and the note, from every door (issue 26)."""
import json

import pytest
from django.utils import timezone

from alerts.models import Alert
from portal.audit.models import AuditEntry
from tests.alerts.factories import client_as

pytestmark = pytest.mark.django_db


def acknowledge_by_page(client, alert, note):
    return client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": note})


def acknowledge_by_api(client, alert, note):
    return client.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", json.dumps({"note": note}),
                       content_type="application/json")


def acknowledge_by_admin(client, alert, note):
    return client.post("/admin/alerts/alert/", {"action": "acknowledge", "_selected_action": [alert.pk], "note": note})


@pytest.mark.parametrize(("door", "acknowledge", "status"), [
    ("page", acknowledge_by_page, 302), ("api", acknowledge_by_api, 200), ("admin", acknowledge_by_admin, 302),
])
def test_each_door_audits_one_acknowledgement_with_who_when_and_the_note(open_alert, door, acknowledge, status):
    operator = client_as("Operator", is_staff=True)
    before = timezone.now()
    assert acknowledge(operator, open_alert, "calling in two more agents").status_code == status
    alert = Alert.objects.get(pk=open_alert.pk)
    assert alert.status == "acknowledged" and alert.note == "calling in two more agents"

    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.ALERT_ACKNOWLEDGED)
    assert (entry.username, entry.actor_id, entry.door, entry.target) == (
        "operator", alert.acknowledged_by_id, door, f"alert {alert.pk}")
    assert before <= entry.at <= timezone.now()
    assert entry.detail == {"alert": alert.pk, "note": "calling in two more agents",
                            "acknowledged_at": alert.acknowledged_at.isoformat()}
    assert "Long wait here" in entry.summary and "calling in two more agents" in entry.summary

    # A second attempt is refused and audits nothing more.
    acknowledge(operator, open_alert, "again")
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.ALERT_ACKNOWLEDGED).count() == 1


def test_a_refused_acknowledgement_is_not_audited(open_alert):
    viewer = client_as("Viewer", is_staff=True)
    assert acknowledge_by_api(viewer, open_alert, "no").status_code == 403
    assert acknowledge_by_page(viewer, open_alert, "no").status_code == 403
    acknowledge_by_admin(viewer, open_alert, "no")
    assert Alert.objects.get(pk=open_alert.pk).status == "open"
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.ALERT_ACKNOWLEDGED).exists()
