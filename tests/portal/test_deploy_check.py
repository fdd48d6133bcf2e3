"""`manage.py check --deploy` in production settings reports only W021 (HSTS preload is opt-in, README)."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deploy_check(tmp_path, **extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "portal.example.com", "PORTAL_DATA_DIR": str(tmp_path), **extra,
    })
    env.pop("PYTEST_VERSION", None)  # as deployed, not as under test
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_production_settings_pass_the_deploy_check_but_for_hsts_preload(tmp_path):
    result = deploy_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.findall(r"\(([\w.]+\.[WE]\d+)\)", result.stdout + result.stderr) == ["security.W021"]
    opted_in = deploy_check(tmp_path, DJANGO_SECURE_HSTS_PRELOAD="true")
    assert opted_in.returncode == 0 and "System check identified no issues" in opted_in.stdout, opted_in.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = deploy_check(tmp_path, DJANGO_SECRET_KEY="")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr
