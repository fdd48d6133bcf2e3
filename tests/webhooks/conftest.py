"""Fixtures shared by the webhook tests."""
import pytest
from django.db import connection

from webhooks.tasks import process_pending


@pytest.fixture
def postgres(settings, monkeypatch):
    """PostgreSQL only: SQLite keeps one drain (its write lock serializes every writer)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (several drains at once); .ci/run's PostgreSQL + Redis pass runs it")
    settings.WEBHOOK_PARTITIONS = 8
    settings.WEBHOOK_REBALANCE_SECONDS = 0.01
    settings.WEBHOOK_DRAIN_LINGER_SECONDS = 0
    monkeypatch.setattr(process_pending, "delay", lambda *a, **k: None)  # drains here are started by the test
    return settings
