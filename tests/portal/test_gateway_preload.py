"""A Celery worker's parent loads the Telnyx SDK modules its children's commands need before it forks."""
import subprocess
import sys

from celery import signals

from portal import gateway, ops_celery
from portal.commands import actions

PROBE = """
import sys
import django
django.setup()
from portal import gateway
module = "telnyx.resources.conferences.actions"
before = module in sys.modules
walked = gateway.preload(["client.conferences.actions.mute", "client.conferences.actions.mute"])
print(before, module in sys.modules, walked)
"""


def test_preload_imports_the_resource_modules_behind_each_call_once():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                            env={"DJANGO_SETTINGS_MODULE": "portal.settings", "PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "true"})
    assert result.stdout.split() == ["False", "True", "1"]


def test_worker_init_preloads_every_declared_action(monkeypatch):
    import portal.celery  # noqa: F401 - installs the receivers

    assert "portal.ops.preload_telnyx" in [uid for (uid, _sender), _ in signals.worker_init.receivers]
    walked = []
    monkeypatch.setattr(gateway, "preload", lambda calls: walked.extend(calls) or len(walked))
    ops_celery._preload_telnyx()
    assert sorted(walked) == sorted(action.sdk for action in actions.all_actions())
    assert "client.conferences.actions.mute" in walked


def test_a_failing_preload_does_not_stop_the_worker(monkeypatch, caplog):
    def broken(calls):
        raise RuntimeError("no SDK")

    monkeypatch.setattr(gateway, "preload", broken)
    with caplog.at_level("WARNING", logger="portal.ops"):
        ops_celery._preload_telnyx()
    assert "could not preload the Telnyx SDK" in caplog.text
