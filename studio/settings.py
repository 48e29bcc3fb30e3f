"""Castboard settings, read from the environment (DESIGN §9).

With nothing set, the studio runs embedded: SQLite, a filesystem Celery
broker and media, all under `var/`. Production sets DATABASE_URL,
CELERY_BROKER_URL, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from botocore.config import Config as _BotoConfig
from django.core.exceptions import ImproperlyConfigured

from studio.env import email_settings, env_bool, env_int, env_list, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR") or BASE_DIR / "var")
load_env_file(VAR_DIR / "castboard.env")

DEBUG = env_bool("DJANGO_DEBUG", False)

_LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
_DEV_SECRET_KEY = "castboard-development-only-key-never-use-this-one-in-production-0123456789"  # noqa: S105 - used only with debug on

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if DEBUG:
    SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or _LOCAL_HOSTS
    _public = [h for h in ALLOWED_HOSTS if h.lstrip(".") not in _LOCAL_HOSTS]
    if _public:
        raise ImproperlyConfigured(
            f"DJANGO_DEBUG is on while DJANGO_ALLOWED_HOSTS names {', '.join(_public)}: "
            "debug is for local development only. Set DJANGO_DEBUG=false."
        )
else:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (at least 50 random characters). "
            "For a local install, run `make run` once: it writes var/castboard.env with DJANGO_DEBUG=true."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is off (comma-separated host names)."
        )

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "studio",
    "characters",
    "boards",
    "workers",
    "reviews",
]

MIDDLEWARE = [
    "studio.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "studio.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything parses the body (the upload guard, the CSRF check), and
    # after authentication, whose user decides which size limit applies.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "reviews.guest.GuestScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "studio.middleware.RequestBodyLimitMiddleware",
    "studio.middleware.TooManyFilesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.middleware.ErrorPageMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.media",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- database ---------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'castboard.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web and worker share one file: WAL lets readers and one writer overlap,
    # IMMEDIATE transactions take the write lock up front instead of failing
    # half-way with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (not memory) so worker processes started by integration tests see it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "studio.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project_list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- caches -----------------------------------------------------------------
# Per process. "cards": the board page's panel cards, keyed by what each shows
# (boards/cards.py), so an entry is never stale, only unused; a few thousand
# cards of a few kB each.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "cards": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "cards",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

# --- files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "studio" / "static"]
MEDIA_ROOT = Path(env_str("STUDIO_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
# Where every stored file lives: "local" (MEDIA_ROOT) or "s3" (an
# S3-compatible bucket through django-storages, configured by its own
# AWS_* names). The bucket stays private: no ACL is set on objects, and
# members receive files only through the permission-checked media view.
STUDIO_STORAGE = env_str("STUDIO_STORAGE", "local").lower()
if STUDIO_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured(f"STUDIO_STORAGE={STUDIO_STORAGE!r}: use local or s3.")
# How the media view hands a file over after its permission check: "proxy"
# (the studio streams the bytes) or "presigned" (a redirect to a link on the
# bucket valid for STUDIO_PRESIGNED_TTL_S seconds; s3 only).
STUDIO_MEDIA_DELIVERY = env_str("STUDIO_MEDIA_DELIVERY", "proxy").lower()
if STUDIO_MEDIA_DELIVERY not in ("proxy", "presigned"):
    raise ImproperlyConfigured(
        f"STUDIO_MEDIA_DELIVERY={STUDIO_MEDIA_DELIVERY!r}: use proxy or presigned."
    )
if STUDIO_MEDIA_DELIVERY == "presigned" and STUDIO_STORAGE != "s3":
    raise ImproperlyConfigured(
        "STUDIO_MEDIA_DELIVERY=presigned needs STUDIO_STORAGE=s3 (local files are always proxied)."
    )
STUDIO_PRESIGNED_TTL_S = env_int("STUDIO_PRESIGNED_TTL_S", 300, minimum=10)
_DEFAULT_STORAGE = "django.core.files.storage.FileSystemStorage"
# Read whatever STUDIO_STORAGE says: `migrate_media --to s3` copies local
# files into this bucket before the studio is switched over to it.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
AWS_S3_CUSTOM_DOMAIN = env_str("AWS_S3_CUSTOM_DOMAIN") or None
# Credentials: these two, or boto3's own chain (instance role, profile) when unset.
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = True
AWS_QUERYSTRING_EXPIRE = STUDIO_PRESIGNED_TTL_S
# Names are random: no existence check (one request fewer per write).
AWS_S3_FILE_OVERWRITE = True
# A bucket that stops answering fails a request within seconds (a 503 from
# the media view, a retried store) instead of holding a worker for minutes.
AWS_S3_CLIENT_CONFIG = _BotoConfig(
    connect_timeout=env_int("STUDIO_STORAGE_TIMEOUT_S", 5, minimum=1),
    read_timeout=env_int("STUDIO_STORAGE_TIMEOUT_S", 5, minimum=1) * 6,
    retries={"max_attempts": 2, "mode": "standard"},
    # Presigned links are signed with version 4, which every S3-compatible store accepts.
    signature_version="s3v4",
)
if STUDIO_STORAGE == "s3":
    _DEFAULT_STORAGE = "studio.bucket.BucketStorage"
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("STUDIO_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
STORAGES = {
    "default": {"BACKEND": _DEFAULT_STORAGE},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# How the permission-checked media view hands bytes over: "" (Django streams
# them), "nginx" (X-Accel-Redirect to STUDIO_MEDIA_ACCEL_PREFIX) or
# "sendfile" (X-Sendfile with the absolute path, Apache / lighttpd).
STUDIO_MEDIA_ACCEL = env_str("STUDIO_MEDIA_ACCEL")
STUDIO_MEDIA_ACCEL_PREFIX = env_str("STUDIO_MEDIA_ACCEL_PREFIX", "/protected-media/")
if STUDIO_MEDIA_ACCEL not in ("", "nginx", "sendfile"):
    raise ImproperlyConfigured("STUDIO_MEDIA_ACCEL must be empty, 'nginx' or 'sendfile'.")
if STUDIO_MEDIA_ACCEL and STUDIO_STORAGE != "local":
    raise ImproperlyConfigured(
        "STUDIO_MEDIA_ACCEL serves files from a local folder; with STUDIO_STORAGE=s3 leave it "
        "empty and set STUDIO_MEDIA_DELIVERY=presigned to take file traffic off the studio."
    )

# Uploads are read in full by Pillow anyway; keep Django's request cap just
# above the per-file limit times the files allowed in one request.
STUDIO_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
STUDIO_UPLOAD_MAX_PIXELS = 40_000_000
STUDIO_UPLOAD_MAX_FILES = 12
# One request decodes at most this many pixels of uploads (three 33 MP images,
# or a dozen phone photos), so a batch of huge images cannot hold a web worker.
STUDIO_UPLOAD_MAX_REQUEST_PIXELS = env_int(
    "STUDIO_UPLOAD_MAX_REQUEST_PIXELS", 100_000_000, minimum=STUDIO_UPLOAD_MAX_PIXELS
)
# Request bodies larger than these are refused from their Content-Length,
# before being read: signed-in members (uploads) and anonymous callers (forms).
# Set the front server's limit (nginx client_max_body_size) to the first.
STUDIO_MAX_REQUEST_BYTES = env_int("STUDIO_MAX_REQUEST_BYTES", 100 * 1024 * 1024, minimum=1024)
STUDIO_MAX_ANONYMOUS_REQUEST_BYTES = env_int(
    "STUDIO_MAX_ANONYMOUS_REQUEST_BYTES", 256 * 1024, minimum=1024
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = STUDIO_UPLOAD_MAX_FILES

# --- security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Failed log-ins lock an account or an address for a sliding window (studio.throttle).
AUTHENTICATION_BACKENDS = ["studio.throttle.ThrottledModelBackend"]
STUDIO_LOGIN_MAX_FAILURES_ACCOUNT = env_int("STUDIO_LOGIN_MAX_FAILURES_ACCOUNT", 5, minimum=1)
STUDIO_LOGIN_MAX_FAILURES_ADDRESS = env_int("STUDIO_LOGIN_MAX_FAILURES_ADDRESS", 20, minimum=1)
STUDIO_LOGIN_WINDOW_S = env_int("STUDIO_LOGIN_WINDOW_S", 15 * 60, minimum=60)
# Password reset mail per email address typed / per caller address within the window.
STUDIO_RESET_MAX_EMAIL = env_int("STUDIO_RESET_MAX_EMAIL", 3, minimum=1)
STUDIO_RESET_MAX_ADDRESS = env_int("STUDIO_RESET_MAX_ADDRESS", 10, minimum=1)
STUDIO_RESET_WINDOW_S = env_int("STUDIO_RESET_WINDOW_S", 60 * 60, minimum=60)
# Only behind a proxy that appends the client address: otherwise anyone could
# send the header and spread their failures over made-up addresses.
STUDIO_TRUST_X_FORWARDED_FOR = env_bool("STUDIO_TRUST_X_FORWARDED_FOR", False)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "queue"
    for _folder in ("messages", "processed", "control"):
        (_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "data_folder_in": str(_queue / "messages"),
        "data_folder_out": str(_queue / "messages"),
        "processed_folder": str(_queue / "processed"),
        # Broadcast (worker control) messages; the default is ./control in the working directory.
        "control_folder": str(_queue / "control"),
        "store_processed": False,
    }
else:
    # Above every countdown and retry delay we use, or Redis would hand an
    # unacknowledged, not-yet-due message to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Generation tasks mostly wait on the provider, the database and the disk, so
# a worker runs two processes per CPU by default (Celery's own default is one).
CELERY_WORKER_CONCURRENCY = env_int(
    "CELERY_WORKER_CONCURRENCY", min(8, 2 * (os.cpu_count() or 1)), minimum=1
)
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Reuse database connections across tasks; studio.celery drops unusable ones.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True

# --- generation -------------------------------------------------------------
STUDIO_BACKEND = env_str("STUDIO_BACKEND", "sketch")
BFL_API_KEY = env_str("BFL_API_KEY")
BFL_BASE_URL = env_str("BFL_BASE_URL", "https://api.bfl.ai").rstrip("/")
BFL_MODEL = env_str("BFL_MODEL", "flux-2-pro")
# Regional delivery hosts are all under bfl.ai; the blob storage host is reported but
# unconfirmed. Operators extend the list with BFL_RESULT_HOSTS as the provider changes.
BFL_RESULT_HOSTS = env_list("BFL_RESULT_HOSTS", ["*.bfl.ai", "bfldeliverysc.blob.core.windows.net"])
BFL_MAX_ACTIVE = env_int("BFL_MAX_ACTIVE", 24, minimum=1)
# Origins (scheme://host[:port]) besides BFL_BASE_URL where polling URLs may
# point, compared exactly; the provider's own regional API hosts are built in.
BFL_POLLING_ORIGINS = env_list("BFL_POLLING_ORIGINS", [])
# With STUDIO_PUBLIC_URL, BFL posts each result to /hooks/bfl/ carrying this secret;
# polling goes on, slowly, as the fallback for a lost webhook.
BFL_WEBHOOK_SECRET = env_str("BFL_WEBHOOK_SECRET")
# fal.ai's queue API. Result URLs are on fal's media hosts.
FAL_KEY = env_str("FAL_KEY")
FAL_BASE_URL = env_str("FAL_BASE_URL", "https://queue.fal.run").rstrip("/")
FAL_MODEL = env_str("FAL_MODEL", "fal-ai/flux-2-pro")
FAL_RESULT_HOSTS = env_list("FAL_RESULT_HOSTS", ["fal.media", "*.fal.media"])
FAL_MAX_ACTIVE = env_int("FAL_MAX_ACTIVE", 8, minimum=1)
# Replicate's predictions API. Outputs are served from its delivery hosts for about an hour.
REPLICATE_API_TOKEN = env_str("REPLICATE_API_TOKEN")
REPLICATE_BASE_URL = env_str("REPLICATE_BASE_URL", "https://api.replicate.com").rstrip("/")
REPLICATE_MODEL = env_str("REPLICATE_MODEL", "black-forest-labs/flux-2-pro")
REPLICATE_RESULT_HOSTS = env_list(
    "REPLICATE_RESULT_HOSTS", ["replicate.delivery", "*.replicate.delivery"]
)
REPLICATE_MAX_ACTIVE = env_int("REPLICATE_MAX_ACTIVE", 8, minimum=1)
# The account's webhook signing secret (whsec_...): with STUDIO_PUBLIC_URL, Replicate
# posts each finished prediction to /hooks/replicate/, signed; polls slow down.
REPLICATE_WEBHOOK_SECRET = env_str("REPLICATE_WEBHOOK_SECRET")
# A self-hosted ComfyUI (trusted by URL). The workflow: a bundled one
# ("flux2-dev", "kontext-dev") or the path of an API-format JSON file.
COMFYUI_URL = env_str("COMFYUI_URL").rstrip("/")
COMFYUI_WORKFLOW = env_str("COMFYUI_WORKFLOW", "flux2-dev")
COMFYUI_MAX_ACTIVE = env_int("COMFYUI_MAX_ACTIVE", 1, minimum=1)
# A worker holding a job renews its lease; past it the sweeper takes the job back.
STUDIO_JOB_LEASE_S = env_int("STUDIO_JOB_LEASE_S", 120, minimum=1)
# A provider task not finished after this long becomes "needs review".
STUDIO_POLL_DEADLINE_S = env_int("STUDIO_POLL_DEADLINE_S", 600, minimum=5)
# Exported PDFs and ZIPs stay downloadable this long, then the hourly cleanup removes them.
STUDIO_EXPORT_TTL_HOURS = env_int("STUDIO_EXPORT_TTL_HOURS", 24, minimum=1)
STUDIO_MAX_SUBMIT_ATTEMPTS = env_int("STUDIO_MAX_SUBMIT_ATTEMPTS", 6, minimum=1)
# workers.apps checks STUDIO_BACKEND against the backends' own declarations at start-up.

# --- accounts, mail and notifications ----------------------------------------
# Mail leaves through a Celery task (studio.mail); the default prints it in
# the worker's console, as `make run` wants.
_email = email_settings(env_str("EMAIL_URL") or "console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Castboard <castboard@localhost>")
EMAIL_TIMEOUT = 20
# Links in mail start with this address (scheme and host, no trailing slash).
STUDIO_PUBLIC_URL = env_str("STUDIO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Anyone may create an account at /signup/ when on.
STUDIO_SIGNUP = env_bool("STUDIO_SIGNUP", False)
STUDIO_INVITATION_DAYS = env_int("STUDIO_INVITATION_DAYS", 7, minimum=1)
# A mail server that is down: retry after about base, twice, four times… as many seconds, at most this many times.
STUDIO_MAIL_RETRY_BASE_S = env_int("STUDIO_MAIL_RETRY_BASE_S", 30, minimum=1)
STUDIO_MAIL_MAX_RETRIES = env_int("STUDIO_MAIL_MAX_RETRIES", 10, minimum=0)
PASSWORD_RESET_TIMEOUT = 3 * 24 * 60 * 60
# --- operations -------------------------------------------------------------
# /metrics answers only a request with "Authorization: Bearer <token>"; unset, it is a 404.
STUDIO_METRICS_TOKEN = env_str("STUDIO_METRICS_TOKEN")
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- logging ----------------------------------------------------------------
STUDIO_LOG_FORMAT = env_str("STUDIO_LOG_FORMAT", "plain").lower()
if STUDIO_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"STUDIO_LOG_FORMAT={STUDIO_LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "studio.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "studio.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": STUDIO_LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO: with a worker at INFO (celery -l INFO) that is
        # a formatted line per poll and download, and signed result URLs in the log.
        "httpx": {"level": "WARNING"},
        # Django's own console handler (debug only) would print every line twice
        # beside the root handler; let its records reach the root handler alone.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# Error reports to Sentry (or a compatible service) when SENTRY_DSN is set.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    try:
        import sentry_sdk
    except ImportError:
        raise ImproperlyConfigured(
            "SENTRY_DSN is set but the sentry-sdk package is not installed: "
            "install the studio with its 'sentry' extra (pip install '.[sentry]')."
        ) from None
    # Django and Celery are found and hooked by the SDK itself; no personal data is sent.
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        send_default_pii=False,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
    )
