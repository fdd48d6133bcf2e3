"""Settings, read from the environment; every variable is listed with its default in README.md."""
import atexit
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal import sandbox_link

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

# Where the embedded profile keeps its SQLite file, task queue and beat schedule.
DATA_DIR = Path(env.str("PORTAL_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Prometheus multiprocess mode: every process of this machine writes its counters to files here and
# /metrics sums them. Set before anything imports prometheus_client (it reads the variable at import).
# A test run (pytest sets PYTEST_VERSION) counts in a folder of its own, never mixed with another's.
if os.environ.get("PYTEST_VERSION") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-test-metrics-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], True)
METRICS_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "metrics")))
METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(METRICS_DIR))
# With a token, /metrics answers only `Authorization: Bearer <token>`; without one, only loopback callers.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Debug is on only where asked: `make run` / `make test` (the Makefile) and pytest (pyproject's pytest-env)
# set DJANGO_DEBUG=true, and a command run beside a running `make run` follows it. Anywhere else the portal runs hardened and refuses to start without a secret key
# (issue 24: it used to fail open, in debug mode with a public key).
# A management command from a second shell beside a running `make run` belongs to that development
# session (portal/sandbox_link.py finds it, issue 30): it debugs as make run's own processes do.
_BESIDE_MAKE_RUN = not os.environ.get("PYTEST_VERSION") and sandbox_link.find(DATA_DIR)[0] is not None
DEBUG = env.bool("DJANGO_DEBUG", default=_BESIDE_MAKE_RUN)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set (DJANGO_DEBUG is not true). In production, set a long random "
            "DJANGO_SECRET_KEY; on a development checkout, export DJANGO_DEBUG=true as `make run` does."
        )
    SECRET_KEY = "insecure-development-key-only-for-DJANGO_DEBUG"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "channels_lite",
    # Before rest_framework.authtoken: portal's drf_create_token (hashed tokens) replaces DRF's.
    "portal",
    "rest_framework",
    "rest_framework.authtoken",  # kept only so its old table can be migrated to hashed tokens (portal 0005)
    "knox",
    "axes",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.audit",
    "webhooks",
    "conferencing",
    "queues",
    "calls",
    "recordings",
    "alerts",  # after queues: its handlers run after theirs for the same events
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "portal.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.PortalLoginRequiredMiddleware",
    # Services record where an action came from (address, door) without every caller passing the request.
    "portal.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The names a page's commands are told with, looked up once per request (portal/commands/words.py).
    "portal.commands.words.WordsScopeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "alerts.context_processors.banner",
            ],
            "builtins": ["portal.templatetags.portal_format", "portal.templatetags.portal_forms"],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}")}
USING_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# A niced process (the event worker beside web on one host) gets its PostgreSQL sessions niced too
# (portal/db_priority.py).
DATABASE_SESSION_NICE = env.bool("DATABASE_SESSION_NICE", default=False)
if USING_SQLITE:
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions wait for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Persistent connections under an ASGI server exhaust PostgreSQL's limit; pool instead
    # (Django docs, "Connection pool"). CONN_MAX_AGE must stay 0 with a pool.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The hot paths' own statements (webhooks/prepared.py) are prepared once per connection. Django
    # turns psycopg's statement preparation off (it breaks transaction-mode poolers such as PgBouncer);
    # its ORM queries bind on the client and are never prepared either way. Empty: off, for such a pooler.
    _prepare_after = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(_prepare_after) if _prepare_after else None
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker, channel layer, cache ------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Every Redis call is bounded: a Redis that is up but stuck must not hold a request or a drain for good
# (issue 23). The intake itself never waits for Redis (webhooks/nudger.py).
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=1.0)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_keepalive": True,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub publishes several times faster than the list-based layer; redis-py 8 kills
            # idle listeners after 5 s unless socket_timeout is None (channels_redis issue 422), so
            # only connecting is bounded here; publishing has its own deadline (portal/live.py).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None,
                                  "socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_keepalive": True}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # The pool's connections, the kept client's too (portal/redis_client.py): drains and pages.
            # One retry (a connection Redis closed meanwhile), not redis-py 8's ten with backoff: against
            # a hung Redis those made one call wait ~30 s whatever the timeout.
            "OPTIONS": {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                        "retry": Retry(NoBackoff(), 1)},
        }
    }
else:
    # Embedded profile: a folder is the broker and SQLite carries the channel layer, so the
    # worker process can reach open pages without Redis (in-memory layers do not cross processes).
    _queue_dir = DATA_DIR / "celery-queue"
    _queue_dir.mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"  # kombu's, with atomic writes
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "store_processed": False,
        "control_folder": str(DATA_DIR / "celery-control"),
        "polling_interval": 0.25,
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.core.SQLiteChannelLayer",
            "CONFIG": {"database": "default", "polling_interval": 0.2},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery -----------------------------------------------------------------
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time on Redis. On the embedded filesystem broker, delayed retries (ETA tasks) were
# seen holding the only prefetch slot, so a webhook drain waited behind them: reserve a few more there.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1 if REDIS_URL else 8
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Queues split by work, so each can get its own workers (README, "Running in production"); a worker
# started without -Q consumes them all.
PORTAL_TASK_QUEUES = ["events", "commands", "downloads", "sync", "celery"]
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in PORTAL_TASK_QUEUES}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "*.sync_*": {"queue": "sync"},
    # Exact names win over the patterns: retention never waits behind (or holds up) a backlog of events.
    "webhooks.tasks.purge_old_events": {"queue": "celery"},
    "webhooks.tasks.create_event_partitions": {"queue": "celery"},
    "webhooks.tasks.*": {"queue": "events"},
    "queues.tasks.renumber_line": {"queue": "events"},
    "portal.commands.tasks.*": {"queue": "commands"},
    "recordings.tasks.*": {"queue": "downloads"},
}
# Beat writes its heartbeat (System page, /readyz) from its scheduler; workers from a bootstep.
CELERY_BEAT_SCHEDULER = "portal.ops_celery:HeartbeatScheduler"
HEARTBEAT_SECONDS = env.int("HEARTBEAT_SECONDS", default=15)
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=60)
# /readyz answers its last result again for this long: probes from every load balancer cost one round of checks.
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE = {
    "webhooks-sweep-unprocessed": {"task": "webhooks.tasks.sweep_unprocessed_events", "schedule": 60.0},
    "commands-sweep-stuck": {"task": "portal.commands.tasks.sweep_stuck_commands", "schedule": 60.0},
    "conferencing-sync": {
        "task": "conferencing.tasks.sync_conferences_periodic",
        "schedule": env.float("CONFERENCE_SYNC_SECONDS", default=60.0),
    },
    # Recent recordings and transcriptions from Telnyx's lists, then every download not yet stored.
    "recordings-catch-up": {
        "task": "recordings.tasks.catch_up_recordings",
        "schedule": env.float("RECORDING_CATCHUP_SECONDS", default=300.0),
    },
    "recordings-retention": {"task": "recordings.tasks.apply_retention", "schedule": 3600.0},
    # Queues and their callers from Telnyx's lists: closes stays whose call.dequeued never arrived.
    "queues-sync": {"task": "queues.tasks.sync_queues", "schedule": env.float("QUEUE_SYNC_SECONDS", default=60.0)},
    # Legs held active but silent, checked one by one against Telnyx's call status (calls/sync.py).
    "calls-sync": {"task": "calls.tasks.sync_calls", "schedule": env.float("CALL_SYNC_SECONDS", default=60.0)},
    "audit-retention": {"task": "portal.audit.tasks.purge_audit_entries", "schedule": 86400.0},
    # Alert rules (issue 26): evaluated every few seconds, and soon after events that move a queue.
    "alerts-evaluate": {"task": "alerts.tasks.evaluate_alerts", "schedule": env.float("ALERTS_EVALUATE_SECONDS", default=5.0)},
    # Growth over time (issue 32): old commands, recording plays and downloads, and stored webhooks go
    # (webhooks after their archive, if any); on PostgreSQL the events table's partitions are made ahead.
    "commands-retention": {"task": "portal.tasks.purge_old_commands", "schedule": 3600.0},
    "access-log-retention": {"task": "portal.tasks.purge_old_access_log", "schedule": 3600.0},
    "events-retention": {"task": "webhooks.tasks.purge_old_events", "schedule": 3600.0},
    "events-partitions-ahead": {"task": "webhooks.tasks.create_event_partitions", "schedule": 3600.0},
}
# A leg with no lifecycle event for this long is asked about; at most CALL_SYNC_MAX_LEGS a run (0: all).
CALL_SYNC_QUIET_SECONDS = env.float("CALL_SYNC_QUIET_SECONDS", default=120.0)
CALL_SYNC_MAX_LEGS = env.int("CALL_SYNC_MAX_LEGS", default=200)
# The audit trail (portal/audit/) keeps entries this many days; 0 keeps them forever.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Growth over time (issue 32); 0 keeps for ever. Stored webhooks only: the state derived from them (calls,
# conferences, queue stays, recordings) is kept; a pending or failed event is never deleted.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=30)
# Finished commands (queued and running ones are never deleted); the audit trail keeps who issued what.
COMMAND_RETENTION_DAYS = env.int("COMMAND_RETENTION_DAYS", default=90)
# Recording plays and downloads in the audit trail (the rest of the trail follows AUDIT_RETENTION_DAYS).
ACCESS_LOG_RETENTION_DAYS = env.int("ACCESS_LOG_RETENTION_DAYS", default=180)
# Event ids remembered for deduplicating Telnyx's redeliveries (they come within days) on PostgreSQL,
# where the partitioned events table cannot hold a unique index on the id alone (webhooks/time_partitions.py).
EVENT_DEDUPE_DAYS = env.int("EVENT_DEDUPE_DAYS", default=7)
# PostgreSQL: the events table's partitions span a month, or a day at high rates ("day"), and this many
# are created ahead of time by beat (a missing one is created by the insert that needs it).
EVENT_PARTITION_SPAN = env.str("EVENT_PARTITION_SPAN", default="month")
if EVENT_PARTITION_SPAN not in ("month", "day"):
    raise ImproperlyConfigured("EVENT_PARTITION_SPAN must be month or day.")
EVENT_PARTITIONS_AHEAD = env.int("EVENT_PARTITIONS_AHEAD", default=2)

# --- Telnyx -----------------------------------------------------------------
TELNYX_API_KEY = env.str("TELNYX_API_KEY", default="")
# Base64 Ed25519 public keys; a comma-separated list lets a key be rotated without downtime.
TELNYX_PUBLIC_KEY = env.str("TELNYX_PUBLIC_KEY", default="")
TELNYX_BASE_URL = env.str("TELNYX_BASE_URL", default="https://api.telnyx.com/v2")
TELNYX_TIMEOUT_SECONDS = env.float("TELNYX_TIMEOUT_SECONDS", default=10.0)
# Dialing (issue 28: listen in, ring into a conference): the Call Control connection outbound legs are
# placed on, their caller id, and the destinations allowed (comma-separated prefixes; empty = any).
TELNYX_CONNECTION_ID = env.str("TELNYX_CONNECTION_ID", default="")
DIAL_FROM_NUMBER = env.str("DIAL_FROM_NUMBER", default="")
DIAL_ALLOWED_PREFIXES = [p.strip() for p in env.str("DIAL_ALLOWED_PREFIXES", default="").split(",") if p.strip()]
# Without a key, a command run from a second shell uses the sandbox a running `make run` recorded under
# PORTAL_DATA_DIR (portal/sandbox_link.py, issue 30); TELNYX_SANDBOX_NOTE words what the gateway says if
# that sandbox does not answer, or why none was used. Tests never pick up a developer's running sandbox.
TELNYX_SANDBOX_NOTE = ""
_sandbox = None
if not TELNYX_API_KEY and not os.environ.get("PYTEST_VERSION"):
    _sandbox, TELNYX_SANDBOX_NOTE = sandbox_link.find(DATA_DIR)
    if _sandbox:
        TELNYX_API_KEY, TELNYX_BASE_URL = _sandbox["api_key"], _sandbox["base_url"]
        TELNYX_PUBLIC_KEY = TELNYX_PUBLIC_KEY or _sandbox.get("public_key", "")
# True when the key above came from that file, not from the deployer (`make run` then starts its own sandbox).
TELNYX_SANDBOX_LINKED = bool(_sandbox)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_TOLERANCE_SECONDS = env.int("WEBHOOK_TOLERANCE_SECONDS", default=300)
WEBHOOK_SWEEP_AFTER_SECONDS = env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=120)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
# Events are applied by drains in batches (issue 13): the intake only inserts and flags that a drain is due.
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=200)
# PostgreSQL: a batch's writes whose answer nobody reads (a leg's save, ...) are sent in pipeline mode, so the
# drain goes on while the server applies them (webhooks/pipeline.py). Off: each waits, as before.
WEBHOOK_PIPELINED_WRITES = env.bool("WEBHOOK_PIPELINED_WRITES", default=True)
# Events are applied in this many partitions (a hash of the call session, webhooks/store.py): one drain holds a
# partition at a time, so N events workers apply N partitions at once (issue 25). At most 256.
WEBHOOK_PARTITIONS = max(1, min(256, env.int("WEBHOOK_PARTITIONS", default=16)))
# Pages say "catching up" while the events a drain claims waited this long or more (webhooks/lag.py; 0: never).
WEBHOOK_LAG_NOTICE_SECONDS = env.float("WEBHOOK_LAG_NOTICE_SECONDS", default=5.0)
# Drains count each other and take or give back partitions this often (webhooks/partitions.py).
WEBHOOK_REBALANCE_SECONDS = env.float("WEBHOOK_REBALANCE_SECONDS", default=0.5)
WEBHOOK_DRAIN_SECONDS = env.float("WEBHOOK_DRAIN_SECONDS", default=10.0)
WEBHOOK_NUDGE_TTL_SECONDS = env.int("WEBHOOK_NUDGE_TTL_SECONDS", default=5)
# A drain stays this long after its last event, claiming every WEBHOOK_DRAIN_POLL_SECONDS, so a steady
# trickle is applied without a task per event. Off on SQLite, where every claim takes the write lock.
WEBHOOK_DRAIN_LINGER_SECONDS = env.float("WEBHOOK_DRAIN_LINGER_SECONDS", default=0.0 if USING_SQLITE else 0.25)
WEBHOOK_DRAIN_POLL_SECONDS = env.float("WEBHOOK_DRAIN_POLL_SECONDS", default=0.01)
# A batch that was not full is followed by the next one this long after its start at the earliest, so
# events gather into fewer, larger batches at a steady rate (webhooks/drain._gather; 0: claim at once).
WEBHOOK_BATCH_GATHER_SECONDS = env.float("WEBHOOK_BATCH_GATHER_SECONDS", default=0.0 if USING_SQLITE else 0.02)
# A web process that saw the drain flag set this recently skips the Redis round trip (webhooks/drain_flag.py).
WEBHOOK_NUDGE_SKIP_SECONDS = env.float("WEBHOOK_NUDGE_SKIP_SECONDS", default=0.02 if env.str("REDIS_URL", default="") else 0.0)
# A drain sends what its batches published at most this often, one message per group (0: after every batch).
# 20 ms (leading edge): at 100 events/s and 50 open pages it halved the POST-to-page p95 against both
# 0 (a message per batch: more frames than daphne sends in time) and 50 ms (a wait per message).
LIVE_COALESCE_SECONDS = env.float("LIVE_COALESCE_SECONDS", default=0.02)
# ...and renders each list or counter fragment (publish_rendered_once) at most this often.
LIVE_RENDER_SECONDS = env.float("LIVE_RENDER_SECONDS", default=0.25)
# An open socket marks its groups as watched for this long and renews the mark while open; live
# fragments are rendered only for watched groups (portal/live.py, "Presence").
LIVE_PRESENCE_SECONDS = env.int("LIVE_PRESENCE_SECONDS", default=120)
# Open sockets re-check their session and rights this often, besides at once on sign-out or a change
# of the user's roles or permissions (portal/live_access.py, issue 24).
LIVE_ACCESS_RECHECK_SECONDS = env.float("LIVE_ACCESS_RECHECK_SECONDS", default=30.0)
# Where a call's audio may be streamed or forked: URL prefixes ("wss://media.example.com/") and host
# names, comma-separated; empty allows any destination (issue 24).
MEDIA_DESTINATIONS_ALLOWED = env.list("MEDIA_DESTINATIONS_ALLOWED", default=[])
# Fernet keys sealing secret command parameters at rest, newest first (rotation: put the new key in front);
# empty derives one from DJANGO_SECRET_KEY (portal/sealing.py).
SEALED_PARAMS_KEYS = env.list("SEALED_PARAMS_KEYS", default=[])
COMMAND_MAX_ATTEMPTS = env.int("COMMAND_MAX_ATTEMPTS", default=5)
# Total retry time stays well inside Telnyx's duplicate-suppression window for command_id.
COMMAND_MAX_RETRY_SECONDS = env.int("COMMAND_MAX_RETRY_SECONDS", default=120)
COMMAND_STUCK_AFTER_SECONDS = env.int("COMMAND_STUCK_AFTER_SECONDS", default=300)
# Conference sync runs every CONFERENCE_SYNC_SECONDS while any conference is active, else this often.
CONFERENCE_IDLE_SYNC_SECONDS = env.int("CONFERENCE_IDLE_SYNC_SECONDS", default=600)
# Recordings: download as Telnyx saves them (links live 10 minutes), retry, keep for RETENTION_DAYS (0 = forever).
RECORDING_CAPTURE = env.bool("RECORDING_CAPTURE", default=True)
RECORDING_DOWNLOAD_MAX_ATTEMPTS = env.int("RECORDING_DOWNLOAD_MAX_ATTEMPTS", default=8)
RECORDING_DOWNLOAD_TIMEOUT_SECONDS = env.float("RECORDING_DOWNLOAD_TIMEOUT_SECONDS", default=60.0)
RECORDING_CATCHUP_LOOKBACK_HOURS = env.int("RECORDING_CATCHUP_LOOKBACK_HOURS", default=24)
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=0)
# Django's default upload limit would refuse large Telnyx bodies before our own 413 check.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_BODY_BYTES * 2, 2_621_440)

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password guessing (issue 24): django-axes counts failed sign-ins (page, admin, API token) and locks
# out by account and, separately, by address after LOGIN_FAILURE_LIMIT failures for
# LOGIN_LOCKOUT_MINUTES. Administrators see and lift lockouts in the admin ("Access attempts": delete
# the row) or with `manage.py axes_reset_username USER` / `axes_reset_ip ADDRESS`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = "portal.api.authentication.lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "portal.api.authentication.lockout_response"
AXES_VERBOSE = False
# The client's address is the socket's unless a proxy in front is declared: X-Forwarded-For is only
# believed from TRUSTED_PROXY_COUNT proxies (otherwise a guesser would pick a fresh address per try).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Company sign-in (OpenID Connect) and two factors (issue 24) ------------
# One block on purpose: the apps and middleware below are added here rather than in the lists above.
# django-otp's devices (authenticator app, recovery codes); the admin's default site requires the second
# factor too (accounts/admin_site.py); accounts/ holds company sign-in and the two-factor pages.
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "accounts.apps.PortalAdminConfig"
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static", "accounts"]
# After login-required: a password session that owes its second factor reaches only the verification or
# enrolment page, and the API sees no session user (tokens are unaffected).
MIDDLEWARE.insert(MIDDLEWARE.index("portal.middleware.PortalLoginRequiredMiddleware") + 1,
                  "accounts.middleware.SecondFactorMiddleware")
# ...and its pages show no menu and open no live socket.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("accounts.context_processors.second_factor")
# Administrators who sign in with a password must use an authenticator app (company sign-ins are exempt).
REQUIRE_2FA_FOR_ADMINS = env.bool("REQUIRE_2FA_FOR_ADMINS", default=False)
OTP_TOTP_ISSUER = "Telnyx operations portal"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's key
# Company sign-in (mozilla-django-oidc): on when OIDC_CLIENT_ID and either OIDC_ISSUER (endpoints read from
# its discovery document) or all four endpoints are set. Register <portal>/oidc/callback/ with the provider.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_URI", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
# "provider-group=Role,...": the groups claim (OIDC_GROUPS_CLAIM) gives the highest role it maps to, at every
# sign-in; a person in no mapped group is refused (and loses any role they had).
OIDC_ROLE_MAP = env.dict("OIDC_ROLE_MAP", default={})
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT_SECONDS", default=10.0)
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc-callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.CompanyOIDCBackend")

# --- API --------------------------------------------------------------------
_API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="60/minute")
_API_THROTTLE_USER = env.str("API_THROTTLE_USER", default="1200/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.LockoutTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "portal.paging.ApiPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    # 429 with Retry-After past these rates ("none" turns one off): per user for tokens and sessions,
    # per address for anonymous callers.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": None if _API_THROTTLE_ANON == "none" else _API_THROTTLE_ANON,
        "user": None if _API_THROTTLE_USER == "none" else _API_THROTTLE_USER,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Telnyx operations portal API",
    "DESCRIPTION": "Watch and control conferences, queues, calls and recordings. Actions answer 202 with a command.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One name per choice set: without these, drf-spectacular warns each time the schema is built and
    # names colliding sets with hashes ("StatusE88Enum"), which change under client generators (issue 30).
    "ENUM_NAME_OVERRIDES": {
        "CommandStatusEnum": "portal.models.Command.Status",
        "ConferenceStatusEnum": "conferencing.models.Conference.Status",
        "ParticipantStatusEnum": "conferencing.models.Participant.Status",
        # Named here so `check --deploy` stays clean (drf_spectacular.W001 on same-named choice sets).
        "ParticipantSupervisorRoleEnum": "conferencing.models.Participant.SupervisorRole",
        "ConferenceRecordingStateEnum": "conferencing.models.Conference.RecordingState",
        "CallRecordingStateEnum": "calls.models.Call.RecordingState",
        "RecordingStatusEnum": "recordings.models.Recording.Status",
        "SupervisorRoleEnum": "conferencing.action_params.ROLES",
        "AudioFormatEnum": ["mp3", "wav"],
        "TrackEnum": "calls.actions.TRACKS",
        "TargetLegsEnum": ["both", "opposite", "self"],
        "LegDirectionEnum": ["both", "inbound", "outbound"],
        "RecordingChannelsEnum": ["dual", "single"],
        "TrimSilenceEnum": ["trim-silence"],
        "HttpMethodEnum": ["GET", "POST"],
        "WebhookEventStatusEnum": "webhooks.models.WebhookEvent.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.refuse_undeclared",
        "portal.api.schema.document_errors",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# API tokens (django-rest-knox): stored as digests, shown once; no expiry unless API_TOKEN_TTL_DAYS is set
# (a token created in the admin or by drf_create_token may still get its own expiry).
KNOX_TOKEN_MODEL = "portal.ApiToken"
# knox's own migrations would create its default token table even though portal.ApiToken replaces it (an
# orphan referencing auth_user that test flushes cannot truncate on PostgreSQL): none of them run.
MIGRATION_MODULES = {"knox": None}
_API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=0)
REST_KNOX = {"TOKEN_TTL": timedelta(days=_API_TOKEN_TTL_DAYS) if _API_TOKEN_TTL_DAYS else None, "AUTO_REFRESH": False}

# --- I18N, static -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded/captured files live under PORTAL_DATA_DIR (git-ignored) unless MEDIA_ROOT says otherwise;
# nothing serves MEDIA_ROOT publicly: recordings are streamed by a permission-checked view.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(DATA_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Captured recordings: any Django storage backend (e.g. django-storages' storages.backends.s3.S3Storage),
    # its options as JSON in RECORDING_STORAGE_OPTIONS.
    "recordings": {
        "BACKEND": env.str("RECORDING_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("RECORDING_STORAGE_OPTIONS", default={"location": str(Path(MEDIA_ROOT) / "recordings")}),
    },
    # Events leaving the database by retention are first archived here (compressed JSON Lines per day
    # and a manifest, webhooks/archive.py) when EVENT_ARCHIVE_STORAGE names a storage class.
    **({"event_archive": {
        "BACKEND": env.str("EVENT_ARCHIVE_STORAGE"),
        "OPTIONS": env.json("EVENT_ARCHIVE_STORAGE_OPTIONS", default={"location": str(Path(MEDIA_ROOT) / "event-archive")}),
    }} if env.str("EVENT_ARCHIVE_STORAGE", default="") else {}),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Production hardening (on when DJANGO_DEBUG is false) --------------------
# X-Forwarded-Proto is believed only when the deployer says a TLS proxy in front sets it (and strips a
# client's own); otherwise any client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
# Without METRICS_TOKEN, /metrics answers loopback callers only where allowed explicitly (on by default only
# when debugging): a proxy on the same host reaches the process from loopback too, usually without
# adding X-Forwarded-For, and would expose the metrics to the world.
METRICS_ALLOW_LOOPBACK = env.bool("METRICS_ALLOW_LOOPBACK", default=DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and scrapers talk plain HTTP to the process itself; a redirect would read as "healthy" (3xx).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# One readable line per thing that matters (a webhook stored, a command's outcome, a batch of events
# applied); LOG_FORMAT=json gives the same lines as JSON with request_id, event_id or command_id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
# drf-spectacular prints its warnings as plain text on each schema build: none under LOG_FORMAT=json
# (tests/contract/test_schema.py builds the schema with --fail-on-warn instead).
SPECTACULAR_SETTINGS["DISABLE_ERRORS_AND_WARNINGS"] = LOG_FORMAT == "json"
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
_PER_EVENT_LEVEL = "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.request_id.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        # The SDK logs each request's options, body included, at DEBUG: sealed parameters (stream tokens,
        # SIP passwords) must never reach a log, whatever LOG_LEVEL says (issue 24).
        "telnyx": {"level": "INFO"},
        "httpcore": {"level": "INFO"},
        # One line per delivery or per drained batch is what made `make run` print ~500 lines a minute
        # (issue 9): by default only refusals and failures; LOG_LEVEL=DEBUG shows every one.
        "webhooks.intake": {"level": _PER_EVENT_LEVEL},
        "webhooks.processing": {"level": _PER_EVENT_LEVEL},
        "celery.beat": {"level": _PER_EVENT_LEVEL},
        # Django's own console handler (DEBUG only) printed every line a second time through the root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 403 or 404 is an answer, not an incident: no traceback per refused click; 5xx still logs.
        "django.request": {"level": "ERROR" if LOG_LEVEL != "DEBUG" else "DEBUG"},
        # Access logs and per-task "received / succeeded" lines: one per webhook is noise, not news.
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        "granian.access": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # django-axes: failures and lockouts are warnings (kept); its per-attempt housekeeping is not news.
        "axes": {"level": "WARNING"},
    },
}

# Shown as a banner so nobody mistakes simulated traffic for the real account.
PORTAL_SANDBOX = env.bool("PORTAL_SANDBOX", default=bool(_sandbox))

# --- Alerts (issue 26) ----------------------------------------------------------------------------
# A resolved alert whose condition comes back within this many seconds is continued, not opened anew.
ALERTS_REOPEN_SECONDS = env.int("ALERTS_REOPEN_SECONDS", default=60)
# Delivery (e-mail, webhook): attempts per message, with exponential backoff capped at ALERTS_DELIVERY_MAX_RETRY_SECONDS.
ALERTS_DELIVERY_MAX_ATTEMPTS = env.int("ALERTS_DELIVERY_MAX_ATTEMPTS", default=5)
ALERTS_DELIVERY_MAX_RETRY_SECONDS = env.float("ALERTS_DELIVERY_MAX_RETRY_SECONDS", default=300.0)
ALERTS_WEBHOOK_TIMEOUT_SECONDS = env.float("ALERTS_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Where links in e-mail and webhook texts point (empty: relative paths only).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="")
# E-mail (Django's mail): SMTP from the environment; `make run` uses the console backend.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
