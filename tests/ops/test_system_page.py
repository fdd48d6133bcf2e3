"""The System page: Administrators only; the same checks as /readyz, backlogs, syncs, heartbeats, sockets."""
import re

import pytest
from django.utils import timezone

from ops.models import Heartbeat
from portal.models import Command
from portal.sync import record_sync
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("role", ["viewer", "operator", "supervisor"])
def test_only_administrators_may_see_the_system_page(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.get("/system/").status_code == 403
    assert client.get("/system/panel/").status_code == 403
    assert 'href="/system/"' not in client.get("/").content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/system/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_administrator_sees_checks_backlogs_syncs_heartbeats_and_sockets(client, administrator, alive, settings):
    now = timezone.now()
    alive()
    Heartbeat.objects.create(kind=Heartbeat.Kind.WORKER, name="celery@old:9", seen_at=now - timezone.timedelta(minutes=10),
                             detail={"queues": ["events"]})
    Heartbeat.objects.create(kind=Heartbeat.Kind.BEAT, name="b2:7", seen_at=now)  # a second beat by mistake
    Heartbeat.objects.create(kind=Heartbeat.Kind.WEB, name="web-a:11", seen_at=now, detail={"sockets": 4})
    Heartbeat.objects.create(kind=Heartbeat.Kind.WEB, name="web-b:12", seen_at=now, detail={"sockets": 3})
    WebhookEvent.objects.create(event_id="lagging", event_type="call.answered", raw_body="{}", payload={})
    WebhookEvent.objects.filter(event_id="lagging").update(received_at=now - timezone.timedelta(seconds=95))
    for status in (Command.Status.QUEUED, Command.Status.QUEUED, Command.Status.RUNNING, Command.Status.FAILED):
        Command.objects.create(action="conference.mute", target="c", status=status)
    record_sync("conferences", "failed", error="Telnyx answered 503")

    client.force_login(administrator)
    page = client.get("/system/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/system/"' in html and 'aria-current="page"' in html
    text = text_of(html)
    for check in ("database", "migrations", "workers", "beat"):
        assert f'data-check="{check}"' in html
    assert "not ready" not in text and "ready" in text
    assert re.search(r'data-counter="webhook_lag".*?0:01:3[5-9]', html, re.S)
    # Per drain partition (issue 25): the lagging event's partition shows its age, the others none.
    lagging = WebhookEvent.objects.get(event_id="lagging").partition
    assert re.search(rf'data-partition="{lagging}"[^>]*>{lagging}: 0:01:3[5-9]<', html)
    assert len(re.findall(r'data-partition="\d+"', html)) == settings.WEBHOOK_PARTITIONS
    assert re.search(r'data-counter="commands_queued".*?<span class="value">2</span>', html, re.S)
    assert re.search(r'data-counter="commands_running".*?<span class="value">1</span>', html, re.S)
    assert re.search(r'data-counter="commands_failed".*?<span class="value">1</span>', html, re.S)
    assert re.search(r'data-counter="live_sockets".*?<span class="value">7</span>', html, re.S)
    assert re.search(r'data-worker="celery@w1:101".*?events, commands, downloads, sync, celery.*?badge ok', html, re.S)
    assert re.search(r'data-worker="celery@old:9".*?gone', html, re.S)
    assert "2 beats are running" in text
    assert re.search(r'data-sync="conferences".*?badge failed">failed.*?Telnyx answered 503', html, re.S)
    assert re.search(r'data-queue="downloads".*?downloads: 1 worker', html, re.S)
    assert 'hx-get="/system/panel/"' in html and 'hx-trigger="every 5s"' in html


def test_the_panel_says_what_is_wrong_when_nothing_runs(client, administrator):
    client.force_login(administrator)
    html = client.get("/system/panel/").content.decode()
    text = text_of(html)
    assert html.startswith('<div id="system-panel"')
    assert "not ready" in text
    assert "no worker heartbeat in the last 60 s" in text
    assert "No worker has sent a heartbeat in the last hour" in text
    assert "No beat heartbeat in the last hour" in text
    assert re.search(r'data-queue="commands".*?badge failed', html, re.S)
