"""Retention of finished commands and of the recording access log (issue 32)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from portal import tasks
from portal.audit.models import AuditEntry
from portal.models import Command
from tests.factories import CommandFactory
from webhooks import tasks as webhook_tasks

pytestmark = pytest.mark.django_db
Kind = AuditEntry.Kind


def aged(command, days):
    Command.objects.filter(pk=command.pk).update(created_at=timezone.now() - timedelta(days=days))
    return command


def test_finished_commands_go_after_the_setting_queued_and_running_stay(settings):
    settings.COMMAND_RETENTION_DAYS = 30
    old = {status: aged(CommandFactory(status=status), 31) for status in Command.Status.values}
    recent = aged(CommandFactory(status=Command.Status.SUCCEEDED), 29)
    retry = aged(CommandFactory(status=Command.Status.SUCCEEDED, retry_of=old["failed"]), 1)
    leg = Call.objects.create(call_control_id="v3:leg", dial_command=old["succeeded"])
    assert tasks.purge_old_commands.delay().get() == 3
    left = set(Command.objects.values_list("pk", flat=True))
    assert left == {old["queued"].pk, old["running"].pk, recent.pk, retry.pk}
    retry.refresh_from_db()
    leg.refresh_from_db()
    assert retry.retry_of is None and leg.dial_command is None  # the rows that pointed at them stay


def test_zero_keeps_every_command(settings):
    settings.COMMAND_RETENTION_DAYS = 0
    aged(CommandFactory(status=Command.Status.SUCCEEDED), 4000)
    assert tasks.purge_old_commands() == 0 and Command.objects.count() == 1


def test_access_log_retention_removes_plays_and_downloads_only(settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 10
    settings.AUDIT_RETENTION_DAYS = 365
    at = timezone.now() - timedelta(days=11)
    for kind in (Kind.RECORDING_PLAYED, Kind.RECORDING_DOWNLOADED, Kind.RECORDING_DELETED, Kind.COMMAND):
        AuditEntry.objects.create(at=at, kind=kind, summary=kind)
    recent = AuditEntry.objects.create(at=timezone.now() - timedelta(days=9), kind=Kind.RECORDING_PLAYED, summary="new")
    assert tasks.purge_old_access_log.delay().get() == 2
    assert sorted(AuditEntry.objects.values_list("kind", flat=True)) == sorted(
        [Kind.RECORDING_DELETED, Kind.COMMAND, Kind.RECORDING_PLAYED]
    )
    assert AuditEntry.objects.filter(pk=recent.pk).exists()
    settings.ACCESS_LOG_RETENTION_DAYS = 0
    assert tasks.purge_old_access_log() == 0


def test_beat_schedules_every_retention_and_the_partitions(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in (tasks.purge_old_commands, tasks.purge_old_access_log, webhook_tasks.purge_old_events,
                 webhook_tasks.create_event_partitions):
        assert schedule[task.name] == 3600.0
    # Housekeeping is routed to the `celery` queue: never beside the drains or the command sends.
    from celery import current_app

    for task in (webhook_tasks.purge_old_events, webhook_tasks.create_event_partitions, tasks.purge_old_commands):
        assert current_app.amqp.router.route({}, task.name)["queue"].name == "celery"


def test_defaults_keep_the_audit_trail_longest():
    from django.conf import settings

    assert settings.AUDIT_RETENTION_DAYS >= max(
        settings.ACCESS_LOG_RETENTION_DAYS, settings.COMMAND_RETENTION_DAYS, settings.EVENT_RETENTION_DAYS
    )
