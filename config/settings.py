"""Rapport's one settings module, driven by environment variables.

Nothing set: SQLite file, in-memory channel layer, Celery tasks inline (the `make run` demo).
DATABASE_URL and REDIS_URL switch to the production shape: PostgreSQL, Redis broker and layer.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext

# Lets Django's generic classes be subscripted at run time (`admin.ModelAdmin[Customer]`),
# as django-stubs declares them; see the django-stubs README.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
# The fallback key is only good for a laptop demo; `check --deploy` flags it in production.
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-rapport-local-demo-key-change-me-in-production"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "auditlog",
    "axes",
    "memory",
    "orchestrator",
    "channels_app",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "channels_app.overload.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# PostgreSQL: each process borrows connections from a bounded pool (psycopg's), so a burst of
# requests under ASGI (a thread and a connection each) waits briefly for a free connection
# instead of opening one per request until the server refuses ("too many clients"). Size it so
# processes x RAPPORT_DB_POOL_MAX stays under the server's max_connections; 0 turns it off.
RAPPORT_DB_POOL_MAX = int(os.environ.get("RAPPORT_DB_POOL_MAX", "16"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and RAPPORT_DB_POOL_MAX:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 0,
        "max_size": RAPPORT_DB_POOL_MAX,
        # A request waits this long for a connection, then gets 503 (Twilio retries a 5xx):
        # well inside Twilio's 15 s, and the one wait a process pays when the server goes down
        # before its breaker opens (channels_app.overload).
        "timeout": float(os.environ.get("RAPPORT_DB_POOL_TIMEOUT", "3")),
    }
# Threads per web process serving plain HTTP (config/asgi.py): each holds at most one database
# connection, so by default as many as the pool has; 0 uses Django's ASGI handler instead.
RAPPORT_HTTP_THREADS = int(os.environ.get("RAPPORT_HTTP_THREADS", str(RAPPORT_DB_POOL_MAX or 16)))
# Requests a web process takes on at once (those beyond the threads wait for one); past it, 503
# with Retry-After at once instead of a queue that grows toward the provider's timeout.
RAPPORT_HTTP_MAX_IN_PROGRESS = int(
    os.environ.get("RAPPORT_HTTP_MAX_IN_PROGRESS", str(8 * (RAPPORT_HTTP_THREADS or 16)))
)
# A context read's audit entry, in a transaction of its own, commits without waiting for the
# disk flush (PostgreSQL `synchronous_commit = off` for that one transaction): 5-6 ms less per
# read on a busy disk, at the price of losing the last fraction of a second of read entries if
# the database server crashes (never corrupting the chain: the next durable commit flushes them
# first, so no seal names an entry that can be lost). Off unless a deployment chooses it.
RAPPORT_AUDIT_ASYNC_COMMIT = env_bool("RAPPORT_AUDIT_ASYNC_COMMIT")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env_bool("STATIC_MANIFEST", default=True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# Redis switches the broker, the result store and the channel layer together.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, as long as the layer's
            # blocking pop waits: every idle websocket would drop (django/channels_redis#422).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "60"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "50"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Reliability (issue 14; README "Reliability"). A task is acknowledged only when it ends, so a
# worker that dies mid-task leaves it to be delivered again; Redis gives it back after the
# visibility timeout, which must outlast the longest task (120 s) and the longest retry countdown
# (600 s) or they run twice; a run lost sooner is picked up by the sweeper below.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
    # A web process publishing while Redis is down gives up within a few seconds (Twilio waits
    # 15): the message is stored and the sweeper below hands it on.
    "socket_connect_timeout": float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "2")),
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "2"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# One result backend per process: Celery's default is one per thread, and under ASGI every
# request runs on a thread of its own, so each webhook built a backend (and read package
# metadata) to enqueue one task. Nothing here waits on results across threads.
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "2"))
CELERY_REDIS_SOCKET_TIMEOUT = 15.0
# A stored message with no pipeline run after this long is handed to the pipeline again; a run
# still `running` after PIPELINE_STUCK_AFTER_SECONDS (past every task's time limit) is retried.
PIPELINE_SWEEP_GRACE_SECONDS = int(os.environ.get("PIPELINE_SWEEP_GRACE_SECONDS", "60"))
# An inbound delivery stored this long ago and not yet recorded as a message is queued again.
INBOUND_SWEEP_GRACE_SECONDS = int(os.environ.get("INBOUND_SWEEP_GRACE_SECONDS", "30"))
PIPELINE_SWEEP_LOOKBACK_HOURS = int(os.environ.get("PIPELINE_SWEEP_LOOKBACK_HOURS", "24"))
PIPELINE_STUCK_AFTER_SECONDS = int(os.environ.get("PIPELINE_STUCK_AFTER_SECONDS", "300"))
PIPELINE_MAX_ATTEMPTS = int(os.environ.get("PIPELINE_MAX_ATTEMPTS", "5"))
# A reply still `pending` this long after it was written (past every retry's backoff) lost its
# delivery task and is handed to delivery again.
OUTBOUND_SWEEP_GRACE_SECONDS = int(os.environ.get("OUTBOUND_SWEEP_GRACE_SECONDS", "900"))
# A reply still `sending` this long after its attempt began (past the delivery task's 60 s time
# limit) was lost mid-send: recorded as the provider has it, sent once more when the provider
# does not have it, or failed visibly when that cannot be known (channels_app.outbound.stuck).
OUTBOUND_SENDING_STUCK_SECONDS = int(os.environ.get("OUTBOUND_SENDING_STUCK_SECONDS", "300"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "channels_app.api.authentication.ApiClientTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "channels_app.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "channels_app.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": "Customer memory behind the gate: every context read is scoped, redacted "
    "and audited as the calling client.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # No internet where Rapport runs: Swagger UI is served from drf-spectacular-sidecar.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The MCP server over streamable HTTP, mounted in the ASGI app.
RAPPORT_MCP_PATH = "/mcp/"

# Audit: Rapport's own entry model carries who read which partitions and why.
AUDITLOG_LOGENTRY_MODEL = "memory.AuditEntry"
AUDITLOG_CID_HEADER = "x-correlation-id"

# Contact-center settings.
RAPPORT_DEFAULT_PHONE_REGION = os.environ.get("RAPPORT_DEFAULT_PHONE_REGION", "US")
RAPPORT_CONTEXT_RECENT_TURNS = int(os.environ.get("RAPPORT_CONTEXT_RECENT_TURNS", "30"))
# What of a turn is analysed, masked and handed to agents (memory.text_limits): 20,000
# characters is some 3,000 words, several times the longest e-mail a customer writes and far
# past any context budget; the turn as it arrived (quoted history and all) is kept up to
# 1,000,000 for the record; a fact is a short value.
RAPPORT_MAX_MESSAGE_CHARS = int(os.environ.get("RAPPORT_MAX_MESSAGE_CHARS", "20000"))
RAPPORT_MAX_RAW_MESSAGE_CHARS = int(os.environ.get("RAPPORT_MAX_RAW_MESSAGE_CHARS", "1000000"))
RAPPORT_MAX_FACT_CHARS = int(os.environ.get("RAPPORT_MAX_FACT_CHARS", "2000"))
RAPPORT_CONTEXT_WORD_BUDGET = int(os.environ.get("RAPPORT_CONTEXT_WORD_BUDGET", "150"))
RAPPORT_EMOTION_WINDOW = int(os.environ.get("RAPPORT_EMOTION_WINDOW", "10"))
RAPPORT_EMOTION_HALF_LIFE = float(os.environ.get("RAPPORT_EMOTION_HALF_LIFE", "0.5"))

# Production hardening applies whenever DEBUG is off.
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
    # On by default (a year); browsers honour it only over HTTPS, so plain-HTTP demos are safe.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
    )
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Channels: Twilio, SendGrid and outbound sending (all from environment variables).
RAPPORT_PUBLIC_URL = os.environ.get("RAPPORT_PUBLIC_URL", "").rstrip("/")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_VALIDATE_SIGNATURES = env_bool("TWILIO_VALIDATE_SIGNATURES", default=True)
VOICE_REPLY_DEADLINE_SECONDS = float(os.environ.get("VOICE_REPLY_DEADLINE_SECONDS", "2"))
HUMAN_HANDOFF_NUMBER = os.environ.get("HUMAN_HANDOFF_NUMBER", "")
HUMAN_HANDOFF_QUEUE = os.environ.get("HUMAN_HANDOFF_QUEUE", "")
# A Twilio Client identity (a browser or app softphone) rung with the number, or alone.
HUMAN_HANDOFF_CLIENT = os.environ.get("HUMAN_HANDOFF_CLIENT", "")
EMAIL_INBOUND_USER = os.environ.get("EMAIL_INBOUND_USER", "")
EMAIL_INBOUND_PASSWORD = os.environ.get("EMAIL_INBOUND_PASSWORD", "")
SENDGRID_WEBHOOK_PUBLIC_KEY = os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
SENDGRID_WEBHOOK_MAX_AGE_SECONDS = int(os.environ.get("SENDGRID_WEBHOOK_MAX_AGE_SECONDS", "300"))
SENDGRID_API_KEY = os.environ.get("SENDGRID_API_KEY", "")
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# Outbound backend per channel: console (default), twilio, email.
OUTBOUND_SMS_BACKEND = os.environ.get("OUTBOUND_SMS_BACKEND", "console")
OUTBOUND_EMAIL_BACKEND = os.environ.get("OUTBOUND_EMAIL_BACKEND", "console")
OUTBOUND_MAX_RETRIES = int(os.environ.get("OUTBOUND_MAX_RETRIES", "5"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@rapport.example")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))

# Conversation intelligence: where trained models live and when to abstain.
RAPPORT_MODEL_DIR = Path(os.environ.get("RAPPORT_MODEL_DIR", str(BASE_DIR / "var" / "models")))
INTENT_CONFIDENCE_THRESHOLD = float(os.environ.get("INTENT_CONFIDENCE_THRESHOLD", "0.45"))
RAPPORT_EMBEDDINGS = env_bool("RAPPORT_EMBEDDINGS")


# Orchestrator (issue 5): plans, handoff thresholds, external agents, conversation lifecycle.
def env_per_channel(name: str, default: dict[str, int]) -> dict[str, int]:
    """A number per channel: JSON in `name` ('{"sms": 60}'), or `<name>_<CHANNEL>` each."""
    import json

    values = dict(default)
    raw = os.environ.get(name, "").strip()
    if raw:
        values.update({str(k): int(v) for k, v in json.loads(raw).items()})
    for channel in list(values):
        per_channel = os.environ.get(f"{name}_{channel.upper()}")
        if per_channel:
            values[channel] = int(per_channel)
    return values


# Seconds a channel allows for an answer; at or under the fast-path SLA a turn is answered in
# one pass in-process, above it the agents fan out on Celery.
ORCHESTRATOR_SLA_SECONDS = env_per_channel(
    "ORCHESTRATOR_SLA_SECONDS", {"voice": 2, "chat": 5, "sms": 60, "email": 3600}
)
ORCHESTRATOR_FAST_PATH_SLA_SECONDS = float(
    os.environ.get("ORCHESTRATOR_FAST_PATH_SLA_SECONDS", "5")
)
# How many times automation asks the customer to rephrase before a person takes over.
ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF = int(
    os.environ.get("ORCHESTRATOR_CLARIFY_BEFORE_HANDOFF", "1")
)
# Below this weighted mood score (and falling or negative), the customer goes to a person.
ORCHESTRATOR_ANGRY_SCORE = float(os.environ.get("ORCHESTRATOR_ANGRY_SCORE", "-0.5"))
# A worsening trend hands off only once it is clearly negative: one misread turn ("hmm, and
# the weather?") must not send a calm customer, on every channel, to a person.
ORCHESTRATOR_UPSET_SCORE = float(os.environ.get("ORCHESTRATOR_UPSET_SCORE", "-0.3"))
ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS = int(
    os.environ.get("ORCHESTRATOR_CHANNEL_SWITCH_WINDOW_HOURS", "72")
)
ORCHESTRATOR_AGENT_TIMEOUT_SECONDS = float(
    os.environ.get("ORCHESTRATOR_AGENT_TIMEOUT_SECONDS", "5")
)
# Agent Connect: an OpenAI-compatible chat endpoint for agents of kind "llm".
LLM_BASE_URL = os.environ.get("LLM_BASE_URL", "").rstrip("/")
LLM_API_KEY = os.environ.get("LLM_API_KEY", "")
LLM_MODEL = os.environ.get("LLM_MODEL", "")
CONVERSATION_INACTIVE_AFTER_MINUTES = env_per_channel(
    "CONVERSATION_INACTIVE_AFTER_MINUTES", {"voice": 5, "chat": 30, "sms": 60, "email": 1440}
)
CONVERSATION_CLOSE_AFTER_MINUTES = env_per_channel(
    "CONVERSATION_CLOSE_AFTER_MINUTES", {"voice": 60, "chat": 240, "sms": 1440, "email": 10080}
)
CELERY_BEAT_SCHEDULE = {
    "conversations-sweep": {
        "task": "orchestrator.conversations_sweep",
        "schedule": float(os.environ.get("CONVERSATION_SWEEP_SECONDS", "300")),
    },
    "pipeline-sweep": {
        "task": "orchestrator.pipeline_sweep",
        "schedule": float(os.environ.get("PIPELINE_SWEEP_SECONDS", "30")),
    },
    "inbound-sweep": {
        "task": "channels_app.inbound_sweep",
        "schedule": float(os.environ.get("INBOUND_SWEEP_SECONDS", "30")),
    },
    "outbound-sweep": {
        "task": "channels_app.outbound_sweep",
        "schedule": float(os.environ.get("OUTBOUND_SWEEP_SECONDS", "60")),
    },
}

# Console (issue 6): how soon a person must answer a handed-off conversation, per channel, in
# seconds; the first answer after a handoff, then each next one after the customer writes.
SLA_FIRST_RESPONSE_SECONDS = env_per_channel(
    "SLA_FIRST_RESPONSE_SECONDS", {"voice": 30, "chat": 60, "sms": 300, "email": 3600}
)
SLA_NEXT_RESPONSE_SECONDS = env_per_channel(
    "SLA_NEXT_RESPONSE_SECONDS", {"voice": 30, "chat": 120, "sms": 600, "email": 14400}
)
CONSOLE_QUEUE_LIMIT = int(os.environ.get("CONSOLE_QUEUE_LIMIT", "50"))
CELERY_BEAT_SCHEDULE["console-sla-sweep"] = {
    "task": "orchestrator.sla_sweep",
    "schedule": float(os.environ.get("SLA_SWEEP_SECONDS", "15")),
}

# Compliance and agent security (issue 7) ------------------------------------------------------
# The audit chain's key: chain hashes are keyed so rewriting the trail needs more than SQL.
# Empty: derived from SECRET_KEY (so rotating SECRET_KEY needs this set to the old derivation).
RAPPORT_AUDIT_CHAIN_KEY = os.environ.get("RAPPORT_AUDIT_CHAIN_KEY", "")
# The audit trail's signed seals are exported here (and to Redis with REDIS_URL), outside the
# tables they protect, every RAPPORT_AUDIT_SEAL_SECONDS; `audit verify` holds the trail to them.
RAPPORT_AUDIT_ANCHOR_DIR = os.environ.get(
    "RAPPORT_AUDIT_ANCHOR_DIR", str(BASE_DIR / "var" / "audit-anchor")
)
CELERY_BEAT_SCHEDULE["audit-seal"] = {
    "task": "memory.audit_seal",
    "schedule": float(os.environ.get("RAPPORT_AUDIT_SEAL_SECONDS", "60")),
}
# Where the watch keeps its sliding windows; empty: counted from the audit trail.
RAPPORT_ANOMALY_REDIS_URL = os.environ.get("RAPPORT_ANOMALY_REDIS_URL", REDIS_URL)
RAPPORT_ANOMALY_REFUSED_READS = int(os.environ.get("RAPPORT_ANOMALY_REFUSED_READS", "3"))
RAPPORT_ANOMALY_REFUSED_SECONDS = int(os.environ.get("RAPPORT_ANOMALY_REFUSED_SECONDS", "600"))
RAPPORT_ANOMALY_DISTINCT_CUSTOMERS = int(os.environ.get("RAPPORT_ANOMALY_DISTINCT_CUSTOMERS", "50"))
RAPPORT_ANOMALY_CUSTOMERS_SECONDS = int(os.environ.get("RAPPORT_ANOMALY_CUSTOMERS_SECONDS", "300"))
RAPPORT_ANOMALY_BURST_SECONDS = int(os.environ.get("RAPPORT_ANOMALY_BURST_SECONDS", "60"))
RAPPORT_ANOMALY_BURST_MIN_READS = int(os.environ.get("RAPPORT_ANOMALY_BURST_MIN_READS", "300"))
RAPPORT_ANOMALY_BURST_FACTOR = float(os.environ.get("RAPPORT_ANOMALY_BURST_FACTOR", "10"))
RAPPORT_ANOMALY_BASELINE_SECONDS = int(os.environ.get("RAPPORT_ANOMALY_BASELINE_SECONDS", "3600"))
# Configured agents must name the pipeline run (message:<id>, run:<id>) behind each read.
RAPPORT_ANOMALY_REQUIRE_RUN = os.environ.get("RAPPORT_ANOMALY_REQUIRE_RUN", "1") == "1"
# OpenTelemetry: none, console or otlp (then OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://otel:4318).
OTEL_EXPORTER = os.environ.get("OTEL_EXPORTER", "none")
OTEL_EXPORTER_OTLP_ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
OTEL_SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "rapport")
# Retention: days a message's words are kept, per channel (0 keeps them); purged nightly.
RETENTION_DAYS = env_per_channel("RETENTION_DAYS", {"sms": 0, "voice": 0, "email": 0, "chat": 0})
CELERY_BEAT_SCHEDULE["retention-apply"] = {
    "task": "memory.retention_apply",
    "schedule": float(os.environ.get("RETENTION_SWEEP_SECONDS", "86400")),
}

# The edge (issues 13 and 14): caches, login lockout, failed-credential limits, CSP -------------
# The cache holds rate-limit counters, so every web process must share it: Redis in the
# production shape (CACHE_REDIS_URL, default REDIS_URL, keys under their own prefix), else the
# process's own memory (the embedded default runs one process).
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", REDIS_URL)
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            # One client per process, not per request (Django's handles are per context).
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "rapport-cache"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Which client address a limit counts by: REMOTE_ADDR, or behind a proxy the header it sets
# (e.g. X-Forwarded-For; its last entry, the one the proxy itself added, is used).
RAPPORT_CLIENT_IP_HEADER = os.environ.get("RAPPORT_CLIENT_IP_HEADER", "")
# Failed credentials per client address before it is answered 429 until the window ends
# (django-ratelimit's "count/period"): Twilio signatures, the e-mail webhook's basic auth,
# REST API tokens and MCP tokens, each counted on its own.
RAPPORT_AUTH_FAILURE_RATES = {
    door: os.environ.get(
        f"RAPPORT_AUTH_FAILURE_RATE_{door.upper()}",
        os.environ.get("RAPPORT_AUTH_FAILURE_RATE", "10/10m"),
    )
    for door in ("twilio", "email", "api", "mcp")
}
RATELIMIT_CACHE_PREFIX = "rl:"
# Login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair gets 429 until the cool-off passes or `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "channels_app.lockouts.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "channels_app.lockouts.client_address"
AXES_VERBOSE = False
# Content Security Policy (django-csp): the console's own static scripts and styles, its
# websocket and fetches to this origin, nothing inline but style attributes, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
