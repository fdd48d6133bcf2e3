"""/healthz and /readyz: each readiness check passes, or fails naming itself, without leaking secrets."""
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder

from ops.models import Heartbeat
from portal import health

pytestmark = pytest.mark.django_db

REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def checks_of(response) -> dict:
    return response.json()["checks"]


def test_healthz_answers_without_login_or_dependencies(client):
    def no_database(*args):
        raise AssertionError("liveness must not touch the database")

    with connection.execute_wrapper(no_database):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_200_when_every_check_passes(client, alive):
    alive()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    expected = ["database", "migrations", "workers", "beat", "webhook_keys"]
    if settings.REDIS_URL:
        expected.insert(2, "redis")
    assert list(body["checks"]) == expected
    for result in body["checks"].values():
        assert result["ok"] is True
        assert isinstance(result["ms"], float | int) and result["ms"] >= 0
    assert body["checks"]["workers"]["workers"] == 1


def test_readyz_503_names_the_database_when_it_is_down(client, alive):
    alive()

    def refused(execute, sql, params, many, context):
        raise OperationalError('connection to server at "db.internal" (10.0.0.7), port 5432 failed: refused')

    with connection.execute_wrapper(refused):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"]
    assert body["checks"]["database"] == {"ok": False, "ms": body["checks"]["database"]["ms"],
                                          "error": "unreachable (OperationalError)"}
    assert "db.internal" not in response.content.decode() and "10.0.0.7" not in response.content.decode()


def test_readyz_503_names_redis_when_it_is_down(client, alive, settings):
    alive()
    settings.REDIS_URL = REDIS_DOWN
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"].startswith("unreachable")
    assert REDIS_DOWN not in response.content.decode()


def test_readyz_503_names_workers_without_a_recent_heartbeat(client, alive):
    alive(worker=False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["workers"]
    assert response.json()["checks"]["workers"]["error"] == "no worker heartbeat in the last 60 s"


def test_a_stale_worker_heartbeat_does_not_count(client, alive):
    alive(beat=False, age_seconds=61)  # a worker that stopped a minute ago
    alive(worker=False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["workers"]


def test_readyz_503_names_a_queue_no_worker_consumes(client, alive):
    alive(queues=["events", "commands", "sync", "celery"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["workers"]
    assert response.json()["checks"]["workers"]["error"] == "no live worker consumes: downloads"


def test_readyz_503_names_beat_when_it_is_silent(client, alive):
    alive(beat=False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["beat"]


def test_readyz_503_names_unapplied_migrations(client, alive):
    alive()
    MigrationRecorder.Migration.objects.filter(app="ops", name="0001_initial").delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["migrations"]
    assert response.json()["checks"]["migrations"]["error"] == "1 migration(s) not applied"


def test_readyz_reveals_no_secret_host_or_version(client, alive, settings):
    import django

    alive()
    settings.REDIS_URL = "redis://:s3cret-pass@127.0.0.1:1/0"
    text = client.get("/readyz").content.decode()
    for secret in ("s3cret-pass", settings.SECRET_KEY, django.get_version(), str(settings.DATABASES["default"]["NAME"])):
        assert secret not in text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_over_plain_http_are_not_redirected_to_https(client, settings, alive, path):
    alive()
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(path, REMOTE_ADDR="127.0.0.1").status_code in (200, 503)
    assert client.get("/login/").status_code == 301  # everything else still goes to HTTPS


def test_a_failing_probe_does_not_flood_the_error_log(client, caplog):
    import logging

    with caplog.at_level(logging.INFO):
        assert client.get("/readyz").status_code == 503
    assert not [record for record in caplog.records if record.name == "django.request"]


def test_readyz_503_names_a_malformed_public_key_entry(client, alive, settings):
    alive()
    settings.TELNYX_PUBLIC_KEY = "not-a-key!," + settings.TELNYX_PUBLIC_KEY
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["webhook_keys"]
    assert response.json()["checks"]["webhook_keys"]["error"] == "TELNYX_PUBLIC_KEY entry 1 of 2 is not base64"


def test_readyz_answers_its_last_result_for_a_moment_without_running_the_checks_again(client, alive, settings):
    """Probes every second from several load balancers: one round of checks per READYZ_CACHE_SECONDS."""
    alive()
    settings.READYZ_CACHE_SECONDS = 2
    health._last = None
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        first = client.get("/readyz")
        checked = len(queries)
        second = client.get("/readyz")
    assert (first.status_code, second.status_code) == (200, 200)
    assert checked >= 3  # database, migrations, heartbeats
    assert len(queries) == checked  # the second probe ran no check
    assert second.json() == first.json()

    health._last = (health._last[0] - 2.1, health._last[1])  # the window has passed
    alive(worker=False, beat=False, age_seconds=120)
    Heartbeat.objects.all().delete()
    assert client.get("/readyz").json()["failed"] == ["workers", "beat"]


def test_readyz_builds_the_migration_graph_once_per_process(client, alive, monkeypatch):
    alive()
    client.get("/readyz")
    built = []
    monkeypatch.setattr("django.db.migrations.loader.MigrationLoader.build_graph", lambda self: built.append(1))
    assert client.get("/readyz").status_code == 200
    assert built == []
