"""Production fails closed (issue 24): no debug unless asked, a secret key required, proxies trusted only when declared."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; from django.conf import settings as s; django.setup(); print(json.dumps({"
    "'debug': s.DEBUG, 'secure_cookies': s.SESSION_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS, "
    "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'proxy_header': s.SECURE_PROXY_SSL_HEADER, "
    "'metrics_loopback': s.METRICS_ALLOW_LOOPBACK}))"
)


def settings_in(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "METRICS_"))}
    clean.update(DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_DATA_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_without_debug_asked_for_the_portal_refuses_to_start_without_a_secret_key(tmp_path):
    result = settings_in(tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_unset_debug_means_hardened(tmp_path):
    result = settings_in(tmp_path, DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "debug": False, "secure_cookies": True, "hsts": 31536000, "ssl_redirect": True,
        "proxy_header": None, "metrics_loopback": False,
    }


def test_the_proxy_header_is_trusted_only_when_declared(tmp_path):
    result = settings_in(tmp_path, DJANGO_SECRET_KEY="x" * 50, DJANGO_BEHIND_TLS_PROXY="true")
    assert json.loads(result.stdout.strip().splitlines()[-1])["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_debug_only_where_asked(tmp_path):
    result = settings_in(tmp_path, DJANGO_DEBUG="true")
    assert json.loads(result.stdout.strip().splitlines()[-1])["debug"] is True


@pytest.mark.parametrize("allowed, status", [(False, 403), (True, 200)])
def test_metrics_from_loopback_only_when_allowed_explicitly(client, settings, allowed, status):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_LOOPBACK = allowed
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == status
    if not allowed:
        assert "METRICS_TOKEN" in response.content.decode()


def _manage(tmp_path, *args):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "METRICS_", "PYTEST_"))}
    clean.update(PORTAL_DATA_DIR=str(tmp_path))
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_a_checkouts_housekeeping_commands_need_no_exports_but_serving_ones_do(tmp_path):
    checked = _manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert checked.returncode == 0, checked.stderr
    served = _manage(tmp_path, "runserver", "127.0.0.1:0", "--noreload")  # refuses before it listens
    assert served.returncode != 0 and "DJANGO_SECRET_KEY must be set" in served.stderr
