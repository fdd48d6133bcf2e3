"""Logs (one readable line per thing that matters, JSON with ids on request), request ids, task queues."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from portal.celery import app as celery_app
from portal.request_id import ContextFilter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """Capture the portal's log lines as the JSON formatter of LOG_FORMAT=json writes them."""
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**{k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.django_db
def test_a_stored_webhook_is_one_json_line_with_its_request_id_and_event_id(post_webhook, event_doc, json_lines, monkeypatch):
    import logging

    # Per-delivery lines are DEBUG-only by default (see the test below); turn them on as LOG_LEVEL=DEBUG does.
    intake_log = logging.getLogger("webhooks.intake")
    monkeypatch.setattr(intake_log, "level", intake_log.level)  # restored after the test...
    intake_log.setLevel(logging.DEBUG)  # ...and setLevel clears logging's cached level checks
    response = post_webhook(event_doc("call.answered", id="log-ev-1"))
    request_id = response["X-Request-ID"]
    stored = [line for line in json_lines() if line["message"] == "webhook call.answered stored"]
    assert len(stored) == 1
    assert stored[0]["event_id"] == "log-ev-1"
    assert stored[0]["request_id"] == request_id and len(request_id) == 32
    assert stored[0]["level"] == "INFO" and stored[0]["logger"] == "webhooks.intake" and "time" in stored[0]


@pytest.mark.django_db
def test_a_command_outcome_is_one_line_with_its_command_id(telnyx, operator, django_capture_on_commit_callbacks, json_lines):
    from portal.commands import services
    from portal.models import Command

    telnyx.post("/conferences/conf-log/actions/mute").respond(200, json={"data": {"result": "ok"}})
    with django_capture_on_commit_callbacks(execute=True):
        command = services.command_issue(action_name="conference.mute", target="conf-log", params={}, user=operator,
                                         door=Command.Door.API)
    lines = [line for line in json_lines() if line.get("command_id") == str(command.command_id)]
    assert len(lines) == 1
    assert lines[0]["message"].startswith(f"command conference.mute #{command.pk} succeeded in ")
    assert lines[0]["message"].endswith(" ms")


def test_request_id_is_taken_from_a_sane_header_and_replaced_otherwise(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == "lb-1234abcd"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged log line")["X-Request-ID"]
    assert replaced != "bad id\nforged log line" and len(replaced) == 32


def test_log_format_json_configures_every_process_with_structured_lines():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('portal.commands').info('command x #1 succeeded in 5 ms', extra={'command_id': 'c-1'}); "
        "logging.getLogger('celery.app.trace').info('Task succeeded (must not show)'); "
        "logging.getLogger('uvicorn.access').info('GET /webhooks/telnyx/ 200 (must not show)')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines] == ["command x #1 succeeded in 5 ms"], done.stderr
    assert lines[0]["command_id"] == "c-1" and lines[0]["logger"] == "portal.commands" and lines[0]["level"] == "INFO"


def test_an_unknown_log_format_is_refused_at_start():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_FORMAT": "xml"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "LOG_FORMAT must be plain or json" in done.stderr


@pytest.mark.parametrize(("task", "queue"), [
    ("webhooks.tasks.process_pending", "events"),
    ("webhooks.tasks.process_event", "events"),
    ("webhooks.tasks.sweep_unprocessed_events", "events"),
    ("portal.commands.tasks.execute_command", "commands"),
    ("portal.commands.tasks.sweep_stuck_commands", "commands"),
    ("recordings.tasks.download_recording", "downloads"),
    ("conferencing.tasks.sync_conferences", "sync"),
    ("conferencing.tasks.sync_conferences_periodic", "sync"),
    ("queues.tasks.sync_queues", "sync"),
    ("conferencing.tasks.fetch_conference_name", "celery"),
])
def test_tasks_are_routed_to_the_queue_of_their_kind_of_work(task, queue):
    route = celery_app.amqp.router.route({}, task, (), {})
    assert route["queue"].name == queue


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.embedded"])
def test_the_procfiles_worker_consumes_every_queue(procfile):
    line = next(line for line in (ROOT / procfile).read_text().splitlines() if line.startswith("worker:"))
    queues = line.split(" -Q ", 1)[1].split()[0].split(",")
    assert sorted(queues) == sorted(settings.PORTAL_TASK_QUEUES)


def test_a_worker_without_q_consumes_every_queue_too():
    assert sorted(celery_app.amqp.queues) == sorted(settings.PORTAL_TASK_QUEUES)


def test_per_event_lines_are_quiet_by_default_and_shown_with_debug():
    """`make run` prints what matters (commands, syncs, refusals), not a line per delivery (issue 9)."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('webhooks.intake').info('webhook call.answered stored'); "
        "logging.getLogger('webhooks.processing').info('events applied: 1 processed'); "
        "logging.getLogger('webhooks.intake').warning('webhook rejected: signature_mismatch'); "
        "logging.getLogger('portal.commands').info('command conference.mute #1 succeeded in 5 ms')"
    )
    shown = {}
    for level in ("INFO", "DEBUG"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_FORMAT": "plain", "LOG_LEVEL": level}
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        shown[level] = done.stderr
    assert "stored" not in shown["INFO"] and "events applied" not in shown["INFO"]
    assert "rejected" in shown["INFO"] and "conference.mute #1 succeeded" in shown["INFO"]
    assert "stored" in shown["DEBUG"] and "events applied" in shown["DEBUG"]


def test_a_refused_request_logs_no_traceback_and_nothing_twice():
    code = (
        "import django, logging; django.setup(); "
        "from django.test import Client; from django.contrib.auth.models import User; "
        "logging.getLogger('django.request').warning('Forbidden (Permission denied): /system/', exc_info=ValueError('x')); "
        "logging.getLogger('django.request').error('Internal Server Error: /boom/'); "
        "logging.getLogger('django.security.csrf').warning('Forbidden (CSRF cookie not set.): /x/')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_FORMAT": "plain", "LOG_LEVEL": "INFO",
           "DJANGO_DEBUG": "true"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "Permission denied" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("Internal Server Error: /boom/") == 1
    assert done.stderr.count("CSRF cookie not set") == 1
