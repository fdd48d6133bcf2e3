"""Repeated requests at the doors: a double click or a client's retry issues one command, and Telnyx hears it once.

Issue 23: the same `speak` posted twice reached Telnyx twice. The API honours `Idempotency-Key` (same key
and user within 24 h: the same command, 200, nothing sent again; another body: 422); page forms, the
retry button and admin confirmations carry a one-time token with the same effect.
"""
import re

import pytest
from django.utils import timezone

from portal.models import Command, IdempotencyKey
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, UserFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from tests.recordings.factories import RecordingFactory
from tests.resilience.fake_telnyx import FakeTelnyx, Status

pytestmark = pytest.mark.django_db

CONF = "conf-idem"
SPEAK_PATH = f"/v2/conferences/{CONF}/actions/speak"
SPEAK = {"payload": "Hello once", "voice": "female"}


@pytest.fixture
def fake(settings):
    server = FakeTelnyx()
    settings.TELNYX_BASE_URL = server.base_url
    yield server
    server.close()


@pytest.fixture
def room(db):
    return ConferenceFactory(conference_id=CONF)


def post_json(client, path, body, capture, method="post", **headers):
    with capture(execute=True):
        return getattr(client, method)(path, body, content_type="application/json", **headers)


@pytest.mark.resilience("Doors: repeated requests")
def test_api_same_key_answers_the_same_command_and_sends_once(
    fake, room, operator, client, django_capture_on_commit_callbacks, resilience
):
    client.force_login(operator)
    url = f"/api/v1/conferences/{CONF}/actions/speak/"
    answers = [post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="k-1")
               for _ in range(3)]
    resilience.tried(3)
    resilience.server_errors(sum(a.status_code >= 500 for a in answers))
    resilience.doubled(len(fake.received(SPEAK_PATH)) - 1)
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert len({a.json()["id"] for a in answers}) == 1
    assert answers[1]["Idempotent-Replayed"] == "true" and answers[1]["Location"] == answers[0]["Location"]
    assert Command.objects.count() == 1
    assert [b["payload"] for b in fake.received(SPEAK_PATH)] == ["Hello once"]


@pytest.mark.resilience("Doors: repeated requests")
def test_api_same_key_with_another_body_is_422_and_sends_nothing(
    fake, room, operator, client, django_capture_on_commit_callbacks, resilience
):
    client.force_login(operator)
    url = f"/api/v1/conferences/{CONF}/actions/speak/"
    first = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="k-2")
    other = post_json(client, url, {**SPEAK, "payload": "Something else"}, django_capture_on_commit_callbacks,
                      HTTP_IDEMPOTENCY_KEY="k-2")
    resilience.tried(2)
    resilience.doubled(len(fake.received(SPEAK_PATH)) - 1)
    assert (first.status_code, other.status_code) == (202, 422)
    assert "already used for a different request" in other.json()["message"]
    assert other.json()["extra"]["commands"] == [f"/api/v1/commands/{first.json()['id']}/"]
    assert Command.objects.count() == 1 and len(fake.received(SPEAK_PATH)) == 1


def test_api_keys_are_per_user_and_expire_after_24_hours(fake, room, operator, client, django_capture_on_commit_callbacks):
    other = UserFactory(username="operator2", role="Operator")
    url = f"/api/v1/conferences/{CONF}/actions/speak/"
    client.force_login(operator)
    first = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="shared")
    client.force_login(other)
    theirs = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="shared")
    assert (first.status_code, theirs.status_code) == (202, 202) and first.json()["id"] != theirs.json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timezone.timedelta(hours=25))
    again = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="shared")
    assert again.status_code == 202 and again.json()["id"] not in (first.json()["id"], theirs.json()["id"])
    assert len(fake.received(SPEAK_PATH)) == 3


def test_api_refusals_keep_the_key_free_and_a_bad_key_is_400(fake, room, operator, client, django_capture_on_commit_callbacks):
    client.force_login(operator)
    url = f"/api/v1/conferences/{CONF}/actions/speak/"
    invalid = post_json(client, url, {"voice": "female"}, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="k-3")
    assert invalid.status_code == 400 and "payload" in invalid.json()["extra"]["fields"]
    fixed = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="k-3")
    assert fixed.status_code == 202
    bad = post_json(client, url, SPEAK, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["extra"]["fields"]
    assert Command.objects.count() == 1


def test_without_a_key_each_request_is_a_command(fake, room, operator, client, django_capture_on_commit_callbacks):
    client.force_login(operator)
    url = f"/api/v1/conferences/{CONF}/actions/speak/"
    answers = [post_json(client, url, SPEAK, django_capture_on_commit_callbacks) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202] and len(fake.received(SPEAK_PATH)) == 2


def _routes(fake):
    """Every other API route that issues a command: (method, url, body, Telnyx method, Telnyx path)."""
    queue = QueueFactory(name="support", max_size=10)
    QueuedCallFactory(queue=queue, call_control_id="v3:dead", is_alive=False, left_at=None)
    RecordingFactory(recording_id="rec-idem", status="stored")
    CallFactory(call_control_id="v3:leg")  # a leg the portal has seen (issue 30: an unseen one is a 400)
    return [
        ("post", "/api/v1/conferences/", {"call_control_id": "v3:leg", "name": "New"}, "POST", "/v2/conferences"),
        ("patch", "/api/v1/queues/support/", {"max_size": 20}, "POST", "/v2/queues/support"),
        ("delete", "/api/v1/queues/support/?force=true", {}, "DELETE", "/v2/queues/support"),
        ("patch", "/api/v1/queues/support/calls/v3:dead/", {"keep_after_hangup": True}, "PATCH",
         "/v2/queues/support/calls/v3:dead"),
        ("delete", "/api/v1/queues/support/calls/v3:dead/", {}, "DELETE", "/v2/queues/support/calls/v3:dead"),
        ("delete", "/api/v1/recordings/rec-idem/", {}, "DELETE", "/v2/recordings/rec-idem"),
    ]


@pytest.mark.resilience("Doors: repeated requests")
def test_every_api_route_that_issues_a_command_honours_the_key(
    fake, administrator, client, django_capture_on_commit_callbacks, resilience
):
    client.force_login(administrator)
    for n, (method, url, body, telnyx_method, telnyx_path) in enumerate(_routes(fake)):
        key = f"route-{n}"
        first = post_json(client, url, body, django_capture_on_commit_callbacks, method=method, HTTP_IDEMPOTENCY_KEY=key)
        second = post_json(client, url, body, django_capture_on_commit_callbacks, method=method, HTTP_IDEMPOTENCY_KEY=key)
        received = len(fake.received(telnyx_path, telnyx_method))
        resilience.tried(1)
        resilience.doubled(max(0, received - 1))
        resilience.server_errors(int(first.status_code >= 500) + int(second.status_code >= 500))
        assert (first.status_code, second.status_code) == (202, 200), (url, first.content, second.content)
        assert first.json()["id"] == second.json()["id"], url
        assert received == 1, url


@pytest.mark.resilience("Doors: repeated requests")
def test_page_form_submitted_twice_issues_once_and_a_fresh_token_allows_a_deliberate_second(
    fake, room, operator, client, django_capture_on_commit_callbacks, resilience
):
    client.force_login(operator)
    page = client.get(f"/conferences/{CONF}/").content.decode()
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)" id="token-speak"', page).group(1)
    url = f"/conferences/{CONF}/actions/speak/"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, {**SPEAK, "idempotency_token": token}, HTTP_HX_REQUEST="true")
        double = client.post(url, {**SPEAK, "idempotency_token": token}, HTTP_HX_REQUEST="true")
    resilience.tried(2)
    resilience.doubled(len(fake.received(SPEAK_PATH)) - 1)
    command = Command.objects.get()
    assert f"#{command.pk}" in first.content.decode() and f"#{command.pk}" in double.content.decode()
    assert "already sent: nothing sent again" in double.content.decode()
    assert len(fake.received(SPEAK_PATH)) == 1
    # The answer swaps a new token into the form: pressing the button again on purpose is a new command.
    fresh = re.search(r'name="idempotency_token" value="([0-9a-f]+)" data-fresh-token',
                      first.content.decode()).group(1)
    assert fresh != token
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**SPEAK, "idempotency_token": fresh}, HTTP_HX_REQUEST="true")
    assert Command.objects.count() == 2 and len(fake.received(SPEAK_PATH)) == 2


@pytest.mark.resilience("Doors: repeated requests")
def test_admin_confirmation_resubmitted_issues_once(fake, administrator, client, django_capture_on_commit_callbacks, resilience):
    queue = QueueFactory(name="gone-soon", max_size=5)
    client.force_login(administrator)
    confirm = client.post("/admin/queues/queue/", {"action": "issue_queue_delete", "_selected_action": [queue.pk]})
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)"', confirm.content.decode()).group(1)
    form = {"action": "issue_queue_delete", "_selected_action": [queue.pk], "confirmed": "yes", "idempotency_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/queues/queue/", form)
        again = client.post("/admin/queues/queue/", form, follow=True)
    received = len(fake.received("/v2/queues/gone-soon", "DELETE"))
    resilience.tried(1)
    resilience.doubled(received - 1)
    assert Command.objects.filter(action="queue.delete").count() == 1 and received == 1
    assert "already submitted" in again.content.decode()


@pytest.mark.resilience("Doors: repeated requests")
def test_admin_action_bar_resubmitted_issues_once(fake, administrator, client, django_capture_on_commit_callbacks, resilience):
    queue = QueueFactory(name="sized", max_size=5)
    client.force_login(administrator)
    changelist = client.get("/admin/queues/queue/").content.decode()
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)"', changelist).group(1)
    form = {"action": "change_max_size", "_selected_action": [queue.pk], "apply": "yes", "max_size": 9,
            "idempotency_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/queues/queue/", form)
        client.post("/admin/queues/queue/", form)
    received = fake.received("/v2/queues/sized")
    resilience.tried(1)
    resilience.doubled(len(received) - 1)
    assert received == [{"max_size": 9}] and Command.objects.count() == 1


@pytest.mark.resilience("Doors: repeated requests")
def test_retry_button_clicked_twice_retries_once_and_api_retry_honours_the_key(
    fake, room, operator, viewer, client, django_capture_on_commit_callbacks, resilience
):
    fake.script(SPEAK_PATH, Status(422), Status(422), Status(422))
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/conferences/{CONF}/actions/speak/", SPEAK, content_type="application/json")
    failed = Command.objects.get()
    assert failed.status == Command.Status.FAILED
    page = client.get(f"/commands/{failed.pk}/").content.decode()
    token = re.search(r'action="/commands/\d+/retry/".*?name="idempotency_token" value="([0-9a-f]+)"', page, re.S).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/commands/{failed.pk}/retry/", {"idempotency_token": token})
        second = client.post(f"/commands/{failed.pk}/retry/", {"idempotency_token": token}, follow=True)
    retries = list(Command.objects.filter(retry_of=failed))
    assert len(retries) == 1 and first["Location"] == f"/commands/{retries[0].pk}/"
    assert retries[0].requested_by == operator and retries[0].door == Command.Door.PAGE
    assert "Already retried" in second.content.decode()
    api = [post_json(client, f"/api/v1/commands/{failed.pk}/retry/", {}, django_capture_on_commit_callbacks,
                     HTTP_IDEMPOTENCY_KEY="retry-1") for _ in range(2)]
    assert [a.status_code for a in api] == [202, 200] and api[0].json()["retry_of"] == failed.pk
    received = len(fake.received(SPEAK_PATH))
    resilience.tried(2)
    resilience.doubled(received - 3)
    assert received == 3  # the original, one page retry, one API retry
    client.force_login(viewer)
    assert client.post(f"/api/v1/commands/{failed.pk}/retry/").status_code == 403
    assert client.post(f"/commands/{failed.pk}/retry/", {"idempotency_token": "abc"}).status_code == 403
    assert Command.objects.count() == 3


@pytest.mark.resilience("Doors: repeated requests")
def test_create_page_and_inline_participant_buttons_carry_a_one_time_token(
    fake, operator, client, django_capture_on_commit_callbacks, resilience
):
    from tests.factories import ParticipantFactory

    room = ConferenceFactory(conference_id=CONF)
    ParticipantFactory(conference=room, call_control_id="v3:leg-1")
    client.force_login(operator)
    create_page = client.get("/conferences/new/").content.decode()
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)"', create_page).group(1)
    form = {"call_control_id": "v3:leg-1", "name": "Twice", "idempotency_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/conferences/new/", form)
        client.post("/conferences/new/", form)
    room_page = client.get(f"/conferences/{CONF}/").content.decode()
    mute = re.search(r'actions/mute/".*?name="idempotency_token" value="([0-9a-f]+)"', room_page, re.S).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            client.post(f"/conferences/{CONF}/actions/mute/", {"call_control_ids": "v3:leg-1", "idempotency_token": mute},
                        HTTP_HX_REQUEST="true")
    created, muted = fake.received("/v2/conferences"), fake.received(f"/v2/conferences/{CONF}/actions/mute")
    resilience.tried(2)
    resilience.doubled(len(created) - 1 + len(muted) - 1)
    assert len(created) == 1 and muted == [{"call_control_ids": ["v3:leg-1"]}]
    assert Command.objects.filter(action="conference.create").count() == 1
    assert Command.objects.filter(action="conference.mute").count() == 1


@pytest.mark.resilience("Doors: repeated requests")
def test_recordings_bulk_delete_resubmitted_deletes_once(fake, administrator, client, django_capture_on_commit_callbacks,
                                                          resilience):
    recording = RecordingFactory(recording_id="rec-twice", status="stored")
    client.force_login(administrator)
    page = client.get("/recordings/").content.decode()
    token = re.search(r'id="recording-bulk".*?name="idempotency_token" value="([0-9a-f]+)"', page, re.S).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/recordings/delete/", {"pk": [recording.pk], "idempotency_token": token})
        again = client.post("/recordings/delete/", {"pk": [recording.pk], "idempotency_token": token}, follow=True)
    received = fake.requests.count(("DELETE", "/v2/recordings/rec-twice", {}))
    resilience.tried(1)
    resilience.doubled(received - 1)
    assert received == 1 and Command.objects.filter(action="recording.delete").count() == 1
    assert "nothing sent again" in again.content.decode()


@pytest.mark.resilience("Doors: repeated requests")
def test_admin_retry_of_an_outcome_unknown_command_resubmitted_retries_once(
    fake, room, administrator, client, django_capture_on_commit_callbacks, resilience
):
    unknown = Command.objects.create(action="conference.speak", target=CONF, params=SPEAK, status="outcome_unknown",
                                     maybe_delivered=True, attempts=1, error_title="Connection lost")
    client.force_login(administrator)
    changelist = client.get("/admin/portal/command/").content.decode()
    assert "Outcome unknown" in changelist  # shown as such in the admin
    token = re.search(r'name="idempotency_token" value="([0-9a-f]+)"', changelist).group(1)
    form = {"action": "retry_selected", "_selected_action": [unknown.pk], "idempotency_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/portal/command/", form)
        again = client.post("/admin/portal/command/", form, follow=True)
    retries = list(Command.objects.filter(retry_of=unknown))
    received = fake.received(SPEAK_PATH)
    resilience.tried(1)
    resilience.doubled(len(received) - 1)
    assert len(retries) == 1 and retries[0].door == Command.Door.ADMIN and retries[0].requested_by == administrator
    assert retries[0].command_id == unknown.command_id  # Telnyx drops it if the first attempt did land
    assert [b["command_id"] for b in received] == [str(unknown.command_id)]
    assert "already submitted" in again.content.decode()
