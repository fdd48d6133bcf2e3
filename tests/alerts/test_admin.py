"""The admin door: rules and channels saved through the services (audit, sealed secret), alerts acknowledged (issue 26)."""
import pytest
from django.test import Client

from alerts.models import Alert, AlertChannel, AlertRule
from portal.audit.models import AuditEntry
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def admin_client(role="Administrator") -> Client:
    client = Client()
    client.force_login(UserFactory(username=role.lower(), role=role, is_staff=True))
    return client


def test_a_rule_added_in_the_admin_is_saved_by_the_service_with_its_channels():
    channel = AlertChannelFactory()
    response = admin_client().post("/admin/alerts/alertrule/add/", {
        "name": "Admin rule", "metric": "failed_events", "operator": ">", "threshold": "0", "for_secs": "0",
        "severity": "critical", "channels": [channel.pk], "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get(name="Admin rule")
    assert list(rule.channels.all()) == [channel] and rule.enabled
    assert AuditEntry.objects.filter(kind="setting_changed", summary__startswith="Alert rule Admin rule created").exists()


def test_a_channel_secret_set_in_the_admin_is_sealed_kept_when_left_empty_and_never_shown():
    client = admin_client()
    response = client.post("/admin/alerts/alertchannel/add/", {
        "name": "hook", "kind": "webhook", "target": "https://hooks.example.test/a", "secret": "admin-secret-1"})
    assert response.status_code == 302
    channel = AlertChannel.objects.get(name="hook")
    sealed = dict(channel.sealed_secret)
    assert sealed and "admin-secret-1" not in str(sealed)
    page = client.get(f"/admin/alerts/alertchannel/{channel.pk}/change/").content.decode()
    assert "admin-secret-1" not in page and str(sealed["sealed"]) not in page
    client.post(f"/admin/alerts/alertchannel/{channel.pk}/change/", {
        "name": "hook", "kind": "webhook", "target": "https://hooks.example.test/b", "secret": ""})
    channel.refresh_from_db()
    assert channel.target.endswith("/b") and channel.sealed_secret == sealed


def test_the_admin_acknowledge_action_is_offered_to_operators_only_and_calls_the_service():
    rule = AlertRuleFactory()
    alert = Alert.objects.create(rule=rule, rule_name=rule.name, scope="system", metric="failed_events", operator=">",
                                 threshold=0, severity="critical")
    viewer_page = admin_client("Viewer").get("/admin/alerts/alert/").content.decode()
    assert 'value="acknowledge"' not in viewer_page
    operator = admin_client("Operator")
    assert 'value="acknowledge"' in operator.get("/admin/alerts/alert/").content.decode()
    operator.post("/admin/alerts/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by.username == "operator"
