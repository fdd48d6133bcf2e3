"""Start everything the portal needs in the foreground (make run): web, worker, beat, and the sandbox."""
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from alerts.services import alert_rules_enable_defaults
from portal import sandbox_link

ROOT = Path(settings.BASE_DIR)


class Command(BaseCommand):
    help = "Run web (websockets included), Celery worker and beat; without TELNYX_API_KEY also the Telnyx sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "0")) or None)
        parser.add_argument("--traffic", type=float, default=float(os.environ.get("SANDBOX_TRAFFIC", "6")),
                            help="sandbox: simulated new calls per minute")

    def handle(self, *args, host, port, sandbox_port, traffic, **options):
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "HOST": host, "PORT": str(port), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        redis = bool(settings.REDIS_URL)
        procfile = "Procfile" if redis else "Procfile.embedded"
        # Alert e-mails are printed by the worker, not sent, unless the deployer chose a backend (issue 26).
        env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
        processes = ["web", "worker", "beat"] if redis else ["web", "worker"]
        if not settings.TELNYX_API_KEY or settings.TELNYX_SANDBOX_LINKED:
            sandbox_port = sandbox_port or port + 790
            key_file = Path(settings.DATA_DIR) / "sandbox-ed25519.key"
            public_key = subprocess.run(
                [sys.executable, "-m", "sandbox", "public-key", "--key-file", str(key_file)],
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout.strip()
            env.update(
                TELNYX_API_KEY="sandbox", TELNYX_BASE_URL=f"http://127.0.0.1:{sandbox_port}/v2",
                TELNYX_PUBLIC_KEY=public_key, PORTAL_SANDBOX="true", SANDBOX_PORT=str(sandbox_port),
                SANDBOX_KEY_FILE=str(key_file), SANDBOX_TRAFFIC=str(traffic),
                SANDBOX_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/telnyx/",
            )
            # The sandbox accepts any connection and caller id: dialing works out of the box (issue 28).
            env.setdefault("TELNYX_CONNECTION_ID", "sandbox-connection")
            env.setdefault("DIAL_FROM_NUMBER", "+15550000000")
            processes.append("sandbox")
            # The default alert rules fire on the sandbox's simulated waits within minutes (issue 26).
            enabled = alert_rules_enable_defaults()
            if enabled:
                self.stdout.write(f"Sandbox: {enabled} default alert rule(s) enabled (see /alerts/rules/).")
            # A management command from another shell finds this sandbox here (portal/sandbox_link.py). The pid
            # is honcho's once this process execs it: the file goes stale when `make run` stops.
            sandbox_link.record(settings.DATA_DIR, base_url=env["TELNYX_BASE_URL"], api_key=env["TELNYX_API_KEY"],
                                public_key=public_key, pid=os.getpid())
            self.stdout.write(self.style.WARNING(
                f"No TELNYX_API_KEY: running against the sandbox on 127.0.0.1:{sandbox_port} with simulated calls."
            ))
        self.stdout.write(self.style.SUCCESS(f"Portal: http://{host}:{port}/  (Ctrl-C stops everything)"))
        honcho = str(bin_dir / "honcho")
        os.execvpe(honcho, [honcho, "-f", str(ROOT / procfile), "-d", str(ROOT), "start", "-p", str(port), *processes], env)
