"""Secret command parameters are encrypted at rest, forgotten at any final state, never logged (issue 24)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from portal import sealing
from portal.models import Command
from tests.calls.factories import CallFactory

CC = "v3:cc-sealed"
SECRET = "tok-very-secret-4711"
BODY = {"stream_url": "wss://media.example/s", "stream_auth_token": SECRET,
        "custom_parameters": [{"name": "pin", "value": "8642"}]}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def leg(db):
    return CallFactory(call_control_id=CC)


def stored_row(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_params, params FROM portal_command WHERE id = %s", [pk])
        return " ".join(str(v) for v in cursor.fetchone())


def issue(client, django_capture_on_commit_callbacks, execute=True):
    with django_capture_on_commit_callbacks(execute=execute):
        response = client.post(f"/api/v1/calls/{CC}/actions/streaming_start/", BODY, content_type="application/json")
    assert response.status_code == 202, response.content
    return Command.objects.get(pk=response.json()["id"])


def test_secrets_are_encrypted_while_the_command_waits(leg, supervisor, client, django_capture_on_commit_callbacks):
    client.force_login(supervisor)
    command = issue(client, django_capture_on_commit_callbacks, execute=False)  # queued, not yet sent
    raw = stored_row(command.pk)
    assert SECRET not in raw and "8642" not in raw
    assert set(command.sealed_params) == {"sealed"}
    assert sealing.unseal(command.sealed_params) == {"stream_auth_token": SECRET,
                                                     "custom_parameters": [{"name": "pin", "value": "8642"}]}
    assert command.params["stream_auth_token"] == command.params["custom_parameters"] == "********"


@pytest.mark.parametrize("status, final", [(200, "succeeded"), (422, "failed"), (503, "outcome_unknown")])
def test_telnyx_gets_the_secret_and_the_row_forgets_it_at_any_end(status, final, leg, supervisor, client, telnyx,
                                                                  django_capture_on_commit_callbacks, settings):
    settings.COMMAND_MAX_ATTEMPTS = 1
    answer = {"data": {"result": "ok"}} if status == 200 else {"errors": [{"title": "No", "detail": "refused"}]}
    route = telnyx.post(f"/calls/{CC}/actions/streaming_start").respond(status, json=answer)
    client.force_login(supervisor)
    command = issue(client, django_capture_on_commit_callbacks)
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream_auth_token"] == SECRET and sent["custom_parameters"] == [{"name": "pin", "value": "8642"}]
    command.refresh_from_db()
    assert command.status == final
    assert command.sealed_params == {}


def test_a_deliberate_retry_asks_for_forgotten_secrets(leg, supervisor, client, telnyx, settings,
                                                       django_capture_on_commit_callbacks):
    settings.COMMAND_MAX_ATTEMPTS = 1
    route = telnyx.post(f"/calls/{CC}/actions/streaming_start").respond(422, json={"errors": [{"title": "No"}]})
    client.force_login(supervisor)
    command = issue(client, django_capture_on_commit_callbacks)
    api = client.post(f"/api/v1/commands/{command.pk}/retry/")
    assert api.status_code == 400
    assert set(api.json()["extra"]["fields"]) == {"custom_parameters", "stream_auth_token"}
    page = client.post(f"/commands/{command.pk}/retry/", follow=True)
    assert page.status_code == 200 and "issue the action again" in page.content.decode()
    assert route.call_count == 1 and Command.objects.count() == 1


def test_keys_rotate(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SEALED_PARAMS_KEYS = [old]
    stored = sealing.seal({"a": "b"})
    settings.SEALED_PARAMS_KEYS = [new, old]
    assert sealing.unseal(stored) == {"a": "b"}
    assert sealing._current().decrypt(sealing.seal({"x": 1})["sealed"].encode())  # new values seal with `new`
    settings.SEALED_PARAMS_KEYS = [new]
    with pytest.raises(sealing.SealBroken):  # the old key dropped: refused, never sent without its secrets
        sealing.unseal(stored)


def test_a_command_whose_secrets_cannot_be_read_fails_and_sends_nothing(leg, supervisor, client, telnyx, settings,
                                                                       django_capture_on_commit_callbacks):
    route = telnyx.post(f"/calls/{CC}/actions/streaming_start").respond(200, json={"data": {"result": "ok"}})
    client.force_login(supervisor)
    command = issue(client, django_capture_on_commit_callbacks, execute=False)
    settings.SEALED_PARAMS_KEYS = [Fernet.generate_key().decode()]  # rotated away without keeping the old key
    from portal.commands.services import command_execute

    command_execute(command_pk=command.pk)
    command.refresh_from_db()
    assert (command.status, command.error_title, command.sealed_params) == ("failed", "Secrets unreadable", {})
    assert route.call_count == 0


def test_the_sdk_never_logs_request_bodies_even_at_debug(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_LEVEL": "DEBUG", "DJANGO_DEBUG": "true",
           "PORTAL_DATA_DIR": str(tmp_path)}
    code = ("import django, logging; django.setup(); "
            "print(logging.getLogger('telnyx._base_client').isEnabledFor(logging.DEBUG), "
            "logging.getLogger('portal').isEnabledFor(logging.DEBUG))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split()[-2:] == ["False", "True"], done.stderr
