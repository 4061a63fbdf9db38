"""Settings for the gateway, read from the environment.

With no variables set the project runs embedded: SQLite in ``var/``, in-process state, an
in-memory channel layer. ``DATABASE_URL`` and ``REDIS_URL`` switch to the shared production form.
Every ``GATEWAY_`` tunable is documented in ``.env.example``.

Importing this module writes nothing: the var directory, the embedded default's secret key and the
Celery queue folders are made by ``gateway_project.bootstrap.prepare``, which every entry point
(manage.py, the launcher, serve, the ASGI and WSGI modules, the test settings) calls first.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from gateway_project.bootstrap import VAR_DIR, read_secret_key
from gateway_project.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)
from gateway_project.logs import default_format as default_log_format

BASE_DIR = Path(__file__).resolve().parent.parent

# DJANGO_SECRET_KEY, or the embedded default's key in GATEWAY_VAR_DIR (made for this install by
# bootstrap.prepare, never a fixed one).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or read_secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "registry",
    "proxy",
    "breaker",
    "compliance",
    "realtime",
    "ratelimit",
    "portal",
]

MIDDLEWARE = [
    "gateway_project.guards.RefuseNulBytes",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "registry.actors.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gateway_project.urls"
ASGI_APPLICATION = "gateway_project.asgi.application"
WSGI_APPLICATION = "gateway_project.wsgi.application"

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

# --- Stores -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gateway.sqlite3'}"
try:
    _db = environ.Env.db_url_config(DATABASE_URL)
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
_db.setdefault("CONN_MAX_AGE", env_int("DJANGO_CONN_MAX_AGE", 60))
_db.setdefault("CONN_HEALTH_CHECKS", True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"})
# Tests use a file, not SQLite's in-memory database, so gateway processes started by a test share it.
_db.setdefault("TEST", {})
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["TEST"].setdefault("NAME", str(VAR_DIR / "test.sqlite3"))
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth and security --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# A refused CSRF check: problem+json under /admin/api/, Django's page for people elsewhere.
CSRF_FAILURE_VIEW = "gateway_project.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Admin API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: DRF takes WWW-Authenticate from the first class, so a bad token answers 401.
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "registry.api.schema.AutoSchema",
    # limit 1-1000 (100 by default) and offset 0-2^31-1; anything else is a 400.
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Every error as problem+json with X-Gateway-Error, like the rest of the gateway.
    "EXCEPTION_HANDLER": "registry.api.problems.problem_exception_handler",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("GATEWAY_ADMIN_TOKEN_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gateway admin API",
    "DESCRIPTION": "Services, targets and routes of the gateway's control plane.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The admin API only (the portal's public pages have their own schema), with every error it answers.
    # Its contract is JSON; form posts are still read for the browsable API's HTML forms.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Request bodies get their own components, with what writes need (minLength 1 on required text).
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["registry.api.schema.admin_api_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "registry.api.schema.problem_responses",
    ],
}

# --- Data plane ---------------------------------------------------------------------------------
# Connect and call timeout (seconds) of the control plane's and background tasks' Redis clients
# (proxy/redis_clients.py); the request path's Redis calls have bounds of their own below.
GATEWAY_REDIS_TIMEOUT = env_float("GATEWAY_REDIS_TIMEOUT", 1.0, minimum=0.01)
# Client-supplied X-Forwarded-* headers are believed only from these peers (CIDRs).
GATEWAY_TRUSTED_PROXIES = env_networks("GATEWAY_TRUSTED_PROXIES", "")
# Global cap on request bodies; a route may set a lower or higher one.
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=0)
# A request body that stalls longer than this between two chunks gets 408.
GATEWAY_BODY_TIMEOUT = env_float("GATEWAY_BODY_TIMEOUT", 30.0, minimum=0.1)
# Edge limits enforced by the uvicorn protocol (proxy.server): header deadline, size and count.
GATEWAY_HEADER_TIMEOUT = env_float("GATEWAY_HEADER_TIMEOUT", 10.0, minimum=0.1)
GATEWAY_MAX_HEADER_BYTES = env_int("GATEWAY_MAX_HEADER_BYTES", 32 * 1024, minimum=1024)
GATEWAY_MAX_HEADER_COUNT = env_int("GATEWAY_MAX_HEADER_COUNT", 100, minimum=8)
# How often each process checks the config version when no Redis notification arrives.
GATEWAY_CONFIG_POLL_INTERVAL = env_float("GATEWAY_CONFIG_POLL_INTERVAL", 1.0, minimum=0.05)
# ALL /api/v1/{service}/{path} forwards to any enabled service by slug.
GATEWAY_DYNAMIC_SERVICE_ROUTES = env_bool("GATEWAY_DYNAMIC_SERVICE_ROUTES", True)
# Headers that carry an API version for routes that match by header.
GATEWAY_VERSION_HEADERS = [h.lower() for h in env_list("GATEWAY_VERSION_HEADERS", "Accept-Version,API-Version")]
# Upstream connection pool, shared by all services in one process.
GATEWAY_UPSTREAM_POOL_SIZE = env_int("GATEWAY_UPSTREAM_POOL_SIZE", 1000, minimum=1)
GATEWAY_UPSTREAM_KEEPALIVE = env_float("GATEWAY_UPSTREAM_KEEPALIVE", 30.0, minimum=0.0)
# Name this gateway gives itself in Via headers.
GATEWAY_VIA_NAME = env_str("GATEWAY_VIA_NAME", "gateway")
# The policy chain, outermost first. Each entry builds a step for a route or returns None.
GATEWAY_POLICIES = env_list(
    "GATEWAY_POLICIES",
    "compliance.policies.AuditPolicy,proxy.policies.BodyLimitPolicy,proxy.auth.policy.AuthPolicy,"
    "ratelimit.policies.RateLimitPolicy,portal.policies.RequestValidationPolicy",
)

# --- Consumer authentication (docs/authentication.md) ---------------------------------------------
# API keys are stored as HMAC-SHA256(pepper, key). Changing the pepper invalidates every key.
GATEWAY_API_KEY_PEPPER = (
    env_str("GATEWAY_API_KEY_PEPPER")
    or hmac.new(SECRET_KEY.encode(), b"gateway-api-key-pepper", hashlib.sha256).hexdigest()
).encode()
# How often each process writes the "last used" time of the API keys it saw.
GATEWAY_API_KEY_USAGE_FLUSH_SECONDS = env_float("GATEWAY_API_KEY_USAGE_FLUSH_SECONDS", 30.0, minimum=0.1)
# JWKS documents of JWT issuers: fetched by the control plane when the table is built, kept this long.
GATEWAY_JWKS_CACHE_SECONDS = env_float("GATEWAY_JWKS_CACHE_SECONDS", 300.0, minimum=0.0)
GATEWAY_JWKS_TIMEOUT = env_float("GATEWAY_JWKS_TIMEOUT", 5.0, minimum=0.1)
# Token introspection (RFC 7662) for routes with auth mode "introspection"; empty URL: such routes get 503.
GATEWAY_INTROSPECTION_URL = env_str("GATEWAY_INTROSPECTION_URL", "")
GATEWAY_INTROSPECTION_CLIENT_ID = env_str("GATEWAY_INTROSPECTION_CLIENT_ID", "")
GATEWAY_INTROSPECTION_CLIENT_SECRET = env_str("GATEWAY_INTROSPECTION_CLIENT_SECRET", "")
GATEWAY_INTROSPECTION_TTL = env_float("GATEWAY_INTROSPECTION_TTL", 60.0, minimum=0.0)
GATEWAY_INTROSPECTION_NEGATIVE_TTL = env_float("GATEWAY_INTROSPECTION_NEGATIVE_TTL", 5.0, minimum=0.0)
GATEWAY_INTROSPECTION_TIMEOUT = env_float("GATEWAY_INTROSPECTION_TIMEOUT", 2.0, minimum=0.05)

# Who may pick a service's targets (skips open breakers and failed health checks); empty: nobody.
GATEWAY_TARGET_GATE = env_str("GATEWAY_TARGET_GATE", "breaker.policies.BreakerGate")

# --- Circuit breakers and health checks (breaker app) -------------------------------------------
# Socket timeout of each breaker call to Redis; past it the process uses its own breakers for a while.
GATEWAY_BREAKER_REDIS_TIMEOUT = env_float("GATEWAY_BREAKER_REDIS_TIMEOUT", 0.05, minimum=0.001)
# How long a process keeps its in-memory breakers after Redis failed, before trying Redis again.
GATEWAY_BREAKER_FALLBACK_SECONDS = env_float("GATEWAY_BREAKER_FALLBACK_SECONDS", 5.0, minimum=0.1)
# How often each process reloads health check results and writes breaker state changes.
GATEWAY_HEALTH_POLL_INTERVAL = env_float("GATEWAY_HEALTH_POLL_INTERVAL", 1.0, minimum=0.05)
# A result older than this (or than 3 check intervals of its service, if longer) is stale: ignored.
GATEWAY_HEALTH_STALE_AFTER = env_float("GATEWAY_HEALTH_STALE_AFTER", 30.0, minimum=1.0)
# Health check results kept per target.
GATEWAY_HEALTH_HISTORY = env_int("GATEWAY_HEALTH_HISTORY", 50, minimum=1)

# --- Audit and compliance (docs/compliance.md) ---------------------------------------------------
# The audit chain's HMAC key: changing it makes every existing event fail verification.
GATEWAY_AUDIT_KEY = (
    env_str("GATEWAY_AUDIT_KEY") or hmac.new(SECRET_KEY.encode(), b"gateway-audit-chain", hashlib.sha256).hexdigest()
)
# The key of the pseudonyms that replace personal fields (client IP, consumer, actor) on erasure.
GATEWAY_AUDIT_PSEUDONYM_KEY = (
    env_str("GATEWAY_AUDIT_PSEUDONYM_KEY")
    or hmac.new(SECRET_KEY.encode(), b"gateway-audit-pseudonyms", hashlib.sha256).hexdigest()
)

# --- WebSockets and channel fan-out (realtime app, docs/websockets.md) ---------------------------
# Route defaults (a route's own WebSocket fields override them): largest message either way (close
# 1009), open connections per route and per consumer in each process (0: unlimited), and the seconds
# without a message either way before the gateway closes the connection (0: never).
GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES = env_int("GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES", 1024 * 1024, minimum=1)
GATEWAY_WEBSOCKET_MAX_CONNECTIONS = env_int("GATEWAY_WEBSOCKET_MAX_CONNECTIONS", 10_000, minimum=0)
GATEWAY_WEBSOCKET_MAX_PER_CONSUMER = env_int("GATEWAY_WEBSOCKET_MAX_PER_CONSUMER", 100, minimum=0)
GATEWAY_WEBSOCKET_IDLE_TIMEOUT = env_float("GATEWAY_WEBSOCKET_IDLE_TIMEOUT", 300.0, minimum=0.0)
# Messages buffered per direction per connection before the gateway stops reading the other side.
GATEWAY_WEBSOCKET_QUEUE = env_int("GATEWAY_WEBSOCKET_QUEUE", 16, minimum=1)
# Seconds a backend gets to complete the closing handshake before the connection is dropped.
GATEWAY_WEBSOCKET_CLOSE_TIMEOUT = env_float("GATEWAY_WEBSOCKET_CLOSE_TIMEOUT", 5.0, minimum=0.1)
# /ws/{client_id}: channels one connection may subscribe to, and the largest publish body in bytes.
GATEWAY_REALTIME_MAX_SUBSCRIPTIONS = env_int("GATEWAY_REALTIME_MAX_SUBSCRIPTIONS", 100, minimum=1)
GATEWAY_REALTIME_MAX_PUBLISH_BYTES = env_int("GATEWAY_REALTIME_MAX_PUBLISH_BYTES", 64 * 1024, minimum=16)
# Allowed Origins of /ws/{client_id} connections (comma-separated scheme://host[:port], or *); empty:
# only the gateway's own host. Connections without an Origin header (not browsers) are not checked.
GATEWAY_REALTIME_ORIGINS = [o.lower().rstrip("/") for o in env_list("GATEWAY_REALTIME_ORIGINS", "")]
# Consumers holding this role may POST /realtime/publish (staff users may too, with their admin token).
GATEWAY_REALTIME_PUBLISHER_ROLE = env_str("GATEWAY_REALTIME_PUBLISHER_ROLE", "realtime:publish")
# Seconds between the writes of this process's live connection counts to Redis (for the admin page).
GATEWAY_REALTIME_COUNTS_INTERVAL = env_float("GATEWAY_REALTIME_COUNTS_INTERVAL", 2.0, minimum=0.1)

# --- Rate limiting (ratelimit app, docs/rate-limiting.md) -----------------------------------------
# Where the shared counters live; empty (no REDIS_URL): this process's memory.
GATEWAY_RATELIMIT_REDIS_URL = env_str("GATEWAY_RATELIMIT_REDIS_URL") or REDIS_URL
# The longest a request waits for Redis's answer; past it, each policy follows its failure mode.
GATEWAY_RATELIMIT_REDIS_TIMEOUT = env_float("GATEWAY_RATELIMIT_REDIS_TIMEOUT", 0.05, minimum=0.001)
# After Redis failed, how long a process skips it (failure modes apply) before trying again.
GATEWAY_RATELIMIT_RETRY_SECONDS = env_float("GATEWAY_RATELIMIT_RETRY_SECONDS", 1.0, minimum=0.05)
# Failure mode "local": each process allows limit / this many (the number of gateway processes).
GATEWAY_RATELIMIT_PROCESS_COUNT = env_int("GATEWAY_RATELIMIT_PROCESS_COUNT", 1, minimum=1)
# Sign-in attempts (admin login and /admin/api/token/ together) per client address and period; 0: no limit.
GATEWAY_LOGIN_RATE_LIMIT = env_int("GATEWAY_LOGIN_RATE_LIMIT", 10, minimum=0)
GATEWAY_LOGIN_RATE_PERIOD = env_int("GATEWAY_LOGIN_RATE_PERIOD", 60, minimum=1)

# Traffic audit (docs/compliance.md): records per process held in memory before the drainer sends them.
GATEWAY_AUDIT_BUFFER_SIZE = env_int("GATEWAY_AUDIT_BUFFER_SIZE", 50_000, minimum=100)
# Records per batch sent to the Redis stream (or written to the database in the embedded default).
GATEWAY_AUDIT_BATCH_SIZE = env_int("GATEWAY_AUDIT_BATCH_SIZE", 500, minimum=1)
# Seconds between drains of the buffer.
GATEWAY_AUDIT_FLUSH_INTERVAL = env_float("GATEWAY_AUDIT_FLUSH_INTERVAL", 0.05, minimum=0.005)
# Records in the Redis stream not yet written to the chain above which PHI routes fail closed with 503.
GATEWAY_AUDIT_MAX_BACKLOG = env_int("GATEWAY_AUDIT_MAX_BACKLOG", 1_000_000, minimum=1)
# Record the client IP as a keyed pseudonym instead of the address.
GATEWAY_AUDIT_PSEUDONYMIZE_IP = env_bool("GATEWAY_AUDIT_PSEUDONYMIZE_IP", False)
# Request headers in records: "redacted" (names and values, secrets and rule-listed ones redacted),
# "names" (names only, every value redacted) or "none".
GATEWAY_AUDIT_HEADERS = env_str("GATEWAY_AUDIT_HEADERS", "redacted").strip().lower()
# The Redis of the audit stream (default: REDIS_URL). A Redis of its own can run with appendonly on
# while the one for counters and caches does not; empty with no REDIS_URL: no stream (embedded).
GATEWAY_AUDIT_REDIS_URL = env_str("GATEWAY_AUDIT_REDIS_URL") or REDIS_URL
# The Redis stream the gateway processes write and the audit worker consumes.
GATEWAY_AUDIT_STREAM = env_str("GATEWAY_AUDIT_STREAM", "gateway:audit")

# --- Compliance officer: exports, GDPR, retention (docs/compliance-officers.md) -----------------
# Exports up to this many rows stream at once; larger ones run as a Celery job with a download link.
GATEWAY_AUDIT_SYNC_EXPORT_LIMIT = env_int("GATEWAY_AUDIT_SYNC_EXPORT_LIMIT", 100_000, minimum=1)
# GDPR subject exports and erasures touching up to this many events run in the request; more: Celery.
GATEWAY_AUDIT_SYNC_GDPR_LIMIT = env_int("GATEWAY_AUDIT_SYNC_GDPR_LIMIT", 10_000, minimum=0)
# Days events are kept when no retention rule applies (0: forever); PHI events: 6 years by default.
GATEWAY_AUDIT_RETENTION_DAYS = env_int("GATEWAY_AUDIT_RETENTION_DAYS", 90, minimum=0)
GATEWAY_AUDIT_PHI_RETENTION_DAYS = env_int("GATEWAY_AUDIT_PHI_RETENTION_DAYS", 2190, minimum=0)

# --- Developer portal (portal app, docs/portal.md) -----------------------------------------------
# The URL callers reach the gateway at, the server of the published documents (e.g.
# https://api.example.com); empty: the scheme and host of each request for the documents.
GATEWAY_PUBLIC_URL = env_str("GATEWAY_PUBLIC_URL", "").strip()
# The documents and the docs page need a consumer's API key or JWT (or a staff session).
GATEWAY_PORTAL_REQUIRE_AUTH = env_bool("GATEWAY_PORTAL_REQUIRE_AUTH", False)
# Fetching a backend's OpenAPI document: seconds per step (connect, each read), and its largest size.
GATEWAY_PORTAL_FETCH_TIMEOUT = env_float("GATEWAY_PORTAL_FETCH_TIMEOUT", 5.0, minimum=0.1)
GATEWAY_PORTAL_MAX_DOCUMENT_BYTES = env_int("GATEWAY_PORTAL_MAX_DOCUMENT_BYTES", 5 * 1024 * 1024, minimum=1024)

# --- Celery (health sweeps) ---------------------------------------------------------------------
# Production: Redis. Embedded: a directory queue in var/ that the launcher's worker shares.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://localhost//"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # bootstrap.prepare makes both folders; kombu's control folder would default to ./control.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "celery-queue"),
        "data_folder_out": str(VAR_DIR / "celery-queue"),
        "control_folder": str(VAR_DIR / "celery-control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Observability (docs/observability.md) -------------------------------------------------------
# Data-plane metrics (/metrics and the observer behind it); 0 turns recording off entirely.
GATEWAY_METRICS = env_bool("GATEWAY_METRICS", True)
# Bearer token for /metrics/json, /metrics/performance, /metrics/health-score (staff sessions always
# work). When set, /metrics needs it too; when empty, /metrics answers loopback peers and staff only.
GATEWAY_METRICS_TOKEN = env_str("GATEWAY_METRICS_TOKEN", "")
# How often each worker shares its rolling latency windows with the others (multiprocess mode).
GATEWAY_METRICS_FLUSH_SECONDS = env_float("GATEWAY_METRICS_FLUSH_SECONDS", 2.0, minimum=0.1)
# The p95 a service should stay under; the health score's latency part is measured against it.
GATEWAY_LATENCY_TARGET_SECONDS = env_float("GATEWAY_LATENCY_TARGET_SECONDS", 0.5, minimum=0.001)
# OpenTelemetry traces: on when this is true, or when OTEL_TRACES_EXPORTER names an exporter
# (otlp, console); the exporter itself reads the standard OTEL_* variables. Off: no tracing code runs.
GATEWAY_TRACING = env_bool(
    "GATEWAY_TRACING", env_str("OTEL_TRACES_EXPORTER", "none").strip().lower() not in ("", "none")
)
# One access line per proxied request (route, status, durations, error reason, client address).
GATEWAY_ACCESS_LOG = env_bool("GATEWAY_ACCESS_LOG", True)
# json: one JSON object per line (the default with Postgres or Redis); console: for people (embedded).
GATEWAY_LOG_FORMAT = env_str("GATEWAY_LOG_FORMAT").strip().lower() or default_log_format(DATABASE_URL, REDIS_URL)
if GATEWAY_LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"GATEWAY_LOG_FORMAT must be json or console, got {GATEWAY_LOG_FORMAT!r}")

if GATEWAY_METRICS:
    # django-prometheus for the control plane only: its middleware runs on Django's side (GatewayApp
    # never calls Django for a proxied path); its database and cache wrappers count queries and hits.
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
    _engine = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    if _engine in ("postgresql", "sqlite3"):
        DATABASES["default"]["ENGINE"] = f"django_prometheus.db.backends.{_engine}"
    CACHES["default"]["BACKEND"] = {
        "django.core.cache.backends.redis.RedisCache": "gateway_project.cache.RedisCache",
        "django.core.cache.backends.locmem.LocMemCache": "django_prometheus.cache.backends.locmem.LocMemCache",
    }[CACHES["default"]["BACKEND"]]
PROMETHEUS_EXPORT_MIGRATIONS = False

LOG_LEVEL = env_str("GATEWAY_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # structlog renders every line: JSON or console by GATEWAY_LOG_FORMAT (gateway_project/logs.py).
        "structured": {"()": "gateway_project.logs.formatter", "fmt": GATEWAY_LOG_FORMAT}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
