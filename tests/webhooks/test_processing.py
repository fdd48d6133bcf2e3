"""Processing: handler registry, failures and retries, ordering, the sweeper and re-processing tools."""
import pytest
from django.core.management import call_command
from django.utils import timezone

from calls.models import Call
from webhooks import drain_flag, registry
from webhooks.apply import event_process
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_handler(monkeypatch):
    """Make call.initiated's handler raise; returns a switch to mend it."""
    state = {"broken": True}
    original = registry.handlers_for

    def handlers_for(event_type):
        if event_type == "call.initiated" and state["broken"]:
            def explode(event):
                raise RuntimeError("handler bug")
            return [explode]
        return original(event_type)

    monkeypatch.setattr(registry, "handlers_for", handlers_for)
    return state


def test_unknown_event_type_is_stored_and_ignored(post_webhook, event_doc):
    document = event_doc("call.initiated")
    document["data"]["event_type"] = "call.something.new"
    assert post_webhook(document).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert event.last_error == ""


def test_handler_error_marks_failed_with_traceback_after_bounded_retries(post_webhook, event_doc, broken_handler, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    post_webhook(event_doc("call.initiated"))
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 3
    assert "RuntimeError: handler bug" in event.last_error


def test_failure_of_one_event_does_not_stop_others(post_webhook, event_doc, broken_handler, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    post_webhook(event_doc("call.initiated"))
    post_webhook(event_doc("call.hangup", call_control_id="v3:other"))
    assert WebhookEvent.objects.get(event_type="call.initiated").status == WebhookEvent.Status.FAILED
    assert WebhookEvent.objects.get(event_type="call.hangup").status == WebhookEvent.Status.PROCESSED
    assert Call.objects.get(call_control_id="v3:other").state == Call.State.HANGUP


def test_redelivery_of_failed_event_runs_handlers_again(post_webhook, event_doc, broken_handler, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    document = event_doc("call.initiated")
    post_webhook(document)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.FAILED
    broken_handler["broken"] = False
    assert post_webhook(document).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert Call.objects.filter(call_control_id="v3:cc-alice").exists()


def test_applying_twice_changes_nothing(post_webhook, event_doc):
    post_webhook(event_doc("call.hangup"))
    event = WebhookEvent.objects.get()
    before = Call.objects.values().get()
    event_process(event_pk=event.pk)
    assert Call.objects.values().get() == before


def test_older_event_does_not_overwrite_newer_state(post_webhook, event_doc):
    post_webhook(event_doc("call.hangup", id="e2", occurred_at="2026-11-23T09:05:00Z"))
    post_webhook(event_doc("call.answered", id="e1", occurred_at="2026-11-23T09:01:00Z"))
    call = Call.objects.get()
    assert call.state == Call.State.HANGUP
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == 2


def test_sweeper_queues_events_whose_task_was_lost(post_webhook, event_doc, monkeypatch, settings):
    from django.core.cache import cache

    from webhooks.tasks import process_pending, sweep_unprocessed_events

    original_delay = process_pending.delay
    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: None)  # the message vanishes
    post_webhook(event_doc("call.initiated"))
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING
    monkeypatch.setattr(process_pending, "delay", original_delay)
    assert cache.get(drain_flag.NUDGE_KEY)  # later deliveries do not nudge until the flag expires
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    assert sweep_unprocessed_events() == 0  # too young to be called lost
    WebhookEvent.objects.update(received_at=timezone.now() - timezone.timedelta(minutes=5))
    assert sweep_unprocessed_events() == 1
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_reprocess_command_requeues_failed_events(post_webhook, event_doc, broken_handler, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    post_webhook(event_doc("call.initiated"))
    broken_handler["broken"] = False
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_events", "--status", "failed", "--type", "call.initiated")
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_reprocess_command_rejects_bad_since():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO 8601 date-time"):
        call_command("reprocess_events", "--since", "last tuesday")


def test_admin_reprocess_action_requeues(client, operator, post_webhook, event_doc, broken_handler, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    post_webhook(event_doc("call.initiated"))
    broken_handler["broken"] = False
    event = WebhookEvent.objects.get()
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/webhooks/webhookevent/", {"action": "reprocess_selected", "_selected_action": [event.pk]}
        )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED


def test_viewer_cannot_reprocess_from_admin(client, viewer, post_webhook, event_doc, broken_handler, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    post_webhook(event_doc("call.initiated"))
    event = WebhookEvent.objects.get()
    client.force_login(viewer)
    response = client.post("/admin/webhooks/webhookevent/", {"action": "reprocess_selected", "_selected_action": [event.pk]})
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 1
    assert response.status_code in (200, 302)


def test_events_page_lists_filters_and_shows_rejections(client, viewer, post_webhook, event_doc):
    post_webhook(event_doc("call.initiated"))
    post_webhook(event_doc("call.enqueued"))
    client.post("/webhooks/telnyx/", data=b"{}", content_type="application/json")
    client.force_login(viewer)
    page = client.get("/events/").content.decode()
    assert "call.initiated" in page and "call.enqueued" in page
    assert "missing_headers: 1" in page
    filtered = client.get("/events/", {"queue_name": "support"}).content.decode()
    assert "call.enqueued" in filtered and "call.initiated" not in filtered
    event = WebhookEvent.objects.get(event_type="call.enqueued")
    detail = client.get(f"/events/{event.pk}/").content.decode()
    assert "&quot;queue&quot;: &quot;support&quot;" in detail
