"""Every action's form and API body, and every page form, under hostile input (issue 23): never a 5xx.

The cases are generated from the declarations in <app>/actions.py (each action's parameters are its
page form and its API body): per action, per class of hostile value, every parameter gets a value of
that class suited to its type. Refused input must come back as field errors (400 with `extra.fields`
in the API, the errors in the page's form fragment); accepted markup must be stored as sent and shown
escaped in every page that shows it, the admin included.
"""
import json
import re

import pytest
from rest_framework import serializers

from portal.commands import actions
from portal.models import Command
from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory, ParticipantFactory
from tests.queues.factories import QueueFactory
from tests.recordings.factories import RecordingFactory

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert(1)</script>"
HUGE_DIGITS = "9" * 5000


def hostile(field, kind: str):
    """A value of `kind` for one parameter, suited to its type; None leaves the parameter out."""
    if kind == "nul":  # PostgreSQL refuses NUL in text: it must be refused before it reaches a query
        if isinstance(field, serializers.ListField):
            return ["a\x00b"]
        is_text = isinstance(field, serializers.CharField) and not isinstance(field, serializers.ChoiceField)
        return "a\x00b" if is_text else None
    if isinstance(field, serializers.BooleanField):
        return {"numbers": "²", "enums": "maybe", "oversized": "y" * 10_000, "markup": None, "types": [1]}[kind]
    if isinstance(field, serializers.IntegerField):
        return {"numbers": "²", "enums": "1e309", "oversized": HUGE_DIGITS, "markup": None, "types": {"a": 1}}[kind]
    if isinstance(field, serializers.ChoiceField):
        return {"numbers": "²", "enums": "not-a-choice", "oversized": "c" * 100_000, "markup": None, "types": [SCRIPT]}[kind]
    if isinstance(field, serializers.ListField):
        return {"numbers": ["²", HUGE_DIGITS], "enums": [""], "oversized": ["l" * 100_000] * 3, "markup": [SCRIPT],
                "types": "not-a-list"}[kind]
    if isinstance(field, serializers.DictField):
        return {"numbers": {"n": HUGE_DIGITS}, "enums": "not-a-dict", "oversized": {"k" * 1000: "v" * 100_000},
                "markup": {"x": SCRIPT}, "types": ["not", "a", "dict"]}[kind]
    # Text of every sort (CharField, URLField, RegexField, Base64Field, LoopField...).
    return {"numbers": HUGE_DIGITS, "enums": "²", "oversized": "s" * 100_000, "markup": SCRIPT + "\u202e<b>x</b>",
            "types": {"nested": [[[[{"deep": 1}]]]]}}[kind]


KINDS = ["numbers", "enums", "oversized", "markup", "types", "nul"]


def targets() -> dict[str, str]:
    """One local target per kind of thing actions act on."""
    conference = ConferenceFactory(conference_id="conf-hostile")
    ParticipantFactory(conference=conference, call_control_id="v3:hostile-leg")
    CallFactory(call_control_id="v3:hostile-leg")
    QueueFactory(name="hostile-queue")
    RecordingFactory(recording_id="rec-hostile")
    return {"conference": "conf-hostile", "call": "v3:hostile-leg", "queue": "hostile-queue", "recording": "rec-hostile"}


def body_for(action, kind: str) -> dict:
    values = {}
    for name, field in action.params().fields.items():
        value = hostile(field, kind)
        if value is not None:
            values[name] = value
    return values


def form_data(values: dict) -> dict:
    """As a browser posts them: strings, lists as repeated fields; other JSON shapes as their text."""
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = [v if isinstance(v, str) else json.dumps(v) for v in value]
        elif isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


# Actions on an existing target, through the one door; the two that create their target have forms of their own.
ACTIONS = sorted(a.name for a in actions.all_actions() if a.target_param is not None)
CREATING = {"conference.create": ("/conferences/new/", "/api/v1/conferences/"), "queue.create": ("/queues/", "/api/v1/queues/")}


@pytest.fixture
def admin_client(client, administrator):
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    return client


@pytest.mark.resilience("Bad input: action forms and API bodies")
@pytest.mark.parametrize("action_name", ACTIONS)
def test_every_action_refuses_or_escapes_hostile_values_in_every_door(admin_client, action_name, resilience):
    action = actions.get(action_name)
    target = targets()[action.target_kind]
    kind = actions.kind(action.target_kind)
    page_url = f"/{kind.plural}/{target}/actions/{action.short_name}/"
    api_url = f"/api/v1/{kind.plural}/{target}/actions/{action.short_name}/"
    failures = []
    for value_kind in KINDS:
        values = body_for(action, value_kind)
        answers = {
            "api": admin_client.post(api_url, json.dumps(values), content_type="application/json"),
            "page (htmx)": admin_client.post(page_url, form_data(values), HTTP_HX_REQUEST="true"),
            "page": admin_client.post(page_url, form_data(values)),
        }
        for door, response in answers.items():
            resilience.tried()
            if response.status_code >= 500:
                resilience.server_errors(1)
                failures.append(f"{door} {value_kind}: {response.status_code}")
            elif door == "api" and response.status_code == 400:
                body = response.json()
                if not body.get("message"):
                    failures.append(f"api {value_kind}: 400 without a message: {body}")
            elif door == "api" and response.status_code == 413:
                if not response.json().get("message"):
                    failures.append(f"api {value_kind}: 413 without a message")
            elif door == "api" and response.status_code not in (202, 400, 403):
                failures.append(f"api {value_kind}: unexpected {response.status_code}")
    for name in ("\xff\xfe", "x"):  # a body that is not UTF-8
        resilience.tried()
        raw = b"{\"" + name.encode("latin-1") + b"\": \"\xff\xfe\xfa\"}"
        response = admin_client.post(api_url, raw, content_type="application/json")
        resilience.server_errors(int(response.status_code >= 500))
        if response.status_code != 400:
            failures.append(f"api non-UTF-8: {response.status_code}")
        resilience.tried()
        response = admin_client.post(page_url, b"payload=%FF%FE&name=%C3%28", content_type="application/x-www-form-urlencoded")
        resilience.server_errors(int(response.status_code >= 500))
        if response.status_code >= 500:
            failures.append(f"page non-UTF-8: {response.status_code}")
    assert not failures, failures
    assert_markup_escaped(admin_client, action, target)


def assert_markup_escaped(client, action, target: str) -> None:
    """Wherever an accepted command with markup in its parameters is shown, the markup shows as text."""
    commands = Command.objects.filter(action=action.name, target=target)
    kind = actions.kind(action.target_kind)
    pages = ["/commands/", "/admin/portal/command/", kind.detail_url(target)]
    for command in commands:
        pages += [f"/commands/{command.pk}/", f"/admin/portal/command/{command.pk}/change/"]
    for url in filter(None, pages):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SCRIPT not in response.content.decode(), f"unescaped markup on {url}"


@pytest.mark.resilience("Bad input: action forms and API bodies")
@pytest.mark.parametrize("action_name", sorted(CREATING))
def test_create_forms_refuse_or_escape_hostile_values(admin_client, action_name, resilience):
    action = actions.get(action_name)
    targets()
    page_url, api_url = CREATING[action_name]
    failures = []
    for value_kind in KINDS:
        values = body_for(action, value_kind)
        for door, response in {
            "api": admin_client.post(api_url, json.dumps(values), content_type="application/json"),
            "page": admin_client.post(page_url, form_data(values)),
            "page (htmx)": admin_client.post(page_url, form_data(values), HTTP_HX_REQUEST="true"),
        }.items():
            resilience.tried()
            if response.status_code >= 500:
                resilience.server_errors(1)
                failures.append(f"{door} {value_kind}: {response.status_code}")
    assert not failures, failures
    for command in Command.objects.filter(action=action_name):
        for url in ("/commands/", f"/commands/{command.pk}/", f"/admin/portal/command/{command.pk}/change/"):
            assert SCRIPT not in admin_client.get(url).content.decode(), url


@pytest.mark.resilience("Bad input: action forms and API bodies")
def test_markup_in_tts_text_is_sent_as_typed_and_shown_as_text(admin_client, resilience):
    targets()
    text = SCRIPT + ' <img src=x onerror="alert(2)">'
    api = admin_client.post("/api/v1/conferences/conf-hostile/actions/speak/",
                            json.dumps({"payload": text, "voice": "female"}), content_type="application/json")
    page = admin_client.post("/conferences/conf-hostile/actions/speak/", {"payload": text, "voice": SCRIPT})
    resilience.tried(2)
    resilience.server_errors(int(api.status_code >= 500) + int(page.status_code >= 500))
    assert api.status_code == 202 and page.status_code == 302
    commands = list(Command.objects.filter(action="conference.speak"))
    assert len(commands) == 2 and all(c.params["payload"] == text for c in commands)  # stored exactly as typed
    for url in ("/commands/", "/conferences/conf-hostile/", "/admin/portal/command/",
                *(f"/commands/{c.pk}/" for c in commands), *(f"/admin/portal/command/{c.pk}/change/" for c in commands)):
        html = admin_client.get(url).content.decode()
        assert SCRIPT not in html and '<img src=x onerror' not in html, url
    shown = admin_client.get(f"/commands/{commands[0].pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown  # there, as text


LISTS = ["/", "/conferences/", "/calls/", "/queues/", "/wallboard/queues/", "/recordings/", "/events/", "/commands/",
         "/queues/hostile-queue/", "/conferences/conf-hostile/", "/calls/v3:hostile-leg/", "/recordings/rec-hostile/",
         "/api/v1/conferences/", "/api/v1/calls/", "/api/v1/queues/", "/api/v1/recordings/", "/api/v1/events/",
         "/api/v1/commands/", "/api/v1/queues/hostile-queue/metrics/", "/api/v1/queues/hostile-queue/calls/"]
FILTERS = ["since", "until", "status", "q", "page", "window", "format", "action", "target", "user", "door", "event_type",
           "state", "direction", "active", "min_duration", "max_duration", "has_transcript", "source", "conference",
           "queue", "call", "call_control_id", "conference_id", "queue_name", "include_deleted", "page_size"]
FILTER_VALUES = {"numbers": "²", "huge": HUGE_DIGITS, "enums": "not-a-choice", "markup": SCRIPT, "oversized": "f" * 20_000,
                 "dates": "2026-13-45T25:61:61Z", "nul": "a\x00b"}


@pytest.mark.resilience("Bad input: list filters")
@pytest.mark.parametrize("url", LISTS)
def test_list_filters_refuse_or_ignore_hostile_values(admin_client, url, resilience):
    targets()
    failures = []
    for value_kind, value in FILTER_VALUES.items():
        resilience.tried()
        response = admin_client.get(url, {name: value for name in FILTERS if not (name == "format" and value_kind == "markup")})
        if response.status_code >= 500:
            resilience.server_errors(1)
            failures.append(f"{value_kind}: {response.status_code}")
        elif response.get("Content-Type", "").startswith("text/html") and SCRIPT in response.content.decode():
            failures.append(f"{value_kind}: the filter value shown unescaped")
    assert not failures, failures


@pytest.mark.resilience("Bad input: markup in names from Telnyx")
def test_markup_in_names_from_telnyx_is_shown_as_text_in_pages_and_admin(admin_client, post_webhook, event_doc, resilience):
    """Caller names and numbers, queue and conference names come from webhooks and Telnyx's lists."""
    from conferencing import services as conferencing_services
    from tests.conferencing.test_sync_and_pages import conf

    name = SCRIPT + '"><img src=x onerror=alert(2)>'
    for doc in (event_doc("call.initiated", **{"from": name, "to": name, "caller_id_name": name}),
                event_doc("call.enqueued", queue=name)):
        assert post_webhook(doc).status_code == 200
    conferencing_services.conference_sync_page(telnyx_conferences=[conf("conf-markup", name=name)],
                                               participants_by_conference={})
    pages = ["/", "/calls/", "/calls/v3:cc-alice/", "/queues/", "/wallboard/queues/", "/conferences/",
             "/conferences/conf-markup/", "/events/", "/commands/"]
    for model in ("calls/call", "queues/queue", "queues/queuedcall", "conferencing/conference", "webhooks/webhookevent"):
        pages.append(f"/admin/{model}/")
        changelist = admin_client.get(f"/admin/{model}/")
        pages += sorted(set(re.findall(rf'href="(/admin/{model}/\d+/change/)', changelist.content.decode())))[:2]
    failures = []
    for url in pages:
        resilience.tried()
        response = admin_client.get(url)
        resilience.server_errors(int(response.status_code >= 500))
        html = response.content.decode()
        if response.status_code != 200:
            failures.append(f"{url}: {response.status_code}")
        elif SCRIPT in html or "<img src=x" in html:
            failures.append(f"{url}: unescaped")
    assert not failures, failures


def test_a_new_queue_name_with_a_slash_is_refused_with_a_message(admin_client):
    response = admin_client.post("/api/v1/queues/",
                                 json.dumps({"queue_name": "sales/east"}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["queue_name"] == ['A queue name cannot contain "/".']
    assert not Command.objects.exists()


def test_a_queue_name_with_a_slash_from_telnyx_has_its_page(admin_client):
    QueueFactory(name="sales/east")
    board = admin_client.get("/queues/").content.decode()
    assert 'href="/queues/sales/east/"' in board
    page = admin_client.get("/queues/sales/east/")
    assert page.status_code == 200 and "sales/east" in page.content.decode()
    assert admin_client.get("/queues/sales/east/live/").status_code == 200


def test_an_api_body_past_the_upload_limit_is_413_in_the_api_shape(admin_client, settings):
    targets()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = admin_client.post("/api/v1/conferences/conf-hostile/actions/speak/",
                                 json.dumps({"payload": "x" * 20_000, "voice": "female"}), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"message": "The request body is larger than 10,000 bytes."}
    assert not Command.objects.exists()
