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
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from gateway_project.bootstrap import VAR_DIR, read_secret_key
from gateway_project.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_size,
    env_str,
)
from gateway_project.logs import default_format as default_log_format
from proxy.redis_urls import as_cluster, cluster_problem, is_cluster

BASE_DIR = Path(__file__).resolve().parent.parent

# DJANGO_SECRET_KEY, or the embedded default's key in GATEWAY_VAR_DIR (made for this install by
# bootstrap.prepare, never a fixed one).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or read_secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # First, so its `runserver` (daphne, with the gateway's start hooks) wins over staticfiles'.
    "proxy",
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
    "django_otp",
    "registry",
    "breaker",
    "compliance",
    "realtime",
    "ratelimit",
    "cache",
    "edge",
    "mfa",
    "portal",
    "revocation",
]

MIDDLEWARE = [
    "gateway_project.guards.RefuseNulBytes",
    "django.middleware.security.SecurityMiddleware",
    # /static on Django's side of the gateway (proxied paths never reach Django's middleware).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mfa.middleware.MfaMiddleware",
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
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Bounded waits on a database that does not answer (down, or packets dropped with no reset):
    # a connection attempt gives up after GATEWAY_DB_CONNECT_TIMEOUT, and data the server does not
    # acknowledge within GATEWAY_DB_SOCKET_TIMEOUT drops the connection (libpq's tcp_user_timeout,
    # with keepalives for an idle one). A request then gets 503 (gateway_project/views.py).
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", env_int("GATEWAY_DB_CONNECT_TIMEOUT", 3, minimum=2))
    _socket_ms = int(env_float("GATEWAY_DB_SOCKET_TIMEOUT", 5.0, minimum=0.5) * 1000)
    _db["OPTIONS"].setdefault("tcp_user_timeout", _socket_ms)
    _db["OPTIONS"].update({"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 2, "keepalives_count": 3})
    _statement_ms = int(env_float("GATEWAY_DB_STATEMENT_TIMEOUT", 0.0, minimum=0.0) * 1000)
    if _statement_ms:
        _db["OPTIONS"].setdefault("options", f"-c statement_timeout={_statement_ms}")
# Tests use a file, not SQLite's in-memory database, so gateway processes started by a test share it.
_db.setdefault("TEST", {})
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["TEST"].setdefault("NAME", str(VAR_DIR / "test.sqlite3"))
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
# A Redis Cluster: REDIS_URL=redis+cluster://host:port (any node), or REDIS_CLUSTER=1 with a plain
# redis:// URL. Rate limits, breaker state, the response cache, the audit stream, config notifications
# and Django's cache then use it; Celery's broker and the channel layer need a plain Redis of their own
# (CELERY_BROKER_URL, GATEWAY_CHANNELS_REDIS_URL): neither kombu nor channels_redis speaks cluster.
if env_bool("REDIS_CLUSTER", False):
    REDIS_URL = as_cluster(REDIS_URL)
for _name in ("REDIS_URL", "GATEWAY_RATELIMIT_REDIS_URL", "GATEWAY_CACHE_REDIS_URL", "GATEWAY_AUDIT_REDIS_URL"):
    _url = REDIS_URL if _name == "REDIS_URL" else env_str(_name)
    if _problem := cluster_problem(_url):
        raise ImproperlyConfigured(f"{_name}: {_problem}")
REDIS_IS_CLUSTER = is_cluster(REDIS_URL)
# Connect and call timeout (seconds) of the control plane's and background tasks' Redis clients
# (proxy/redis_clients.py) and of Django's cache; the request path's Redis calls have bounds of their own.
GATEWAY_REDIS_TIMEOUT = env_float("GATEWAY_REDIS_TIMEOUT", 1.0, minimum=0.01)
# The channel layer's Redis (WebSocket fan-out across processes): REDIS_URL by default; a plain Redis
# (not a cluster) is required when REDIS_URL names a cluster.
GATEWAY_CHANNELS_REDIS_URL = env_str("GATEWAY_CHANNELS_REDIS_URL") or ("" if REDIS_IS_CLUSTER else REDIS_URL)
if REDIS_IS_CLUSTER and not GATEWAY_CHANNELS_REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL names a Redis Cluster, which channels_redis cannot use: set GATEWAY_CHANNELS_REDIS_URL "
        "to a plain Redis (redis://host:port/db) for the channel layer."
    )
if is_cluster(GATEWAY_CHANNELS_REDIS_URL):
    raise ImproperlyConfigured("GATEWAY_CHANNELS_REDIS_URL must be a plain Redis: channels_redis cannot use a cluster.")
if REDIS_URL:
    # Django's own cache (sessions, throttles, anything the control plane caches): django-redis, or
    # Django's Redis cache with redis-py's cluster client on a cluster. The gateway's response cache
    # is the cache app's, on its own keys (docs/caching.md).
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": GATEWAY_REDIS_TIMEOUT,
                "SOCKET_TIMEOUT": GATEWAY_REDIS_TIMEOUT,
            },
        }
    }
    if REDIS_IS_CLUSTER:
        CACHES["default"] = {
            "BACKEND": "gateway_project.cluster_cache.ClusterCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": GATEWAY_REDIS_TIMEOUT, "socket_timeout": GATEWAY_REDIS_TIMEOUT},
        }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if GATEWAY_CHANNELS_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [GATEWAY_CHANNELS_REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth and security --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
# Admin sessions end after this many seconds without a request: every request restarts the count
# (the session is saved on each), so an admin at work stays signed in and an abandoned one does not.
GATEWAY_ADMIN_IDLE_TIMEOUT = env_int("GATEWAY_ADMIN_IDLE_TIMEOUT", 15 * 60, minimum=1)
SESSION_COOKIE_AGE = GATEWAY_ADMIN_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
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
# Where `manage.py collectstatic` writes (the image does it at build time): outside GATEWAY_VAR_DIR,
# which containers mount as scratch space.
STATIC_ROOT = Path(env_str("GATEWAY_STATIC_ROOT") or BASE_DIR / "staticfiles").resolve()
# WhiteNoise serves them: after collectstatic, compressed with hashed names and cached for a year;
# before (make run, the tests), straight from the apps with the plain names.
STATIC_COLLECTED = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "gateway_project.static.StaticStorage"},
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
if not STATIC_COLLECTED:  # nothing collected yet is expected then, not worth a warning per process
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# --- Admin accounts: second factor (mfa app, docs/admin-mfa.md) -----------------------------------
# required: superusers and members of GATEWAY_ADMIN_MFA_GROUPS must set up a second factor (TOTP) and
# every account that has one gives its code; optional: only those who set one up; off: never asked.
# Default: required in production (Postgres or Redis configured), optional in the embedded default.
GATEWAY_ADMIN_MFA = env_str("GATEWAY_ADMIN_MFA").strip().lower() or (
    "required" if DATABASE_URL.startswith("postgres") or REDIS_URL else "optional"
)
# Groups whose members must set one up under "required" (superusers always); "*": every staff user.
GATEWAY_ADMIN_MFA_GROUPS = env_list("GATEWAY_ADMIN_MFA_GROUPS", "compliance officer")
# The name authenticator apps show next to the account.
GATEWAY_ADMIN_MFA_ISSUER = env_str("GATEWAY_ADMIN_MFA_ISSUER", "Gateway")
# Encrypts TOTP secrets and keys backup-code hashes; changing it voids every second factor.
GATEWAY_MFA_KEY = (
    env_str("GATEWAY_MFA_KEY") or hmac.new(SECRET_KEY.encode(), b"gateway-mfa", hashlib.sha256).hexdigest()
)

# --- Admin API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: DRF takes WWW-Authenticate from the first class, so a bad token answers 401.
        # simplejwt's, refusing revoked tokens (revocation app).
        "revocation.authentication.RevocationCheckingJWTAuthentication",
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
    # A revoked refresh token gets no new access token; each new one joins its sign-in.
    "TOKEN_REFRESH_SERIALIZER": "revocation.authentication.RevocationCheckingRefreshSerializer",
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

# Graceful shutdown on SIGTERM (gateway_project/shutdown.py): seconds /ready answers 503 while requests
# are still taken, then seconds the requests in flight get to finish.
GATEWAY_SHUTDOWN_DELAY = env_float("GATEWAY_SHUTDOWN_DELAY", 2.0, minimum=0.0)
GATEWAY_SHUTDOWN_GRACE = env_float("GATEWAY_SHUTDOWN_GRACE", 20.0, minimum=1.0)
# Each check of /ready, /health/startup and /health/detailed gives up after this many seconds.
GATEWAY_HEALTH_CHECK_TIMEOUT = env_float("GATEWAY_HEALTH_CHECK_TIMEOUT", 1.5, minimum=0.1)

# --- Data plane ---------------------------------------------------------------------------------
# Client-supplied X-Forwarded-* headers are believed only from these peers (CIDRs).
GATEWAY_TRUSTED_PROXIES = env_networks("GATEWAY_TRUSTED_PROXIES", "")
# Global cap on request bodies; a route may set a lower or higher one.
# Sizes take units (10MB, 512KiB); MAX_REQUEST_SIZE is the spelling of the gateway this one replaces.
GATEWAY_MAX_BODY_BYTES = env_size(
    ("GATEWAY_MAX_BODY_BYTES", "GATEWAY_MAX_REQUEST_SIZE", "MAX_REQUEST_SIZE"), 10 * 1024 * 1024
)
# A request body that stalls longer than this between two chunks gets 408.
GATEWAY_BODY_TIMEOUT = env_float("GATEWAY_BODY_TIMEOUT", 30.0, minimum=0.1)
# The whole request body must arrive within this many seconds of its head (408 after); a route may
# set its own (``body_timeout``).
GATEWAY_BODY_DEADLINE = env_float("GATEWAY_BODY_DEADLINE", 10.0, minimum=0.1)
# Edge limits enforced by the uvicorn protocol (proxy.server): header deadline, size and count, the
# size of any one header field (431) and of the request target (414).
GATEWAY_HEADER_TIMEOUT = env_float("GATEWAY_HEADER_TIMEOUT", 10.0, minimum=0.1)
GATEWAY_MAX_HEADER_BYTES = env_int("GATEWAY_MAX_HEADER_BYTES", 32 * 1024, minimum=1024)
GATEWAY_MAX_HEADER_COUNT = env_int("GATEWAY_MAX_HEADER_COUNT", 100, minimum=8)
GATEWAY_MAX_HEADER_FIELD_BYTES = env_int("GATEWAY_MAX_HEADER_FIELD_BYTES", 8 * 1024, minimum=256)
GATEWAY_MAX_URI_BYTES = env_int("GATEWAY_MAX_URI_BYTES", 8 * 1024, minimum=256)
# A backend's Server header: "strip-version" (nginx/1.25.3 (Ubuntu) -> nginx), "remove", or "keep".
GATEWAY_BACKEND_SERVER_HEADER = env_choice(
    "GATEWAY_BACKEND_SERVER_HEADER", "strip-version", ("strip-version", "remove", "keep")
)
# The admin listener (``serve --admin-port``): its port, 0 for none (everything on the one port). With
# one, the public port serves proxied routes and these Django paths only; the admin port serves
# Django's paths (admin, admin API, metrics, ...) and no proxied route.
GATEWAY_ADMIN_PORT = env_int("GATEWAY_ADMIN_PORT", 0, minimum=0)
GATEWAY_PUBLIC_PATHS = env_list("GATEWAY_PUBLIC_PATHS", "/health,/ready,/api/v1/services,/realtime/publish,/ws")
# How often each process checks the config version when no Redis notification arrives.
GATEWAY_CONFIG_POLL_INTERVAL = env_float("GATEWAY_CONFIG_POLL_INTERVAL", 1.0, minimum=0.05)
# ANY /api/v1/{service}/{path} for the services that opted in (their "dynamic route" setting);
# false turns every dynamic route off whatever the services say.
GATEWAY_DYNAMIC_SERVICE_ROUTES = env_bool("GATEWAY_DYNAMIC_SERVICE_ROUTES", True)
# Headers that carry an API version for routes that match by header.
GATEWAY_VERSION_HEADERS = [h.lower() for h in env_list("GATEWAY_VERSION_HEADERS", "Accept-Version,API-Version")]
# Upstream connections (proxy/client): at most POOL_SIZE open to each target per process; a request
# waits up to POOL_WAIT seconds for one to free up (then 503 upstream_busy). Idle connections are
# kept KEEPALIVE seconds (0: none kept), at most MAX_IDLE per target.
GATEWAY_UPSTREAM_POOL_SIZE = env_int("GATEWAY_UPSTREAM_POOL_SIZE", 1000, minimum=1)
GATEWAY_UPSTREAM_POOL_WAIT = env_float("GATEWAY_UPSTREAM_POOL_WAIT", 5.0, minimum=0.0)
GATEWAY_UPSTREAM_KEEPALIVE = env_float("GATEWAY_UPSTREAM_KEEPALIVE", 30.0, minimum=0.0)
GATEWAY_UPSTREAM_MAX_IDLE = env_int("GATEWAY_UPSTREAM_MAX_IDLE", 100, minimum=0)
# TLS to https services: a CA bundle to trust instead of the system store, and a client certificate
# (with its key, if not in the same file) for backends that require mutual TLS.
GATEWAY_UPSTREAM_CA_BUNDLE = env_str("GATEWAY_UPSTREAM_CA_BUNDLE")
GATEWAY_UPSTREAM_CLIENT_CERT = env_str("GATEWAY_UPSTREAM_CLIENT_CERT")
GATEWAY_UPSTREAM_CLIENT_KEY = env_str("GATEWAY_UPSTREAM_CLIENT_KEY")
# Name this gateway gives itself in Via headers.
GATEWAY_VIA_NAME = env_str("GATEWAY_VIA_NAME", "gateway")
# The policy chain, outermost first. Each entry builds a step for a route or returns None. The edge
# policies' places (docs/edge-policies.md): response headers outside everything that refuses, IP
# lists and CORS preflights before authentication, request transformations last.
GATEWAY_POLICIES = env_list(
    "GATEWAY_POLICIES",
    "compliance.policies.AuditPolicy,edge.policies.ResponseHeadersPolicy,edge.policies.IpListPolicy,"
    "edge.policies.CorsPolicy,proxy.policies.BodyLimitPolicy,proxy.auth.policy.AuthPolicy,"
    "edge.policies.ConsumerIpListPolicy,ratelimit.policies.RateLimitPolicy,edge.policies.RequestTransformPolicy,"
    "portal.policies.RequestValidationPolicy,cache.policies.CachePolicy",
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
# JWT revocation (docs/authentication.md#revocation): how long an entry given no expiry is kept (at least
# the longest token lifetime of your issuers), and how often each process checks it missed none.
GATEWAY_JWT_REVOCATION_SECONDS = env_int("GATEWAY_JWT_REVOCATION_SECONDS", 24 * 3600, minimum=60)
GATEWAY_JWT_REVOCATION_POLL_INTERVAL = env_float("GATEWAY_JWT_REVOCATION_POLL_INTERVAL", 0.5, minimum=0.05)
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
GATEWAY_HEALTH_POLL_INTERVAL = env_float("GATEWAY_HEALTH_POLL_INTERVAL", 0.5, minimum=0.05)
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

# --- Response cache (cache app, docs/caching.md) ---------------------------------------------------
# Where entries live, shared by every process; empty (no REDIS_URL): each process's memory.
GATEWAY_CACHE_REDIS_URL = env_str("GATEWAY_CACHE_REDIS_URL") or REDIS_URL
# The longest a lookup waits for Redis; past it (or on any Redis error) the request is a BYPASS.
GATEWAY_CACHE_REDIS_TIMEOUT = env_float("GATEWAY_CACHE_REDIS_TIMEOUT", 0.05, minimum=0.001)
# After Redis failed, how long cached routes skip it (BYPASS) before trying again.
GATEWAY_CACHE_REDIS_RETRY_SECONDS = env_float("GATEWAY_CACHE_REDIS_RETRY_SECONDS", 1.0, minimum=0.05)
# The in-memory store's size (bytes of bodies and headers, roughly), least recently used entries go first.
GATEWAY_CACHE_MEMORY_BYTES = env_int("GATEWAY_CACHE_MEMORY_BYTES", 64 * 1024 * 1024, minimum=1024)
# Concurrent misses for one key: the longest the others wait for the first one's answer before asking
# the backend themselves; and how long a fill lock in Redis outlives a process that died holding it.
GATEWAY_CACHE_WAIT_SECONDS = env_float("GATEWAY_CACHE_WAIT_SECONDS", 5.0, minimum=0.0)
GATEWAY_CACHE_LOCK_SECONDS = env_float("GATEWAY_CACHE_LOCK_SECONDS", 10.0, minimum=0.1)
# After an answer that may not be stored, requests for its key skip the lock (no queueing) this long.
GATEWAY_CACHE_PASS_SECONDS = env_float("GATEWAY_CACHE_PASS_SECONDS", 5.0, minimum=0.001)
# Expired entries with an ETag or Last-Modified are kept this long for revalidation (If-None-Match).
GATEWAY_CACHE_KEEP_STALE_SECONDS = env_float("GATEWAY_CACHE_KEEP_STALE_SECONDS", 300.0, minimum=0.0)
# Bodies of at least this many bytes are stored zlib-compressed in Redis (unless already encoded); 0: never.
GATEWAY_CACHE_COMPRESS_ABOVE = env_int("GATEWAY_CACHE_COMPRESS_ABOVE", 4096, minimum=0)
# After a write (an unsafe method answered 2xx/3xx) invalidated a path, answers to requests that asked
# the backend before it are not stored for this long (they may hold what the write changed).
GATEWAY_CACHE_INVALIDATION_SECONDS = env_float("GATEWAY_CACHE_INVALIDATION_SECONDS", 60.0, minimum=0.001)
# Backend response headers that carry purge tags (space- or comma-separated); clients never see them.
GATEWAY_CACHE_TAG_HEADERS = env_list("GATEWAY_CACHE_TAG_HEADERS", "Surrogate-Key,Cache-Tag")

# Traffic audit (docs/compliance.md). Every record is written to this process's spool (a write-ahead
# file per process in this directory, memory-mapped) before the last byte of its response leaves.
GATEWAY_AUDIT_SPOOL_DIR = env_str("GATEWAY_AUDIT_SPOOL_DIR") or str(VAR_DIR / "audit-spool")
# Largest spool of one process (records not yet shipped); when it is full PHI routes answer 503 and
# other routes' records are dropped (counted in gateway_audit_records_dropped_total).
GATEWAY_AUDIT_SPOOL_MAX_BYTES = env_int("GATEWAY_AUDIT_SPOOL_MAX_BYTES", 1024 * 1024 * 1024, minimum=256 * 1024)
# Size of each spool file (preallocated; two per process at rest: the one written and the next).
GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES = env_int("GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES", 8 * 1024 * 1024, minimum=64 * 1024)
# Seconds between syncs (msync) of the spool to disk: what a machine crash (not a process crash) may lose.
GATEWAY_AUDIT_SPOOL_FSYNC_INTERVAL = env_float("GATEWAY_AUDIT_SPOOL_FSYNC_INTERVAL", 1.0, minimum=0.0)
# Records held in memory while the spool has no room ready for them (its next file is being made).
GATEWAY_AUDIT_BUFFER_SIZE = env_int("GATEWAY_AUDIT_BUFFER_SIZE", 50_000, minimum=100)
# Records per batch shipped to the Redis stream (or, by the audit worker, into the chain).
GATEWAY_AUDIT_BATCH_SIZE = env_int("GATEWAY_AUDIT_BATCH_SIZE", 500, minimum=1)
# Seconds between rounds of each process's drainer (ship the spool, make the next spool file).
GATEWAY_AUDIT_FLUSH_INTERVAL = env_float("GATEWAY_AUDIT_FLUSH_INTERVAL", 0.05, minimum=0.005)
# Records in the Redis stream not yet written to the chain above which processes stop adding to it:
# records wait in their spools until the audit worker catches up.
GATEWAY_AUDIT_MAX_BACKLOG = env_int("GATEWAY_AUDIT_MAX_BACKLOG", 1_000_000, minimum=1)
# Record the client IP as a keyed pseudonym instead of the address.
GATEWAY_AUDIT_PSEUDONYMIZE_IP = env_bool("GATEWAY_AUDIT_PSEUDONYMIZE_IP", False)
# Redact SSNs, dates (of birth) and email addresses from the paths and query values of PHI routes'
# records (compliance.redaction.DEFAULT_PHI_PATTERNS), besides the officers' own rules.
GATEWAY_AUDIT_PHI_DEFAULT_RULES = env_bool("GATEWAY_AUDIT_PHI_DEFAULT_RULES", True)
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
if is_cluster(CELERY_BROKER_URL):
    raise ImproperlyConfigured(
        "Celery's broker cannot be a Redis Cluster: set CELERY_BROKER_URL to a plain Redis (redis://host:port/db)"
        + (" when REDIS_URL names a cluster." if CELERY_BROKER_URL == REDIS_URL else ".")
    )
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
    _cache = str(CACHES["default"]["BACKEND"])
    CACHES["default"]["BACKEND"] = {  # the cluster cache has no counting twin: it stays as it is
        "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
        "django.core.cache.backends.locmem.LocMemCache": "django_prometheus.cache.backends.locmem.LocMemCache",
    }.get(_cache, _cache)
PROMETHEUS_EXPORT_MIGRATIONS = False

LOG_LEVEL = env_str("GATEWAY_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # structlog renders every line: JSON or console by GATEWAY_LOG_FORMAT (gateway_project/logs.py).
        "structured": {"()": "gateway_project.logs.formatter", "fmt": GATEWAY_LOG_FORMAT}
    },
    "filters": {"one_line_refusals": {"()": "gateway_project.logs.OneLineRefusals"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured", "filters": ["one_line_refusals"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
