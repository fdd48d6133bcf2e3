"""Administrators manage alert rules and channels in portal pages, through the services (issue 26)."""
import pytest

from alerts.models import Alert, AlertChannel, AlertRule
from portal.audit.models import AuditEntry
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory, client_as
from tests.queues.factories import QueueFactory

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_rule_with_a_queue_and_channels_and_it_is_audited():
    admin = client_as("Administrator")
    QueueFactory(name="support")
    channel = AlertChannelFactory(name="ops-hook")
    page = admin.get("/alerts/rules/").content.decode()
    assert 'href="/alerts/rules/new/"' in page and 'href="/alerts/channels/new/"' in page
    assert "ops-hook" in admin.get("/alerts/rules/new/").content.decode()
    response = admin.post("/alerts/rules/new/", {
        "name": "Slow support", "metric": "longest_wait_secs", "queue": "support", "operator": ">", "threshold": "45",
        "for_secs": "20", "severity": "critical", "channels": [channel.pk], "enabled": "on"})
    rule = AlertRule.objects.get(name="Slow support")
    assert response.status_code == 302 and response["Location"] == f"/alerts/rules/#rule-{rule.pk}"
    assert (rule.queue.name, rule.threshold, rule.for_secs, rule.severity, rule.enabled) == ("support", 45, 20, "critical", True)
    assert list(rule.channels.all()) == [channel]
    entry = AuditEntry.objects.get(target=f"alert rule {rule.pk}")
    assert (entry.username, entry.door, entry.kind) == ("administrator", "page", "setting_changed")
    assert f'id="rule-{rule.pk}"' in admin.get("/alerts/rules/").content.decode()


def test_bad_rule_input_shows_field_errors_and_writes_nothing():
    admin = client_as("Administrator")
    QueueFactory(name="support")
    response = admin.post("/alerts/rules/new/", {"name": "", "metric": "failed_events", "queue": "support",
                                                 "operator": "=", "threshold": "many", "for_secs": "-1", "severity": "x"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"name", "operator", "threshold", "for_secs", "severity"} <= set(errors)
    page = response.content.decode()
    assert page.count('class="field-error"') >= 5
    system_with_queue = admin.post("/alerts/rules/new/", {"name": "x", "metric": "failed_events", "queue": "support",
                                                          "operator": ">", "threshold": "1", "for_secs": "0",
                                                          "severity": "info"})
    assert system_with_queue.status_code == 400
    assert system_with_queue.context["form"].errors["queue"] == ["failed_events is a system metric: leave the queue empty."]
    assert not AlertRule.objects.filter(is_default=False).exists()  # the installed defaults only


def test_a_rule_is_edited_disabled_enabled_and_deleted_after_confirmation():
    admin = client_as("Administrator")
    rule = AlertRuleFactory(name="Wait", threshold=60, enabled=True)
    assert 'value="Wait"' in admin.get(f"/alerts/rules/{rule.pk}/edit/").content.decode()
    response = admin.post(f"/alerts/rules/{rule.pk}/edit/", {
        "name": "Wait longer", "metric": "longest_wait_secs", "queue": "", "operator": ">", "threshold": "90",
        "for_secs": "30", "severity": "warning", "enabled": "on"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.threshold) == ("Wait longer", 90)

    admin.post(f"/alerts/rules/{rule.pk}/enabled/", {"enabled": "false"})
    rule.refresh_from_db()
    assert rule.enabled is False
    assert "Enable</button>" in admin.get("/alerts/rules/").content.decode()
    admin.post(f"/alerts/rules/{rule.pk}/enabled/", {"enabled": "true"})
    rule.refresh_from_db()
    assert rule.enabled is True

    alert = Alert.objects.create(rule=rule, rule_name=rule.name, scope="system", metric=rule.metric, operator=">",
                                 threshold=90, severity="warning")
    confirm = admin.get(f"/alerts/rules/{rule.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the alert rule Wait longer?" in confirm.content.decode()
    assert AlertRule.objects.filter(pk=rule.pk).exists()  # asking deletes nothing
    assert admin.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 302
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.rule_name == "Wait longer"


def test_a_channel_is_created_with_a_write_only_secret_edited_and_deleted():
    admin = client_as("Administrator")
    response = admin.post("/alerts/channels/new/", {"name": "hook", "kind": "webhook",
                                                    "target": "https://hooks.example.test/a", "secret": "page-secret-1"})
    channel = AlertChannel.objects.get(name="hook")
    assert response.status_code == 302 and channel.has_secret
    sealed = dict(channel.sealed_secret)
    assert "page-secret-1" not in str(sealed)
    form = admin.get(f"/alerts/channels/{channel.pk}/edit/").content.decode()
    assert "page-secret-1" not in form and str(sealed["sealed"]) not in form and 'type="password"' in form
    assert "page-secret-1" not in admin.get("/alerts/rules/").content.decode()

    admin.post(f"/alerts/channels/{channel.pk}/edit/", {"name": "hook", "kind": "webhook",
                                                        "target": "https://hooks.example.test/b", "secret": ""})
    channel.refresh_from_db()
    assert channel.target.endswith("/b") and channel.sealed_secret == sealed  # empty keeps the secret
    admin.post(f"/alerts/channels/{channel.pk}/edit/", {"name": "hook", "kind": "webhook",
                                                        "target": "https://hooks.example.test/b", "forget_secret": "on"})
    channel.refresh_from_db()
    assert not channel.has_secret

    assert "Delete the alert channel hook?" in admin.get(f"/alerts/channels/{channel.pk}/delete/").content.decode()
    assert admin.post(f"/alerts/channels/{channel.pk}/delete/").status_code == 302
    assert not AlertChannel.objects.exists()


def test_bad_channel_input_shows_field_errors():
    admin = client_as("Administrator")
    AlertChannelFactory(name="taken")
    bad_mail = admin.post("/alerts/channels/new/", {"name": "taken", "kind": "email", "target": "ops@, nobody"})
    assert bad_mail.status_code == 400
    errors = bad_mail.context["form"].errors
    assert "name" in errors and errors["target"] == ["'ops@' is not an e-mail address."]
    bad_url = admin.post("/alerts/channels/new/", {"name": "h", "kind": "webhook", "target": "not a url"})
    assert bad_url.status_code == 400 and bad_url.context["form"].errors["target"] == ["Enter a valid URL."]
    assert list(AlertChannel.objects.values_list("name", flat=True)) == ["taken"]


@pytest.mark.parametrize("role", ["Viewer", "Operator", "Supervisor"])
def test_other_roles_see_no_management_and_are_refused(role):
    client = client_as(role)
    rule, channel = AlertRuleFactory(), AlertChannelFactory()
    page = client.get("/alerts/rules/").content.decode()
    assert "/alerts/rules/new/" not in page and f"/alerts/rules/{rule.pk}/edit/" not in page
    assert client.post("/alerts/rules/new/", {"name": "x"}).status_code == 403
    assert client.post(f"/alerts/rules/{rule.pk}/enabled/", {"enabled": "false"}).status_code == 403
    assert client.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 403
    assert client.post(f"/alerts/channels/{channel.pk}/delete/").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled and AlertChannel.objects.filter(pk=channel.pk).exists()
