"""Every list under /api/v1/ keeps one contract (issue 30), generated from the schema's own list operations:
the same since / until forms with the same meaning and error, and every documented filter filters."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conferencing.models import Participant
from portal.filters import BOOLEAN_ERROR, TIME_ERROR
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory
from tests.calls.factories import CallFactory
from tests.contract.conftest import list_operations
from tests.factories import CommandFactory, ConferenceFactory, ParticipantFactory
from tests.queues.factories import QueuedCallFactory, QueueFactory
from tests.recordings.factories import RecordingFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
ZONE = "America/New_York"


def room():
    from conferencing.models import Conference

    return Conference.objects.filter(conference_id="room").first() or ConferenceFactory(conference_id="room")


def command(at):
    from portal.models import Command

    made = CommandFactory()
    Command.objects.filter(pk=made.pk).update(created_at=at)  # auto_now_add ignores a given time


def audit_entry(at, n):
    from portal.audit.models import AuditEntry

    return AuditEntry.objects.create(at=at, kind=AuditEntry.Kind.SETTING_CHANGED, username=f"user-{n}", summary="x")


def event(at, n):
    return WebhookEvent.objects.create(event_id=f"e-{n}", event_type="call.initiated", raw_body="{}", payload={}, occurred_at=at)


# path -> (concrete URL, make(at, n): one row of that list at time `at`). A list missing here fails the test.
ROWS = {
    "/api/v1/conferences/": ("/api/v1/conferences/", lambda at, n: ConferenceFactory(conference_id=f"c-{n}", created_at=at)),
    "/api/v1/conferences/{id}/participants/": (
        "/api/v1/conferences/room/participants/",
        lambda at, n: ParticipantFactory(conference=room(), call_control_id=f"v3:p{n}", joined_at=at),
    ),
    "/api/v1/calls/": ("/api/v1/calls/", lambda at, n: CallFactory(call_control_id=f"v3:c{n}", started_at=at)),
    "/api/v1/recordings/": ("/api/v1/recordings/", lambda at, n: RecordingFactory(started_at=at, ended_at=at)),
    "/api/v1/queues/": ("/api/v1/queues/", lambda at, n: QueueFactory(name=f"q-{n}", created_at=at)),
    "/api/v1/queues/{name}/calls/": (
        "/api/v1/queues/line/calls/", lambda at, n: QueuedCallFactory(queue=QueueFactory(name="line"), enqueued_at=at)
    ),
    "/api/v1/commands/": ("/api/v1/commands/", lambda at, n: command(at)),
    "/api/v1/events/": ("/api/v1/events/", event),
    # Signing the test client in writes audit entries of its own: the list is read for the test's kind.
    "/api/v1/audit/": ("/api/v1/audit/?kind=setting_changed", lambda at, n: audit_entry(at, n)),
    # The default rules (installed by a migration) are left out by is_default=false.
    "/api/v1/alert-rules/": ("/api/v1/alert-rules/?is_default=false", lambda at, n: AlertRuleFactory(created_at=at)),
    "/api/v1/alert-channels/": ("/api/v1/alert-channels/", lambda at, n: AlertChannelFactory(created_at=at)),
    "/api/v1/alerts/": ("/api/v1/alerts/", lambda at, n: alert(at, n)),
}


def alert(at, n):
    from alerts.models import Alert

    rule = AlertRuleFactory()
    return Alert.objects.create(rule=rule, rule_name=rule.name, scope=f"queue:q-{n}", metric=rule.metric,
                                operator=">", threshold=1, severity="warning", opened_at=at)


def test_every_list_in_the_schema_is_covered(api_schema):
    assert set(list_operations(api_schema)) == set(ROWS)


def test_every_list_documents_since_and_until(api_schema):
    for path, operation in list_operations(api_schema).items():
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"since", "until"} <= names, path


@pytest.fixture
def day_rows(settings, path):
    """The list's URL, with two rows: one at 23:30 on 4 December and one at 00:30 on 5 December, New York time."""
    settings.TIME_ZONE = ZONE
    zone = ZoneInfo(ZONE)
    url, make = ROWS[path]
    make(datetime(2026, 12, 4, 23, 30, tzinfo=zone), 1)
    make(datetime(2026, 12, 5, 0, 30, tzinfo=zone), 2)
    return url


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def count(client, url, query):
    response = client.get(with_query(url, query))
    assert response.status_code == 200, (url, query, response.content)
    return response.json()["count"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", 2),
        ("until=2026-12-04", 1),  # the whole day in TIME_ZONE, not its first instant
        ("since=2026-12-05", 1),
        ("since=2026-12-04&until=2026-12-04", 1),
        ("since=2026-12-05T05:00:00Z", 1),  # 00:00 in New York
        ("until=2026-12-05T04:30:00Z", 1),  # 23:30 in New York, inclusive
        ("since=2026-12-05T05:00:00+00:00", 1),  # "+" unencoded: a space by the time it is parsed
        ("since=2026-12-05T05:00:00%2B00:00", 1),
        ("since=2026-12-05T00:00:00", 1),  # naive: the portal's time zone
        ("until=2026-12-03", 0),
    ],
)
@pytest.mark.parametrize("path", sorted(ROWS))
def test_since_and_until_mean_the_same_on_every_list(path, query, expected, day_rows, admin_client):
    url = day_rows
    assert count(admin_client, url, query) == expected


@pytest.mark.parametrize("bad", ["yesterday-ish", "2026-13-01", "2026-12-04T25:00:00Z"])
@pytest.mark.parametrize("bound", ["since", "until"])
@pytest.mark.parametrize("path", sorted(ROWS))
def test_a_bad_time_bound_is_the_same_400_on_every_list(path, bound, bad, day_rows, admin_client):
    response = admin_client.get(with_query(day_rows, f"{bound}={bad}"))
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid input.", "extra": {"fields": {bound: [TIME_ERROR]}}}


def query_parameters(operation) -> dict[str, dict]:
    return {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "query"}


@pytest.mark.parametrize("path", sorted(ROWS))
def test_every_documented_filter_filters_or_refuses(path, api_schema, day_rows, admin_client):
    """A value no row has gives no rows; a value of the wrong type is a 400 naming the filter."""
    url = day_rows
    assert count(admin_client, url, "") == 2
    for name, schema in query_parameters(list_operations(api_schema)[path]).items():
        if name in ("page", "since", "until", "format"):
            continue
        kind = schema.get("type")
        if kind == "boolean" or "enum" in schema or kind in ("integer", "number"):
            response = admin_client.get(with_query(url, f"{name}=maybe"))
            assert response.status_code == 400, (path, name, response.content)
            assert name in response.json()["extra"]["fields"], (path, name)
            if kind == "boolean":
                assert response.json()["extra"]["fields"][name] == [BOOLEAN_ERROR]
        else:
            response = admin_client.get(with_query(url, f"{name}=zzz-matches-nothing"))
            assert response.status_code in (200, 400), (path, name)
            if response.status_code == 200:
                assert response.json()["count"] == 0, (path, name)
            else:
                assert name in response.json()["extra"]["fields"], (path, name)


def test_participant_filters_filter_participants_not_the_conference(admin_client):
    room = ConferenceFactory(conference_id="room")
    ParticipantFactory(conference=room, call_control_id="v3:in", label="Alice", status=Participant.Status.JOINED)
    ParticipantFactory(conference=room, call_control_id="v3:out", label="Bob", status=Participant.Status.LEFT)
    url = "/api/v1/conferences/room/participants/"
    ids = lambda query: [p["call_control_id"] for p in admin_client.get(f"{url}?{query}").json()["results"]]  # noqa: E731
    assert ids("status=joined") == ["v3:in"]
    assert ids("q=bob") == ["v3:out"]
    assert ids("q=zzz") == []
    assert admin_client.get("/api/v1/conferences/nope/participants/").status_code == 404


def test_queue_list_include_deleted(admin_client):
    from django.utils import timezone

    QueueFactory(name="live")
    QueueFactory(name="gone", deleted_at=timezone.now())
    names = lambda query: [q["name"] for q in admin_client.get(f"/api/v1/queues/?{query}").json()["results"]]  # noqa: E731
    assert names("") == ["live"]
    assert names("include_deleted=true") == ["gone", "live"]
    assert names("include_deleted=false") == ["live"]
    assert admin_client.get("/api/v1/queues/?include_deleted=maybe").status_code == 400
    assert admin_client.get("/api/v1/queues/gone/").status_code == 200


@pytest.mark.parametrize(
    "query, status, expected",
    [("until=9999-12-31", 200, 2), ("since=9999-12-31", 200, 0), ("since=0001-01-01", 200, 2),
     ("since=0001-01-01T00:00:00%2B05:00", 400, None), ("until=9999-12-31T23:59:59-05:00", 400, None)],
)
def test_the_ends_of_the_calendar_are_answers_not_server_errors(query, status, expected, settings, admin_client):
    settings.TIME_ZONE = ZONE
    for n in (1, 2):
        CallFactory(call_control_id=f"v3:c{n}", started_at=datetime(2026, 12, 4, 12, tzinfo=ZoneInfo(ZONE)))
    response = admin_client.get(f"/api/v1/calls/?{query}")
    assert response.status_code == status, response.content
    if expected is not None:
        assert response.json()["count"] == expected
