"""
Settings for the Stock Scanner API.

Every value comes from an environment variable with a safe default (all of them are
listed in README.md and .env.example). With no environment at all the app runs the
"embedded default": SQLite in WAL mode, a local-memory cache and eager Celery.
``DJANGO_ENV=production`` switches on the production guards (no default secret key,
explicit allowed hosts, secure cookies).
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path

import environ
from celery.schedules import crontab
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

from stocks import metrics_dir
from stocks.providers import PROVIDERS
from stocks.redis_breaker import connection_class

from . import guards

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")


def _number(name: str, cast: type, default: float):
    """A numeric variable: unset or empty means the default; anything unreadable names itself."""
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number.")
    return value


# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-stockscanner-embedded-default-do-not-use"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
if PRODUCTION and (problem := guards.weak_secret(SECRET_KEY, min_length=50)):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs DJANGO_SECRET_KEY set to a random value of 50+ "
        f"characters; this one {problem}."
    )

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when DJANGO_ENV=production.")

# Proxies of ours in front of the app (nginx: 1). Only through them are X-Forwarded-For
# (the client address: limits, lockouts) and X-Forwarded-Proto (https) believed.
TRUSTED_PROXY_COUNT = _number("TRUSTED_PROXY_COUNT", int, 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must not be negative.")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ENV=production needs DJANGO_ALLOWED_HOSTS.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "axes",  # failed admin logins: lockout per IP and per username
    "rest_framework",
    "rest_framework_api_key",  # its AbstractAPIKey is stocks.APIKey's base
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "stocks.apps.StocksConfig",
]

MIDDLEWARE = [
    "stocks.middleware.RequestIdMiddleware",
    # Above every layer that can answer an error on its own (WhiteNoise, Security, CSRF,
    # ConditionalGet, the probes), so each such answer gets the one JSON error body.
    "stocks.middleware.JsonErrorMiddleware",
    "stocks.middleware.RequestMetricsMiddleware",
    "stocks.middleware.DatabaseOutageMiddleware",
    "stocks.middleware.HealthProbeMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above ConditionalGetMiddleware: its 304s keep the caller's limit headers.
    "stocks.access.throttles.RateLimitHeadersMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "stocks.middleware.ConditionalGetMiddleware",  # Django's, with no ETag on errors
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's user and messages, skipped under /api/, where nobody logs in
    # (stocks.middleware.OffTheApi).
    "stocks.middleware.AuthenticationMiddleware",
    "stocks.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

# The admin's path ("admin/"); empty switches the admin off (its URLs answer 404).
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
if ADMIN_URL and (not ADMIN_URL.endswith("/") or ADMIN_URL.startswith("/")):
    raise ImproperlyConfigured("ADMIN_URL must look like 'path/' (no leading slash), or be empty.")
if ADMIN_URL.startswith(("api/", "health/", "system/", "static/", "metrics/")):
    raise ImproperlyConfigured("ADMIN_URL must not share a path with the API or the probes.")

# Failed admin logins (django-axes): after AXES_FAILURE_LIMIT failures from one client
# address, or for one username, that address or username is locked out for
# AXES_COOLOFF_MINUTES, before any password is hashed (240 ms of CPU each).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _number("AXES_FAILURE_LIMIT", int, 5)
AXES_COOLOFF_TIME = timedelta(minutes=_number("AXES_COOLOFF_MINUTES", int, 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "stocks.access.clients.client_address"  # TRUSTED_PROXY_COUNT
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

ROOT_URLCONF = "stockscanner_django.urls"
WSGI_APPLICATION = "stockscanner_django.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------
DATABASES = {
    # Unset or empty: the embedded SQLite file.
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
_db = DATABASES["default"]
_db["CONN_MAX_AGE"] = _number("DATABASE_CONN_MAX_AGE", int, 60)
_db["CONN_HEALTH_CHECKS"] = True
# A dead database must fail fast, so /health/ can answer 503 in time for the load balancer.
DATABASE_CONNECT_TIMEOUT = _number("DATABASE_CONNECT_TIMEOUT", int, 3)
# While the database is unreachable: safe requests are retried this many times, with
# exponential backoff from DATABASE_RETRY_BACKOFF_SECONDS, then answered 503 + Retry-After.
DATABASE_READ_RETRIES = _number("DATABASE_READ_RETRIES", int, 2)
DATABASE_RETRY_BACKOFF_SECONDS = _number("DATABASE_RETRY_BACKOFF_SECONDS", float, 0.1)
DATABASE_RETRY_AFTER_SECONDS = _number("DATABASE_RETRY_AFTER_SECONDS", int, 5)
# A web request's round trip to a MySQL/PostgreSQL server is cut after this long (0: never),
# and the process stops asking until the server answers a probe (stocks/database_guard.py).
# Commands and Celery tasks are not bounded.
DATABASE_QUERY_TIMEOUT_SECONDS = _number("DATABASE_QUERY_TIMEOUT_SECONDS", float, 1.0)
if DATABASE_QUERY_TIMEOUT_SECONDS < 0:
    raise ImproperlyConfigured("DATABASE_QUERY_TIMEOUT_SECONDS must be 0 (off) or more.")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while a writer commits; IMMEDIATE takes the write lock at
    # BEGIN so concurrent writers queue on the busy timeout instead of failing. Under WAL
    # a kept connection blocks no writer, so each worker keeps its own (DATABASE_CONN_MAX_AGE)
    # instead of opening and closing one per request (1 ms of a 10 ms list, measured).
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db["ENGINE"] = "stocks.db_backends.mysql"  # Django's, with bounded waits
    _db.setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "connect_timeout": DATABASE_CONNECT_TIMEOUT,
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
    )
    _db.setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["ENGINE"] = "stocks.db_backends.postgresql"  # Django's, with bounded waits
    _db.setdefault("OPTIONS", {}).update({"connect_timeout": DATABASE_CONNECT_TIMEOUT})

# ------------------------------------------------------------------------------
# Cache (and, later, throttle counters)
# ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT = _number("REDIS_SOCKET_TIMEOUT", float, 0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "stockscanner",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A Redis that hangs costs each call this much at most (it answers in well
                # under a millisecond when it is well).
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                # Redis down must not take the API down: reads miss, writes are dropped.
                "IGNORE_EXCEPTIONS": True,
                # A Redis that hangs is not asked again for a while (stocks/redis_breaker.py).
                "CONNECTION_POOL_KWARGS": {"connection_class": connection_class(REDIS_URL)},
            },
        }
    }
    # Each ignored error is logged on this logger, which keeps one line a minute with a
    # count of the others (stocks.logging.OncePerInterval), not a traceback per call.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "stocks.cache_errors"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "stockscanner",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }


# ------------------------------------------------------------------------------
# Market data and freshness
# ------------------------------------------------------------------------------
# simulated (no network), csv (files in MARKET_DATA_CSV_DIR), massive, yahoo.
MARKET_DATA_PROVIDER = env.str("MARKET_DATA_PROVIDER", default="") or "simulated"
if MARKET_DATA_PROVIDER not in PROVIDERS:
    raise ImproperlyConfigured(
        f"MARKET_DATA_PROVIDER={MARKET_DATA_PROVIDER!r}: one of {', '.join(PROVIDERS)}."
    )
MARKET_DATA_CSV_DIR = env.str("MARKET_DATA_CSV_DIR", default="") or str(BASE_DIR / "market_data")
MASSIVE_API_URL = env.str("MASSIVE_API_URL", default="") or "https://api.massive.com"
MASSIVE_API_KEY = env.str("MASSIVE_API_KEY", default="")
if MARKET_DATA_PROVIDER == "massive" and not MASSIVE_API_KEY:
    raise ImproperlyConfigured("MARKET_DATA_PROVIDER=massive needs MASSIVE_API_KEY.")
# Reference-ticker types kept as listings (CS common stock, ADRC ADR, ETF, ...).
MASSIVE_TICKER_TYPES = env.list("MASSIVE_TICKER_TYPES", default=[]) or ["CS", "ADRC"]
# Requests a minute to the provider, for every worker together (a token bucket in Redis);
# 0: no limit. 5 is Massive's free plan. PROVIDER_BURST: requests that may go at once.
PROVIDER_REQUESTS_PER_MINUTE = _number("PROVIDER_REQUESTS_PER_MINUTE", float, 5.0)
PROVIDER_BURST = _number("PROVIDER_BURST", int, 1)
# The longest a call waits for its token; past it the task stops and resumes next run.
PROVIDER_RATE_WAIT_MAX_SECONDS = _number("PROVIDER_RATE_WAIT_MAX_SECONDS", float, 60.0)
PROVIDER_CONNECT_TIMEOUT_SECONDS = _number("PROVIDER_CONNECT_TIMEOUT_SECONDS", float, 5.0)
PROVIDER_TIMEOUT_SECONDS = _number("PROVIDER_TIMEOUT_SECONDS", float, 30.0)
PROVIDER_MAX_RESPONSE_BYTES = _number("PROVIDER_MAX_RESPONSE_BYTES", int, 64 * 1024 * 1024)
# Tries of one request, and the exponential backoff between them (with jitter).
PROVIDER_MAX_ATTEMPTS = _number("PROVIDER_MAX_ATTEMPTS", int, 4)
PROVIDER_BACKOFF_SECONDS = _number("PROVIDER_BACKOFF_SECONDS", float, 2.0)
PROVIDER_BACKOFF_MAX_SECONDS = _number("PROVIDER_BACKOFF_MAX_SECONDS", float, 30.0)
# The circuit breaker: open after this many failed calls in a row, for this long.
PROVIDER_BREAKER_FAILURES = _number("PROVIDER_BREAKER_FAILURES", int, 5)
PROVIDER_BREAKER_COOLDOWN_SECONDS = _number("PROVIDER_BREAKER_COOLDOWN_SECONDS", int, 300)
# A listing that would deactivate more than this share of the active stocks is refused.
LISTING_MAX_DEACTIVATED_SHARE = _number("LISTING_MAX_DEACTIVATED_SHARE", float, 0.1)
# Daily bars older than this are purged; never fewer than the indicators' lookback (380).
BAR_RETENTION_DAYS = _number("BAR_RETENTION_DAYS", int, 1830)
for _name, _minimum in (
    ("PROVIDER_MAX_ATTEMPTS", 1), ("PROVIDER_BURST", 1), ("PROVIDER_BREAKER_FAILURES", 1),
    ("PROVIDER_BREAKER_COOLDOWN_SECONDS", 1), ("BAR_RETENTION_DAYS", 1),
):  # fmt: skip
    if globals()[_name] < _minimum:
        raise ImproperlyConfigured(f"{_name} must be at least {_minimum}.")
if PROVIDER_REQUESTS_PER_MINUTE < 0:
    raise ImproperlyConfigured("PROVIDER_REQUESTS_PER_MINUTE must not be negative.")
if not 0 <= LISTING_MAX_DEACTIVATED_SHARE <= 1:
    raise ImproperlyConfigured("LISTING_MAX_DEACTIVATED_SHARE must be between 0 and 1.")
MARKET_DATA_REFRESH_SECONDS = _number("MARKET_DATA_REFRESH_SECONDS", int, 300)
MARKET_DATA_STALE_GRACE_SECONDS = _number("MARKET_DATA_STALE_GRACE_SECONDS", int, 600)
MARKET_TIMEZONE = env.str("MARKET_TIMEZONE", default="America/New_York")
MARKET_OPEN_TIME = env.str("MARKET_OPEN_TIME", default="09:30")
MARKET_CLOSE_TIME = env.str("MARKET_CLOSE_TIME", default="16:00")
# Empty means the NYSE's rules (stocks/nyse.py, years from 1998), early closes included.
MARKET_HOLIDAYS = env.list("MARKET_HOLIDAYS", default=[])
# Days the session ends at MARKET_EARLY_CLOSE_TIME. Empty: the NYSE's early closes when
# MARKET_HOLIDAYS is empty too, else none.
MARKET_EARLY_CLOSES = env.list("MARKET_EARLY_CLOSES", default=[])
MARKET_EARLY_CLOSE_TIME = env.str("MARKET_EARLY_CLOSE_TIME", default="13:00")

# ------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------
# Unset or empty (as in .env.example): the cache's Redis, if any.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
# No broker configured: the embedded default runs tasks inline.
CELERY_TASK_ALWAYS_EAGER = (
    env.bool("CELERY_TASK_ALWAYS_EAGER")
    if env.str("CELERY_TASK_ALWAYS_EAGER", default="")
    else not CELERY_BROKER_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# JSON only: a pickle from the broker would be code run by the worker.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# A task's message is acknowledged when it has run, not when it is received: a worker
# killed mid-task leaves it on the broker, delivered again to another worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _number("CELERY_TASK_SOFT_TIME_LIMIT", int, 240)
CELERY_TASK_TIME_LIMIT = _number("CELERY_TASK_TIME_LIMIT", int, 300)
# Redis broker: a message not acknowledged this long after delivery is delivered again
# (how a killed worker's task comes back). Longer than any task may run, or a running
# task would be handed to a second worker.
CELERY_VISIBILITY_TIMEOUT_SECONDS = _number("CELERY_VISIBILITY_TIMEOUT_SECONDS", int, 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS}
# How long a refresh's lock lives without its holder renewing it (every third of it):
# a killed worker's lock is gone this long after, well before its task is delivered again.
TASK_LOCK_SECONDS = _number("TASK_LOCK_SECONDS", int, 60)
if not CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "Celery limits must grow: CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < "
        "CELERY_VISIBILITY_TIMEOUT_SECONDS."
    )
if not 0 < TASK_LOCK_SECONDS < CELERY_VISIBILITY_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("TASK_LOCK_SECONDS must be under CELERY_VISIBILITY_TIMEOUT_SECONDS.")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the workers log through LOGGING
CELERY_TIMEZONE = "UTC"
# Where beat keeps when each entry last ran (not in the project: it may be read-only).
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="") or str(
    Path(tempfile.gettempdir()) / "stockscanner-celerybeat-schedule"
)


def _schedule(variable: str, default: str):
    """
    A beat entry's schedule from the environment: seconds ("300") or a five-field cron line
    in UTC ("30 22 * * mon-fri").
    """
    value = env.str(variable, default="") or default
    fields = value.split()
    if len(fields) == 1 and fields[0].isdigit() and int(fields[0]) > 0:
        return float(fields[0])
    if len(fields) == 5:
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        try:
            return crontab(minute, hour, day_of_week, day_of_month, month_of_year)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{variable}={value!r}: {exc}") from exc
    raise ImproperlyConfigured(
        f"{variable}={value!r} is neither a number of seconds nor a five-field cron line."
    )


# Each beat entry: its task in stocks/tasks.py, the variable holding its schedule, the default.
BEAT_TASKS = {
    # Every few minutes; does nothing while the market is closed and the closes are stored.
    "refresh-quotes": ("refresh_quotes", "BEAT_QUOTES", str(MARKET_DATA_REFRESH_SECONDS)),
    # After the US close (22:30 UTC is after 16:00 New York in summer and winter time).
    "refresh-daily-bars": ("refresh_daily_bars", "BEAT_DAILY_BARS", "30 22 * * mon-fri"),
    # Before the pre-market (11:00 UTC is 6 or 7 AM New York).
    "refresh-listings": ("refresh_listings", "BEAT_LISTINGS", "0 11 * * mon-fri"),
    "recompute-indicators": ("recompute_indicators", "BEAT_INDICATORS", "0 23 * * mon-fri"),
    "publish-market": ("publish_market", "BEAT_PUBLISH_MARKET", "60"),
    "warm-cache": ("warm_cache", "BEAT_WARM_CACHE", "60"),
    "purge-bars": ("purge_old_bars", "BEAT_PURGE_BARS", "0 6 * * sun"),
}  # fmt: skip
CELERY_BEAT_SCHEDULE = {
    name: {"task": f"stocks.tasks.{task}", "schedule": _schedule(variable, default)}
    for name, (task, variable, default) in BEAT_TASKS.items()
}

# ------------------------------------------------------------------------------
# HTTP API
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["stocks.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "stocks.api.negotiation.RememberedContentNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "stocks.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

# Seconds each process remembers an API key's record (hash, plan, origins, revocation):
# how late a change made in another process applies (stocks/access/keys.py).
API_KEY_CACHE_SECONDS = _number("API_KEY_CACHE_SECONDS", float, 10.0)
if API_KEY_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("API_KEY_CACHE_SECONDS must not be negative.")

# Plans' limits on the public API (stocks/access/throttles.py). false: nobody is limited
# (for a private deployment; the tests switch them on where they are the subject).
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
# Anonymous callers are limited per client subnet (the address: TRUSTED_PROXY_COUNT).
# While the 1-minute load average per core is above this, anonymous limits are multiplied
# by ANON_OVERLOAD_FACTOR.
ANON_OVERLOAD_LOAD_PER_CORE = _number("ANON_OVERLOAD_LOAD_PER_CORE", float, 2.0)
ANON_OVERLOAD_FACTOR = _number("ANON_OVERLOAD_FACTOR", float, 0.5)
if not 0 < ANON_OVERLOAD_FACTOR <= 1:
    raise ImproperlyConfigured("ANON_OVERLOAD_FACTOR must be above 0 and at most 1.")

# The largest request body read (POST /api/stocks/screen/ needs about 10 KB for 500
# tickers; the admin's forms far less): a larger one is a 400 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

API_PAGE_SIZE = _number("API_PAGE_SIZE", int, 50)
API_MAX_PAGE_SIZE = _number("API_MAX_PAGE_SIZE", int, 500)
# A cursor goes on for this long after the data it was made on was replaced (a refresh),
# then it is a 400 cursor_expired (stocks/screen/paging.py).
CURSOR_MAX_AGE_SECONDS = _number("CURSOR_MAX_AGE_SECONDS", int, 1800)
if CURSOR_MAX_AGE_SECONDS < 1:
    raise ImproperlyConfigured("CURSOR_MAX_AGE_SECONDS must be at least 1.")

# ------------------------------------------------------------------------------
# Screen engine (stocks/screen): "numpy" screens an in-memory snapshot of every active
# stock, built once per data version; "sql" always asks the database (the reference).
# ------------------------------------------------------------------------------
SCREEN_ENGINE = env.str("SCREEN_ENGINE", default="numpy")
if SCREEN_ENGINE not in {"numpy", "sql"}:
    raise ImproperlyConfigured("SCREEN_ENGINE must be 'numpy' or 'sql'.")
# Share each version's snapshot through the cache, so one worker builds it and the others
# load it. Only worth it with a cache shared between processes (Redis).
# (Empty counts as unset, as docker-compose passes every .env line.)
SCREEN_SNAPSHOT_SHARED = (
    env.bool("SCREEN_SNAPSHOT_SHARED")
    if env.str("SCREEN_SNAPSHOT_SHARED", default="")
    else bool(REDIS_URL)
)
SCREEN_SNAPSHOT_TTL = _number("SCREEN_SNAPSHOT_TTL", int, 900)
SCREEN_SNAPSHOT_BUILD_LOCK_SECONDS = _number("SCREEN_SNAPSHOT_BUILD_LOCK_SECONDS", int, 60)

SPECTACULAR_SETTINGS = {
    "TITLE": "Stock Scanner API",
    "DESCRIPTION": "Stock screening data: screen, search, detail, history, market aggregates.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # UI assets come from drf-spectacular-sidecar (served by us, no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would fetch it from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_METHODS = ["GET", "OPTIONS", "HEAD", "POST"]  # POST: /api/stocks/screen/ only
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "X-Response-Time",
    "ETag",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
]
# The admin's one-time messages (a new API key among them) stay on the server, not in a
# readable cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CORS_ALLOW_HEADERS = [*default_headers, "x-api-key", "x-request-id", "if-none-match"]

# ------------------------------------------------------------------------------
# Static files (the API docs UI assets)
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
# collectstatic target in production; elsewhere WhiteNoise serves from the apps directly.
STATIC_ROOT = (
    env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")) if PRODUCTION else None
)
# Outside production WhiteNoise serves straight from the apps, no collectstatic needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# ------------------------------------------------------------------------------
# Security
# ------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    if TRUSTED_PROXY_COUNT > 0:  # a client's own X-Forwarded-Proto is never believed
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = _number("DJANGO_SECURE_HSTS_SECONDS", int, 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
    )
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)

# ------------------------------------------------------------------------------
# E-mail and admins (500s are mailed to ADMINS)
# ------------------------------------------------------------------------------
ADMINS = getaddresses(env.list("ADMINS", default=[]))
MANAGERS = ADMINS
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="stockscanner@localhost")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[Stock Scanner] ")
# At most one mail per error signature (exception type and code location) this often; the
# next says how many were not mailed meanwhile. 0 mails every error.
ERROR_EMAIL_INTERVAL = _number("ERROR_EMAIL_INTERVAL", int, 600)
if ERROR_EMAIL_INTERVAL < 0:
    raise ImproperlyConfigured("ERROR_EMAIL_INTERVAL must be 0 (every error) or more.")

# ------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FILE = env.str("LOG_FILE", default="")
SLOW_REQUEST_MS = _number("SLOW_REQUEST_MS", int, 1000)
SLOW_QUERY_MS = _number("SLOW_QUERY_MS", int, 200)


# ------------------------------------------------------------------------------
# Health checks (stocks/health)
# ------------------------------------------------------------------------------
def _bearer_token(name: str) -> str:
    """An operator bearer token: empty (off), or in production a random 32+ characters."""
    token = env.str(name, default="")
    if PRODUCTION and token and (problem := guards.weak_secret(token, min_length=32)):
        raise ImproperlyConfigured(
            f"{name} must be a random value of 32+ characters; it {problem}."
        )
    return token


HEALTH_TOKEN = _bearer_token("HEALTH_TOKEN")
HEALTH_CHECK_TIMEOUT_SECONDS = _number("HEALTH_CHECK_TIMEOUT_SECONDS", float, 1.5)
HEALTH_DISK_MIN_FREE_PERCENT = _number("HEALTH_DISK_MIN_FREE_PERCENT", float, 10.0)
HEALTH_DISK_CRITICAL_FREE_PERCENT = _number("HEALTH_DISK_CRITICAL_FREE_PERCENT", float, 3.0)
HEALTH_MEMORY_MAX_PERCENT = _number("HEALTH_MEMORY_MAX_PERCENT", float, 90.0)
HEALTH_MEMORY_CRITICAL_PERCENT = _number("HEALTH_MEMORY_CRITICAL_PERCENT", float, 98.0)
HEALTH_LOAD_MAX_PER_CPU = _number("HEALTH_LOAD_MAX_PER_CPU", float, 2.0)


# ------------------------------------------------------------------------------
# Prometheus metrics (stocks/metrics.py, GET /metrics)
# ------------------------------------------------------------------------------
# /metrics is closed unless the caller sends Authorization: Bearer $METRICS_TOKEN or connects
# from one of METRICS_ALLOWED_NETWORKS (the connecting address, never X-Forwarded-For).
METRICS_TOKEN = _bearer_token("METRICS_TOKEN")
try:
    METRICS_ALLOWED_NETWORKS = tuple(
        ipaddress.ip_network(network, strict=False)
        for network in env.list("METRICS_ALLOWED_NETWORKS", default=[])
        if network.strip()
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from None
# prometheus-client's multiprocess mode is gunicorn's alone (gunicorn.conf.py, METRICS_DIR):
# a PROMETHEUS_MULTIPROC_DIR another process inherits (a Celery worker, manage.py) is dropped
# before prometheus-client reads it, so that process's figures never join the server's.
if metrics_dir.current() is None:
    os.environ.pop(metrics_dir.VARIABLE, None)

# gunicorn reads these too (gunicorn.conf.py); /system/memory/ reports them.
GUNICORN = {
    "workers": _number("WEB_CONCURRENCY", int, (os.cpu_count() or 1) * 2 + 1),
    "threads": _number("GUNICORN_THREADS", int, 1),
    "timeout": _number("GUNICORN_TIMEOUT", int, 30),
    "graceful_timeout": _number("GUNICORN_GRACEFUL_TIMEOUT", int, 30),
    "max_requests": _number("GUNICORN_MAX_REQUESTS", int, 100_000),
    "max_requests_jitter": _number("GUNICORN_MAX_REQUESTS_JITTER", int, 10_000),
}

_handlers = {
    "console": {
        "class": "logging.StreamHandler",
        "formatter": LOG_FORMAT,
        # one_line: no traceback for a bad Host; task: the Celery task of a worker's line.
        "filters": ["request_id", "task", "one_line"],
    },
    "mail_admins": {
        # Django's AdminEmailHandler, once per error signature per ERROR_EMAIL_INTERVAL.
        "class": "stocks.alerts.ThrottledAdminEmailHandler",
        "level": "ERROR",
        "filters": ["require_debug_false"],
    },
}
if LOG_FILE:
    _handlers["file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": LOG_FILE,
        "formatter": LOG_FORMAT,
        "filters": ["request_id", "task", "one_line"],
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "stocks.logging.RequestIdFilter"},
        "task": {"()": "stocks.logging.TaskFilter"},
        "one_line": {"()": "stocks.logging.OneLine"},
        # One instance per logger that uses it: each counts its own.
        "once_a_minute": {"()": "stocks.logging.OncePerInterval", "seconds": 60},
        "database_once_a_minute": {"()": "stocks.logging.OncePerInterval", "seconds": 60},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(task)s%(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            # "task" is the text format's prefix; JSON has task_name and task_id.
            "reserved_attrs": [*RESERVED_ATTRS, "task"],
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(task_name)s "
            "%(task_id)s %(message)s",
        },
    },
    "handlers": _handlers,
    "root": {"handlers": [h for h in _handlers if h != "mail_admins"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers on "django" (its own mail_admins among them),
        # which would otherwise mail every 500 twice once django.request propagates.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"handlers": ["mail_admins"], "level": "ERROR", "propagate": True},
        # Redis errors the cache ignores: one line a minute, with a count.
        "stocks.cache_errors": {"filters": ["once_a_minute"], "propagate": True},
        # Requests answered 503 while the database is gone: the same.
        "stocks.database_errors": {"filters": ["database_once_a_minute"], "propagate": True},
    },
}
if LOG_FORMAT not in LOGGING["formatters"]:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'.")

# ------------------------------------------------------------------------------
# Response cache (stocks/caching.py; README "Response cache")
# ------------------------------------------------------------------------------
# How long a process trusts the data version it last read (stocks/data_version.py): the
# delay before it sees another process's change. 0 asks the cache on every request.
DATA_VERSION_CHECK_SECONDS = _number("DATA_VERSION_CHECK_SECONDS", float, 1.0)
if DATA_VERSION_CHECK_SECONDS < 0:
    raise ImproperlyConfigured("DATA_VERSION_CHECK_SECONDS must not be negative.")
# false: every request renders (for debugging); nothing is read or stored.
RESPONSE_CACHE_ENABLED = env.bool("RESPONSE_CACHE_ENABLED", default=True)
# Seconds a rendered response is kept. Changes to the data do not wait for it: the data
# version in the key makes the entry stale at once.
RESPONSE_CACHE_TIMEOUT = _number("RESPONSE_CACHE_TIMEOUT", int, 60)
# The same for realtime quotes, which also change without an ingest.
RESPONSE_CACHE_REALTIME_TIMEOUT = _number("RESPONSE_CACHE_REALTIME_TIMEOUT", int, 5)
# Bytes of recent answers each process also keeps in its own memory (0: none).
RESPONSE_CACHE_LOCAL_BYTES = _number("RESPONSE_CACHE_LOCAL_BYTES", int, 4 * 1024 * 1024)
# How long the one request computing a missing entry holds its lock at most, and how long
# concurrent requests for the same entry wait for it before rendering themselves.
# Warming (stocks/services/warming.py): the public scheme and host the answers are
# rendered for, the hot paths, and the market aggregates computed after each refresh.
# Default: production's first allowed host over https, else http://localhost.
CACHE_WARM_BASE_URL = env.str("CACHE_WARM_BASE_URL", default="") or (
    f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
    if PRODUCTION and ALLOWED_HOSTS[0].lstrip(".") not in ("", "*")
    else "http://localhost"
)
CACHE_WARM_PATHS = env.list("CACHE_WARM_PATHS", default=["/api/stocks/", "/api/stocks/fields/"])
MARKET_AGGREGATE_PATHS = ["/api/market/sectors/", "/api/market/movers/"]
RESPONSE_CACHE_LOCK_SECONDS = _number("RESPONSE_CACHE_LOCK_SECONDS", int, 5)
RESPONSE_CACHE_WAIT_SECONDS = _number("RESPONSE_CACHE_WAIT_SECONDS", float, 2.0)
if min(RESPONSE_CACHE_TIMEOUT, RESPONSE_CACHE_REALTIME_TIMEOUT, RESPONSE_CACHE_LOCK_SECONDS) < 1:
    raise ImproperlyConfigured(
        "RESPONSE_CACHE_TIMEOUT, RESPONSE_CACHE_REALTIME_TIMEOUT and "
        "RESPONSE_CACHE_LOCK_SECONDS must be at least 1 second."
    )
if RESPONSE_CACHE_WAIT_SECONDS < 0:
    raise ImproperlyConfigured("RESPONSE_CACHE_WAIT_SECONDS must not be negative.")
