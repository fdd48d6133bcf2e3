"""Management commands from a second shell under `make run` (issue 30): they find the sandbox; passwords without a terminal."""
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from portal import gateway, sandbox_link
from sandbox.app import create_app
from sandbox.webhooks import public_key_b64
from tests.sandbox.conftest import ServerThread, free_port

ROOT = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- the file ----------------------------------------------------------------------------------------------
def test_no_file_means_no_sandbox_and_nothing_to_say(tmp_path):
    assert sandbox_link.find(tmp_path) == (None, "")


def test_a_running_make_runs_file_is_used(tmp_path):
    sandbox_link.record(tmp_path, base_url="http://127.0.0.1:9/v2", api_key="sandbox", public_key="pk", pid=os.getpid())
    link, note = sandbox_link.find(tmp_path)
    assert (link["base_url"], link["api_key"], link["public_key"]) == ("http://127.0.0.1:9/v2", "sandbox", "pk")
    assert "is not answering" in note and "http://127.0.0.1:9/v2" in note
    assert oct(sandbox_link.path(tmp_path).stat().st_mode & 0o777) == "0o600"


def test_a_stopped_make_runs_file_is_not_used_and_says_why(tmp_path):
    sandbox_link.record(tmp_path, base_url="http://127.0.0.1:9/v2", api_key="sandbox", public_key="pk", pid=dead_pid())
    link, note = sandbox_link.find(tmp_path)
    assert link is None and "has stopped" in note and "TELNYX_API_KEY" in note


def test_an_unreadable_file_is_not_used_and_says_why(tmp_path):
    sandbox_link.path(tmp_path).write_text("{half")
    link, note = sandbox_link.find(tmp_path)
    assert link is None and "unreadable" in note


def test_the_gateway_adds_the_note_to_could_not_reach_telnyx(settings, telnyx):
    settings.TELNYX_SANDBOX_NOTE = "var/sandbox.json is from a `make run` that has stopped"
    telnyx.get("/conferences").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(gateway.GatewayError) as caught:
        gateway.call("client.conferences.list")
    assert caught.value.kind == "connect"
    assert str(caught.value).startswith("Connection error: Could not reach Telnyx") and "has stopped" in str(caught.value)


def test_make_run_records_its_sandbox_for_other_shells(db, settings, tmp_path, monkeypatch):  # it enables alert rules
    from django.core.management import call_command

    from portal.management.commands import runportal

    settings.TELNYX_API_KEY, settings.DATA_DIR = "", tmp_path
    started = []
    monkeypatch.setattr(runportal.os, "execvpe", lambda path, argv, env: started.append(env))
    call_command("runportal", "--port", "8101", "--sandbox-port", "8891", stdout=open(os.devnull, "w"))
    link, _ = sandbox_link.find(tmp_path)
    assert link == {"base_url": "http://127.0.0.1:8891/v2", "api_key": "sandbox", "public_key": started[0]["TELNYX_PUBLIC_KEY"],
                    "pid": os.getpid()}  # the pid honcho keeps once runportal execs it
    assert started[0]["TELNYX_BASE_URL"] == link["base_url"]


# --- real second shells -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A portal data folder as `make run` leaves it: migrated, with a superuser."""
    folder = tmp_path_factory.mktemp("second-shell")
    manage("migrate", "--no-input", data=folder, check=True, DJANGO_DEBUG="true")
    manage("ensure_superuser", "--password", "first-pass-word-1", data=folder, check=True, DJANGO_DEBUG="true")
    return folder


def manage(*args, data: Path, stdin: str | None = None, check: bool = False, **env) -> subprocess.CompletedProcess:
    """`python manage.py ...` as typed in another shell: no TELNYX_* variables, no terminal."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("TELNYX_") and k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_VERSION", "DJANGO_SETTINGS_MODULE",
                                                          "PORTAL_SANDBOX", "DJANGO_DEBUG")}
    clean.update(PORTAL_DATA_DIR=str(data), **env)
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, input=stdin or "", text=True,
                            capture_output=True, timeout=120, start_new_session=True)  # new session: no controlling terminal
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_sync_telnyx_finds_the_running_sandbox(data_dir):
    app = create_app(key=SigningKey.generate(), webhook_url=None, seed=1)
    with ServerThread(app) as server:
        world = app.state.world
        host, _ = world.call_start(from_number="+15550100001", to_number="+15550100002")
        conference, _ = world.conference_create({"call_control_id": host["call_control_id"], "name": "Second shell"})
        sandbox_link.record(data_dir, base_url=f"{server.url}/v2", api_key="sandbox",
                            public_key=public_key_b64(SigningKey.generate()), pid=os.getpid())
        result = manage("sync_telnyx", "--only", "conferences", data=data_dir)
        seen = httpx.get(f"{server.url}/_sandbox/requests").json()
    # Nothing exported, not even DJANGO_DEBUG: beside a running make run the command debugs as it does.
    assert result.returncode == 0, result.stderr
    assert "conferences: created 1" in result.stdout
    assert ("GET", "/conferences") in {(r["method"], r["path"]) for r in seen}
    assert (f"/conferences/{conference['id']}/participants") in {r["path"] for r in seen}


def test_a_stopped_runs_file_gives_a_clear_message_not_a_traceback(data_dir):
    sandbox_link.record(data_dir, base_url=f"http://127.0.0.1:{free_port()}/v2", api_key="sandbox", public_key="pk",
                        pid=dead_pid())
    result = manage("sync_telnyx", "--only", "conferences", data=data_dir, TELNYX_BASE_URL="http://127.0.0.1:9/v2",
                    DJANGO_DEBUG="true")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "has stopped" in result.stderr and "start `make run` again, or set TELNYX_API_KEY" in result.stderr


def test_set_password_without_a_terminal(data_dir, settings):
    """Django's changepassword ends in EOFError here; set_password reads the piped line."""
    import sqlite3

    from django.contrib.auth.hashers import check_password

    changed = manage("set_password", "admin", data=data_dir, stdin="second-Pass-word-2\n", DJANGO_DEBUG="true")
    assert changed.returncode == 0 and "Password changed for 'admin'." in changed.stdout, changed.stderr
    assert "second-Pass-word-2" not in changed.stdout + changed.stderr
    with sqlite3.connect(data_dir / "portal.sqlite3") as db:
        (encoded,) = db.execute("SELECT password FROM auth_user WHERE username = 'admin'").fetchone()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    assert check_password("second-Pass-word-2", encoded) and not check_password("first-pass-word-1", encoded)


# --- set_password's rules, in process ----------------------------------------------------------------------
@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="admin")


def set_password(monkeypatch, stdin: str = "", **env) -> str:
    import io

    from django.core.management import call_command

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    call_command("set_password", "admin", stdout=out)
    return out.getvalue()


def test_set_password_takes_the_environment_before_standard_input(admin_user, monkeypatch):
    assert "Password changed" in set_password(monkeypatch, "piped-Pass-word-9\n", PORTAL_NEW_PASSWORD="env-Pass-word-8")
    admin_user.refresh_from_db()
    assert admin_user.check_password("env-Pass-word-8") and not admin_user.check_password("piped-Pass-word-9")


@pytest.mark.parametrize("stdin, env, message", [
    ("\n", {}, "No password given"), ("", {}, "No password given"), ("", {"PORTAL_NEW_PASSWORD": ""}, "No password given"),
    ("short\n", {}, "This password is too short"), ("password123\n", {}, "too common"),
])
def test_set_password_refuses_clearly_and_changes_nothing(admin_user, monkeypatch, stdin, env, message):
    from django.core.management.base import CommandError

    before = admin_user.password
    with pytest.raises(CommandError, match=message):
        set_password(monkeypatch, stdin, **env)
    admin_user.refresh_from_db()
    assert admin_user.password == before


def test_set_password_for_an_unknown_user(db, monkeypatch):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="User 'admin' does not exist."):
        set_password(monkeypatch, "long-enough-Pass-1\n")
