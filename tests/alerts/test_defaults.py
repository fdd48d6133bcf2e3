"""The default rules: installed disabled by the migration, enabled by `make run` with the sandbox (issue 26)."""
import os

import pytest
from django.core.management import call_command

from alerts.models import AlertRule

pytestmark = pytest.mark.django_db
DEFAULTS = {"Long wait", "Very long wait", "Service level below 80 %", "High abandon rate", "Commands failing",
            "Events failing", "Webhooks falling behind", "Workers or beat missing"}


def test_the_migration_installs_the_defaults_disabled():
    rules = AlertRule.objects.filter(is_default=True)
    assert set(rules.values_list("name", flat=True)) == DEFAULTS
    assert not rules.filter(enabled=True).exists()
    assert set(rules.values_list("metric", flat=True)) == {
        "longest_wait_secs", "service_level_percent", "abandon_rate_percent", "failed_commands", "failed_events",
        "webhook_lag_secs", "workers_missing"}


def run_portal(settings, tmp_path, monkeypatch, api_key: str) -> dict:
    from portal.management.commands import runportal

    settings.TELNYX_API_KEY, settings.DATA_DIR, settings.TELNYX_SANDBOX_LINKED = api_key, tmp_path, False
    started = []
    monkeypatch.setattr(runportal.os, "execvpe", lambda path, argv, env: started.append(env))
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    call_command("runportal", "--port", "8131", "--sandbox-port", "8132", stdout=open(os.devnull, "w"))
    return started[0]


def test_make_run_with_the_sandbox_enables_them_and_prints_e_mails(settings, tmp_path, monkeypatch):
    env = run_portal(settings, tmp_path, monkeypatch, api_key="")
    assert AlertRule.objects.filter(is_default=True, enabled=True).count() == len(DEFAULTS)
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_make_run_against_telnyx_leaves_them_to_an_administrator(settings, tmp_path, monkeypatch):
    env = run_portal(settings, tmp_path, monkeypatch, api_key="KEY_REAL")
    assert not AlertRule.objects.filter(is_default=True, enabled=True).exists()
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
