"""LOG_FORMAT=json: every line Celery's worker and beat write is JSON, banner and warnings included (issue 30)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def run_until(args, tmp_path, ready: str, timeout: float = 90) -> tuple[str, str]:
    """Start a Celery process with LOG_FORMAT=json, stop it (SIGTERM) once `ready` is logged; its output."""
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
        "PORTAL_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    env.pop("REDIS_URL", None)  # the filesystem broker under tmp_path: nothing shared
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen([CELERY, "-A", "portal", *args], cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + timeout
            while ready not in err.read_text() + out.read_text():
                assert process.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
                time.sleep(0.2)
            time.sleep(2)  # a signal during start-up is click's plain "Aborted!", not what a deployment sends
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    return out.read_text(), err.read_text()


def json_lines(text: str) -> list[dict]:
    plain = [line for line in text.splitlines() if line.strip() and not line.startswith("{")]
    assert not plain, plain[:10]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.timeout(240)
def test_worker_banner_warning_and_shutdown_are_json(tmp_path):
    out, err = run_until(["worker", "-Q", "json-test", "-n", "json@%h", "--pool", "solo", "--loglevel=INFO"],
                         tmp_path, "ready.")
    lines = json_lines(out) + json_lines(err)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("celery worker json@") for m in messages), messages
    started = next(line for line in lines if line["message"].startswith("celery worker json@"))
    assert started["queues"] == ["json-test"]
    assert any("Warm shutdown" in m for m in messages), messages
    if os.geteuid() == 0:  # Celery warns root; the warning is a JSON line too
        assert any(line["logger"] == "py.warnings" and "superuser" in line["message"] for line in lines)


@pytest.mark.timeout(240)
def test_beat_banner_is_json(tmp_path):
    out, err = run_until(["beat", "--loglevel=INFO", f"--schedule={tmp_path}/beat-schedule"], tmp_path, "celery beat starting")
    lines = json_lines(out) + json_lines(err)
    assert any(line["message"] == "celery beat starting" for line in lines)
