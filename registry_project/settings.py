"""Settings of the registry: one module, every value from the environment (docs/configuration.md lists them).

Values are read through the typed helpers of ``registry_project.config``; a malformed value stops the
start-up with a message naming the variable. Secrets that are not given are generated once and kept in
the data directory, so every process of one installation agrees on them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from registry_project import __version__
from registry_project.config import (
    ConfigurationError,
    SecretStore,
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_optional,
    env_size,
    env_slug,
    env_str,
    load_env_files,
    writable_directory,
)
from registry_project.server.forwarding import TrustedProxies

BASE_DIR = Path(__file__).resolve().parent.parent
load_env_files([Path(p) for p in env_list("ENV_FILE")] + [BASE_DIR / ".env", BASE_DIR / "variables.env"])


def _project_path(value: str) -> Path:
    """Relative paths in the configuration are relative to the project directory, not the caller's cwd."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else BASE_DIR / path


# Every process writes there (secrets, SQLite databases, incoming uploads): checked before anything is written.
DATA_DIR = writable_directory("DATA_DIR", _project_path(env_str("DATA_DIR", "var")))
SECRETS = SecretStore(DATA_DIR / "secrets.json")

REGISTRY_VERSION = __version__
ENVIRONMENT = env_str("ENVIRONMENT", "production")
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = SECRETS.get("SECRET_KEY", 50, minimum_length=32)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or ["localhost", "127.0.0.1", "[::1]"]

# --- Ports and protocol (read by gunicorn.conf.py as well) ---
PROTOCOL = env_choice("PROTOCOL", "http", {"http", "https"})
HTTP_PORT = env_int("HTTP_PORT", 8000, minimum=1, maximum=65535)
HTTPS_PORT = env_int("HTTPS_PORT", 8443, minimum=1, maximum=65535)

# --- Databases: the catalog here; one database per tenant is registered at run time ---
# The size past which a SQLite write-ahead log is checkpointed and truncated (framework/db/sqlite3/base.py).
DATABASE_WAL_LIMIT = env_size("DATABASE_WAL_LIMIT", "64M")
# SQLite's page cache per connection (SQLite's own default is 2 MB). At 1,000,000 items a list of ~900
# posted matches reads them and their numbers by index from tables of tens of MB: over HTTP, two ranges
# 22.3-23.0 -> 17.9-18.9 ms p95 at 16 MB (three alternating rounds; bench/README.md). Pages are allocated
# as they are read: the most a tenant takes is this size times its open connections.
DATABASE_CACHE_SIZE = env_size("DATABASE_CACHE_SIZE", "16M")
# The stored postings (``items_app.postings``) each worker process keeps between reads, for all tenants
# together, while no fold changes them; 0 keeps none.
POSTINGS_CACHE_SIZE = env_size("POSTINGS_CACHE_SIZE", "64M", zero_allowed=True)
# The default catalog lives in the data directory (``var/`` unless DATA_DIR says otherwise).
_database_url = env_str("DATABASE", f"sqlite:///{DATA_DIR / 'registry-catalog.sqlite3'}")
try:
    _catalog = dj_database_url.parse(_database_url, conn_max_age=0)
except Exception as exc:  # dj_database_url raises several types for a bad URL
    raise ConfigurationError(f"DATABASE: not a supported database URL ({exc})") from None
if _catalog["ENGINE"] == "django.db.backends.sqlite3":
    _catalog["NAME"] = str(_project_path(_catalog["NAME"]))
    Path(_catalog["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Django's backend, with writers served in the order they came (framework/db/write_queue.py).
    _catalog["ENGINE"] = "framework.db.sqlite3"
    _catalog["OPTIONS"] = {
        # WAL lets readers run beside a writer; IMMEDIATE takes the write lock up front, so a transaction
        # waits for it at its start instead of failing with "database is locked" half-way.
        # journal_size_limit: a log that grew with one large transaction shrinks back when it restarts.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        f"PRAGMA journal_size_limit={DATABASE_WAL_LIMIT}; PRAGMA cache_size=-{max(DATABASE_CACHE_SIZE // 1024, 1)};",
        "transaction_mode": "IMMEDIATE",
        # How long a write waits for its turn and the lock; past it, a 503 with Retry-After.
        "timeout": env_duration("DATABASE_LOCK_TIMEOUT", "20s"),
    }
    _catalog["TEST"] = {"NAME": str(Path(_catalog["NAME"]).with_name("test-catalog.sqlite3"))}
    # Opening a SQLite connection (file, PRAGMAs, Django's SQL functions) is paid twice per request (catalog
    # and tenant); kept connections skip that. A deleted tenant's database is never reached again
    # (its tenant no longer resolves), and its idle connections close when they reach this age.
    _catalog["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
elif _catalog["ENGINE"] == "django.db.backends.postgresql":
    _catalog["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    _catalog["CONN_HEALTH_CHECKS"] = True
    # A backstop for any query that runs away (a pathological filter, a lock wait): it is cancelled.
    _timeout = env_duration("DATABASE_STATEMENT_TIMEOUT", "30s")
    # The planner's price of a random page read against a sequential one (PostgreSQL's default, 4, models
    # spinning disks). A registry's working set is small rows found by index on SSD or in memory; at 4,
    # PostgreSQL scans every item to count the few shared with a user rather than look them up.
    _random_page_cost = env_float("DATABASE_RANDOM_PAGE_COST", 1.1, minimum=0.01, maximum=100)
    _prepared = env_bool("DATABASE_PREPARED_STATEMENTS", True)
    _catalog["OPTIONS"] = {
        "options": f"-c statement_timeout={_timeout * 1000} -c jit=off -c random_page_cost={_random_page_cost:g}",
        # Server-side parameters, and psycopg preparing a statement once it ran 5 times on a connection: the
        # server then parses it once, and plans it once when a generic plan costs no more than a custom one
        # (PostgreSQL's plan_cache_mode=auto), which takes a fifth off PostgreSQL's CPU per create
        # (bench/README.md). Django leaves prepare_threshold at None (never prepare) unless it is given here.
        # Off for a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
        "server_side_binding": _prepared,
        "prepare_threshold": 5 if _prepared else None,
    }
else:
    raise ConfigurationError("DATABASE: expected a sqlite:/// or postgres:// URL")
DATABASES = {"default": _catalog}
DATABASE_ROUTERS = ["tenants_app.routers.TenantRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

DEFAULT_TENANT = env_slug("DEFAULT_TENANT", "registry-default-tenant")
DEFAULT_TENANT_DATABASE = env_slug("DEFAULT_TENANT_DATABASE", "registry-default")
DEFAULT_TENANT_ADMIN_USERNAME = env_str("DEFAULT_TENANT_ADMIN_USERNAME", "admin")

# --- The sign-in page's tenant list and the demo tenant (docs/configuration.md) ---
# Which tenants exist is not for anonymous callers to learn unless the operator says so: off, the sign-in
# page offers no list and /v1/types/tenants answers 404.
SIGNIN_TENANT_LIST = env_bool("SIGNIN_TENANT_LIST", False)
# DEMO: a demo tenant made and filled by `bootstrap`, and /v1/demo for its admins (demo_app).
DEMO = env_bool("DEMO", False)
DEFAULT_TENANT_DEMO = env_slug("DEFAULT_TENANT_DEMO", "demo-tenant-registry")
if DEMO and DEFAULT_TENANT_DEMO == DEFAULT_TENANT:
    raise ConfigurationError("DEFAULT_TENANT_DEMO: must differ from DEFAULT_TENANT (a demo reset drops its tenant)")
# Every demo user's password: generated once unless given (and then as strong as any secret here).
DEMO_PASSWORD = SECRETS.get("DEMO_PASSWORD", 12, minimum_length=10) if DEMO else ""

# --- Tokens ---
API_TOKEN = SECRETS.get("API_TOKEN", 32, minimum_length=24)
JWT_SECRET = SECRETS.get("JWT_SECRET", 48, minimum_length=32)
JWT_EXPIRATIONTIME = env_duration("JWT_EXPIRATIONTIME", "30m")
JWT_RENEW_EXPIRATIONTIME = env_duration("JWT_RENEW_EXPIRATIONTIME", "50m")
if JWT_RENEW_EXPIRATIONTIME < JWT_EXPIRATIONTIME:
    raise ConfigurationError("JWT_RENEW_EXPIRATIONTIME: must not be shorter than JWT_EXPIRATIONTIME")

# --- Files: version blobs, content-addressed per tenant (framework/files/storage.py) ---
STORAGE = env_choice("STORAGE", "local", {"local", "s3"})
UPLOAD_PATH = _project_path(env_str("UPLOAD_PATH", str(DATA_DIR / "uploads")))
MAX_UPLOAD_SIZE = env_size("MAX_UPLOAD_SIZE", "10G")
# A JSON body (or the form fields of a page) is read into memory whole: at most 2.5 MiB, Django's default.
# That holds a batch create of 1,000 items with tags and metadata (~600 KB); a larger body is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
S3_PRESIGNED_DOWNLOADS = env_bool("S3_PRESIGNED_DOWNLOADS", False)
S3_PRESIGNED_EXPIRY = env_duration("S3_PRESIGNED_EXPIRY", "5m")
if STORAGE == "local":
    _blobs = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(UPLOAD_PATH), "allow_overwrite": True, "file_permissions_mode": 0o640},
    }
    # Uploads are written beside the blobs, so storing one is a rename, not a second copy.
    FILE_UPLOAD_TEMP_DIR = str(UPLOAD_PATH / ".incoming")
else:
    _bucket = env_str("AWS_STORAGE_BUCKET_NAME", "")
    if not _bucket:
        raise ConfigurationError("AWS_STORAGE_BUCKET_NAME: required when STORAGE=s3")
    _blobs = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
            "addressing_style": env_choice("AWS_S3_ADDRESSING_STYLE", "path", {"path", "virtual", "auto"}),
            "signature_version": "s3v4",
            "file_overwrite": True,
            "default_acl": None,
            "querystring_expire": S3_PRESIGNED_EXPIRY,
        },
    }
    FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "incoming")
writable_directory("UPLOAD_PATH" if STORAGE == "local" else "DATA_DIR", Path(FILE_UPLOAD_TEMP_DIR))
# Resumable uploads (tus 1.0, items_app/resumable.py): the bytes received so far, one file per upload, beside
# the other incoming files (a finished local upload becomes its blob by a hard link). Every server of one
# registry must see this folder (docs/uploads.md); an abandoned upload expires and the clean-up removes it.
RESUMABLE_UPLOAD_DIR = Path(FILE_UPLOAD_TEMP_DIR).parent / (".resumable" if STORAGE == "local" else "resumable")
UPLOAD_SESSION_EXPIRY = env_duration("UPLOAD_SESSION_EXPIRY", "24h")
UPLOAD_SESSIONS_PER_USER = env_int("UPLOAD_SESSIONS_PER_USER", 10, minimum=1)
# The item page sends a file in pieces of this size (a proxy's body limit must be larger).
UPLOAD_CHUNK_SIZE = env_size("UPLOAD_CHUNK_SIZE", "64M")
# Direct uploads (STORAGE=s3, items_app/resumable.py): clients send parts straight to the bucket, so its
# endpoint must be reachable from them; off unless the operator says so. Parts: 5 MiB or more (S3's rule).
S3_DIRECT_UPLOADS = env_bool("S3_DIRECT_UPLOADS", False)
DIRECT_UPLOAD_PART_SIZE = env_size("DIRECT_UPLOAD_PART_SIZE", "64M")
if DIRECT_UPLOAD_PART_SIZE < 5 * 1024 * 1024:
    raise ConfigurationError("DIRECT_UPLOAD_PART_SIZE: S3 takes parts of 5M or more")
# What a stored file says about itself (items_app/facts.py): read at upload, at most INSPECT_TIMEOUT
# seconds (then format "unknown"); off, uploads are stored without it (docs/uploads.md).
INSPECT_UPLOADS = env_bool("INSPECT_UPLOADS", True)
INSPECT_TIMEOUT = env_duration("INSPECT_TIMEOUT", "30s")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "blobs": _blobs,
}

# --- Cached reads: lists, totals and documents computed once per change (items_app/generation.py) ---
CACHE_READS = env_bool("CACHE_READS", True)

# --- Events: the outbox and feed (tenants_app.events, docs/events.md); pruned after this many days ---
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 30, minimum=1, maximum=36500)

# --- Webhooks: the delivery worker (webhooks_app, docs/webhooks.md) ---
# Hosts (names or addresses) deliveries may reach although the SSRF guard refuses their addresses.
WEBHOOK_ALLOWED_HOSTS = [host.strip().lower().strip("[]") for host in env_list("WEBHOOK_ALLOWED_HOSTS")]
WEBHOOK_RETRY_HOURS = env_float("WEBHOOK_RETRY_HOURS", 24.0, minimum=0.0001, maximum=24 * 30)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 10.0, minimum=0.01, maximum=3600)
WEBHOOK_POLL_SECONDS = env_float("WEBHOOK_POLL_SECONDS", 0.5, minimum=0.01, maximum=60)
# How long a worker's claim on an endpoint lasts unless renewed: longer than one attempt (15 s at most).
WEBHOOK_LEASE_SECONDS = env_float("WEBHOOK_LEASE_SECONDS", 60.0, minimum=0.5, maximum=3600)

# --- Audit log and login throttling ---
AUDIT_LOG_ENABLED = env_bool("LOG", True)
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1)
LOGIN_LOCKOUT = env_duration("LOGIN_LOCKOUT", "15m")
# API keys (tenants_app.keys): failed attempts per client address before 429s, and keys per user.
API_KEY_MAX_FAILURES_PER_ADDRESS = env_int("API_KEY_MAX_FAILURES_PER_ADDRESS", 20, minimum=1)
API_KEY_LOCKOUT = env_duration("API_KEY_LOCKOUT", "5m")
API_KEYS_PER_USER = env_int("API_KEYS_PER_USER", 100, minimum=1)

# --- Self-service password reset (tenants_app.passwords) and the e-mail that carries it ---
PASSWORD_RESET_TIMEOUT = env_duration("PASSWORD_RESET_TIMEOUT", "1h")  # Django's name; how long a token works
PASSWORD_RESETS_PER_ACCOUNT = env_int("PASSWORD_RESETS_PER_ACCOUNT", 3, minimum=1)  # per LOGIN_LOCKOUT window
# Password expiry (tenants_app.expiry): new users' validityPasswordDays; 0 = never (the original's default was
# 1092). The bound is tenants_app.models.MAX_PASSWORD_VALIDITY_DAYS.
DEFAULT_DAYS_VALIDITY_PASSWORD = env_int("DEFAULT_DAYS_VALIDITY_PASSWORD", 0, minimum=0, maximum=36500)
# SMTP as Django names it; the original registry's names (SMTP_SERVER, SMTP_USERNAME, SMTP_PASSWORD,
# SMTP_EMAIL, EMAIL_TAG: port 465, implicit TLS) are read where Django's are not set.
EMAIL_HOST = env_str("EMAIL_HOST", "") or env_str("SMTP_SERVER", "")
_seed_smtp = bool(EMAIL_HOST) and not env_optional("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 465 if _seed_smtp else 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or env_str("SMTP_USERNAME", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or env_str("SMTP_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", _seed_smtp)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ConfigurationError("EMAIL_USE_SSL and EMAIL_USE_TLS: choose one (465 speaks TLS at once, 587 STARTTLS)")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "") or env_str("SMTP_EMAIL", "") or "registry@localhost"
EMAIL_SUBJECT_PREFIX = env_str("EMAIL_SUBJECT_PREFIX", "") or env_str("EMAIL_TAG", "[Model Registry] ")
if not EMAIL_HOST:
    # No mail server: reset requests are answered as always, and nothing is sent (a console backend would
    # print the token into the log). The server's log says so once per request.
    EMAIL_BACKEND = "tenants_app.passwords.NoMailServer"

INSTALLED_APPS = [
    "framework.web.apps.RegistryAdminConfig",  # django.contrib.admin, scoped to the signed-in tenant
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "tenants_app",
    "folksonomy_app",
    "items_app",
    "models_app",
    "datasets_app",
    "algorithms_app",
    "webhooks_app",
    "seed_app",
    "demo_app",
]

MIDDLEWARE = [
    "registry_project.server.forwarding.ForwardedClientMiddleware",
    "registry_project.server.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip for JSON and pages over 1 KiB; outside everything below that writes a body (server/compression.py)
    "registry_project.server.compression.CompressionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "tenants_app.middleware.TenantContextMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants_app.middleware.SessionTenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "registry_project.server.security.ContentSecurityPolicyMiddleware",
]

# --- Browser security: headers on every response, CORS closed unless origins are configured ---
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = env_duration("HSTS_SECONDS", "365d") if PROTOCOL == "https" else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
# Whose X-Forwarded-For names the client (login throttling, audit and request logs): the proxies gunicorn
# also trusts for X-Forwarded-Proto (registry_project/server/forwarding.py). None unless configured: with
# 127.0.0.1 trusted by default, any local process could rotate the header to dodge the login throttle.
TRUSTED_PROXIES = TrustedProxies.parse(env_str("FORWARDED_ALLOW_IPS", ""))
# Everything the pages load comes from the registry itself; inline scripts and styles are not used.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(v1/|login).*$"
CORS_ALLOW_HEADERS = ["authorization", "content-type", "content-disposition", "digest", "x-checksum-sha256", "range"]
CORS_EXPOSE_HEADERS = ["content-disposition", "content-range", "etag", "x-request-id", "retry-after"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Pages and Django admin sign in with a signed session cookie that names the tenant (no session table).
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PROTOCOL == "https"
SESSION_COOKIE_AGE = env_duration("SESSION_COOKIE_AGE", "12h")
CSRF_COOKIE_SECURE = PROTOCOL == "https"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/"

ROOT_URLCONF = "registry_project.urls"
WSGI_APPLICATION = "registry_project.wsgi.application"
APPEND_SLASH = False  # routes accept both spellings themselves (contract §1), also for POST/PUT/DELETE

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
                "tenants_app.context_processors.registry",
                "items_app.context_processors.item_kinds",
            ]
        },
    }
]

AUTH_USER_MODEL = "tenants_app.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # The original registry's bcrypt hashes, as `manage.py import_seed` keeps them: checked, then replaced
    # with Argon2 at the user's next login (seed_app/hashers.py).
    "seed_app.hashers.SeedBCryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Counters for login throttling live in the catalog database so that every worker and every host
# behind a load balancer shares them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "registry_cache",
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants_app.authentication.TenantJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "tenants_app.authentication.KeyScopes",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["framework.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "framework.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "framework.api.schema.RegistryAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT: dict[str, Any] = {
    "SIGNING_KEY": JWT_SECRET,
    "ALGORITHM": "HS256",
    "ISSUER": "model-registry",
    "AUTH_HEADER_TYPES": ("JWT", "Bearer"),
    "AUTH_TOKEN_CLASSES": ("tenants_app.tokens.RegistryToken",),
    "SLIDING_TOKEN_LIFETIME": timedelta(seconds=JWT_EXPIRATIONTIME),
    "SLIDING_TOKEN_REFRESH_LIFETIME": timedelta(seconds=JWT_RENEW_EXPIRATIONTIME),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # The token carries a digest of the password hash: a password change kills every older token.
    "CHECK_REVOKE_TOKEN": True,
    "UPDATE_LAST_LOGIN": False,
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# whitenoise serves the project's own assets (no CDN); without collectstatic it reads the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper()
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", {"plain", "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "registry_project.server.requestlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # One line per request comes from RequestLogMiddleware; Django's own 4xx warnings would repeat it.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# The default admin's first password: generated unless given, printed on first start (bootstrap).
DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD = SECRETS.get("DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD", 12)

# The lifetimes as the operator wrote them, echoed by /v1/login and /v1/info.
JWT_EXPIRATIONTIME_TEXT = env_str("JWT_EXPIRATIONTIME", "30m")
JWT_RENEW_EXPIRATIONTIME_TEXT = env_str("JWT_RENEW_EXPIRATIONTIME", "50m")

SPECTACULAR_SETTINGS = {
    "TITLE": "Model Registry API",
    "DESCRIPTION": "Multi-tenant registry of trained ML models and datasets (see the README).",
    "VERSION": REGISTRY_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "PREPROCESSING_HOOKS": ["framework.api.schema.tidy_paths"],
}
