"""The audit trail's doors (issue 24): Administrators only, append-only everywhere, filters, CSV, retention."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEntry, AuditImmutable
from portal.audit.services import audit_purge, audit_record

pytestmark = pytest.mark.django_db
Kind = AuditEntry.Kind


@pytest.fixture
def trail(db):
    """Three entries at known moments (created directly: `at` defaults to now)."""
    now = timezone.now()
    old = AuditEntry.objects.create(at=now - timedelta(days=3), kind=Kind.SIGN_IN, username="alice", summary="alice signed in")
    mid = AuditEntry.objects.create(at=now - timedelta(days=1), kind=Kind.COMMAND, username="bob", door="api",
                                    summary="=HYPERLINK(\"http://evil\")", target="@conf")
    new = AuditEntry.objects.create(at=now, kind=Kind.COMMAND, username="alice", door="page", summary="+1 -2")
    return old, mid, new


@pytest.mark.parametrize("role", ["viewer", "operator", "supervisor"])
def test_only_administrators_see_the_page_the_export_and_the_api(client, request, role, trail):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_anonymous_is_sent_to_sign_in_or_refused(client, trail):
    assert client.get("/audit/").status_code == 302
    assert client.get("/api/v1/audit/").status_code in (401, 403)


def test_administrator_page_lists_filters_and_links(client, administrator, trail):
    client.force_login(administrator)
    home = client.get("/").content.decode()
    assert 'href="/audit/"' in home
    page = client.get("/audit/?user=alice&kind=command").content.decode()
    assert page.count('class="audit-row"') == 1 and "+1 -2" in page
    assert client.get("/audit/?since=not-a-day").status_code == 400


def test_api_filters_by_user_kind_and_day_and_paginates(client, administrator, trail):
    old, mid, new = trail
    client.force_login(administrator)
    body = client.get("/api/v1/audit/", {"user": "alice"}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [new.pk, old.pk]
    assert [r["id"] for r in client.get("/api/v1/audit/", {"kind": "command"}).json()["results"]] == [new.pk, mid.pk]
    day = timezone.localdate(mid.at).isoformat()
    assert [r["id"] for r in client.get("/api/v1/audit/", {"since": day, "until": day}).json()["results"]] == [mid.pk]
    moment = (old.at + timedelta(seconds=1)).isoformat()
    assert old.pk not in [r["id"] for r in client.get("/api/v1/audit/", {"since": moment}).json()["results"]]
    bad = client.get("/api/v1/audit/", {"since": "yesterday", "kind": "nothing"})
    assert bad.status_code == 400 and set(bad.json()["extra"]["fields"]) == {"since", "kind"}
    assert client.get(f"/api/v1/audit/{mid.pk}/").json()["summary"] == mid.summary


def test_nobody_writes_through_the_api_or_the_admin(client, trail):
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    entry = trail[0]
    for method in ("post", "put", "patch", "delete"):
        path = "/api/v1/audit/" if method == "post" else f"/api/v1/audit/{entry.pk}/"
        assert getattr(client, method)(path, {"summary": "x"}, content_type="application/json").status_code == 405
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"summary": "rewritten"}).status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client.post("/admin/audit/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert listing.status_code in (200, 302)
    entry.refresh_from_db()
    assert AuditEntry.objects.filter(pk__in=[e.pk for e in trail]).count() == 3 and entry.summary == "alice signed in"


def test_the_model_refuses_changes_and_deletions(trail):
    entry = trail[0]
    entry.summary = "rewritten"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "alice signed in"


def test_csv_export_makes_formula_cells_inert(client, administrator, trail):
    client.force_login(administrator)
    response = client.get("/audit/export.csv", {"user": "bob"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "kind", "username", "address", "door", "target", "summary", "detail"]
    assert len(rows) == 2
    assert rows[1][5] == "'@conf" and rows[1][6] == "'=HYPERLINK(\"http://evil\")"
    everything = list(csv.reader(io.StringIO(b"".join(client.get("/audit/export.csv").streaming_content).decode())))
    assert "'+1 -2" in [row[6] for row in everything]


def test_retention_purges_only_entries_older_than_the_setting(settings, trail):
    old, mid, new = trail
    settings.AUDIT_RETENTION_DAYS = 2
    assert audit_purge() == 1
    assert set(AuditEntry.objects.values_list("pk", flat=True)) == {mid.pk, new.pk}
    settings.AUDIT_RETENTION_DAYS = 0
    assert audit_purge(now=timezone.now() + timedelta(days=999)) == 0
    assert AuditEntry.objects.count() == 2


def test_beat_runs_the_retention_task_daily(settings):
    from portal.audit.tasks import purge_audit_entries

    entry = settings.CELERY_BEAT_SCHEDULE["audit-retention"]
    assert entry["task"] == purge_audit_entries.name and entry["schedule"] == 86400.0
    settings.AUDIT_RETENTION_DAYS = 1
    AuditEntry.objects.create(at=timezone.now() - timedelta(days=2), kind=Kind.SIGN_IN, summary="old")
    kept = audit_record(kind=Kind.SIGN_IN, summary="new")
    assert purge_audit_entries.delay().get() == 1
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_database_refuses_an_update_even_by_raw_sql(trail):
    from django.db import DatabaseError, connection, transaction

    entry = trail[0]
    with pytest.raises(DatabaseError, match="audit entries cannot be changed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditentry SET summary = 'rewritten' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).summary == "alice signed in"
    with connection.cursor() as cursor:  # the retention purge still deletes
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert not AuditEntry.objects.filter(pk=entry.pk).exists()
