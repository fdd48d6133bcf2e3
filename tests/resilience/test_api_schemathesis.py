"""The API under schemathesis against its own OpenAPI schema (issues 23 and 30): every operation, every
documented parameter and body, in-process over WSGI; no 5xx anywhere, and every response conforms to
the schema (status code, content type, body)."""
import os

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import Alert
from portal.models import Command
from portal.tokens import api_token_create
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory, UserFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from tests.recordings.factories import RecordingFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
# Bounded in the ordinary suite (well under a minute); `make resilience` digs deeper.
FULL = os.environ.get("RESILIENCE_FULL") == "1"
EXAMPLES = 20 if FULL else 3
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db):
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler, without closing the test's connection at each request (as Django's own
    test client does): inside the test's transaction a closed connection cannot be reopened."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db):
    """One row of everything, so that half the cases address objects that exist."""
    conference = ConferenceFactory(conference_id="conf-1")
    ParticipantFactory(conference=conference, call_control_id="v3:a")
    CallFactory(call_control_id="v3:a")
    queue = QueueFactory(name="support")
    QueuedCallFactory(queue=queue, call_control_id="v3:a")
    recording = RecordingFactory(recording_id="rec-1")
    command = Command.objects.create(action="conference.mute", target="conf-1", params={})
    event = WebhookEvent.objects.create(event_id="e-1", event_type="call.initiated", raw_body="{}", payload={})
    # A superuser: every permission, so that cases reach the code behind the permission check.
    user = UserFactory(username="fuzzer", is_superuser=True, is_staff=True)
    _token, key = api_token_create(user=user, name="schemathesis")
    existing = {
        "id": "conf-1", "target": "conf-1", "name": "support", "call_control_id": "v3:a",
    }
    channel = AlertChannelFactory()
    rule = AlertRuleFactory(channels=[channel], queue=queue)
    alert = Alert.objects.create(rule=rule, rule_name=rule.name, scope="queue:support", queue=queue, metric=rule.metric,
                                 operator=">", threshold=1, severity="warning")
    by_resource = {"commands": str(command.pk), "events": str(event.pk), "recordings": recording.recording_id,
                   "alert-rules": str(rule.pk), "alert-channels": str(channel.pk), "alerts": str(alert.pk)}
    return {"token": key, "existing": existing, "by_resource": by_resource}


def existing_path_parameters(operation, world) -> dict:
    """Path parameters naming objects that exist (the id's meaning depends on the resource)."""
    resource = operation.path.split("/")[3]
    values = {}
    for name in operation.path_parameters:
        if resource in world["by_resource"] and name in ("id", "target", "pk"):
            values[name] = world["by_resource"][resource]
        elif resource == "calls" and name in ("target", "call_control_id"):
            values[name] = "v3:a"
        elif resource == "queues" and name in ("name", "target"):
            values[name] = "support"
        else:
            values[name] = world["existing"].get(name, "x")
    return values


def summary(exc) -> str:
    """The lines of a schemathesis failure that say what broke (not the whole request and response)."""
    lines = [line.strip(" |") for line in str(exc).splitlines()]
    wanted = [line for line in lines if line and not line.startswith(("curl", "Reproduce", "`", "{", "}", "\"", "["))]
    return " / ".join(dict.fromkeys(wanted))[:400]


@pytest.mark.resilience("API schema fuzzing (schemathesis)")
@pytest.mark.timeout(1800 if FULL else 300)
def test_the_api_conforms_to_its_own_schema(world, wsgi_app, api_schema, telnyx, resilience):
    schema = schemathesis.openapi.from_dict(api_schema)
    schema.app = wsgi_app
    headers = {"Authorization": f"Token {world['token']}"}
    tried, server_errors, failures, statuses = 0, 0, [], set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), existing=hypothesis.strategies.booleans())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case, existing):
            nonlocal tried, server_errors
            if existing and case.operation.path_parameters:
                case.path_parameters = {**(case.path_parameters or {}), **existing_path_parameters(case.operation, world)}
            tried += 1
            response = case.call(headers=headers)
            statuses.add(response.status_code)
            if response.status_code >= 500:
                server_errors += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{case.operation.method.upper()} {case.formatted_path}: {summary(exc)}")
                raise

        try:
            run()
        except (Exception, BaseExceptionGroup):  # noqa: BLE001 - it is in `failures`; go on with the other operations
            pass
    resilience.tried(tried)
    resilience.server_errors(server_errors)
    assert tried > len(list(schema.get_all_operations()))  # every operation, most more than once
    assert server_errors == 0, failures
    assert not failures, "\n".join(failures[:10])
    assert {200, 202, 400, 404} <= statuses, statuses  # the cases reached real objects and real validation
    assert not telnyx.calls  # commands are queued on commit, which a test transaction never reaches
