"""Settings of the Local Governance Atlas, every value read from the environment.

Each variable is listed with its meaning in ``.env.example``. A value that cannot be parsed
raises ``ImproperlyConfigured`` naming the variable; with ``DEBUG`` off, a missing or
development secret key stops the start.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-insecure-key-change-me"  # noqa: S105 (a marker, refused in production)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _typed(name: str, cast, default):
    """Read ``name`` with ``cast``; any parse error names the variable."""
    try:
        return cast(name, default=default)
    except ImproperlyConfigured:
        raise
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is invalid: {exc}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name} must be a boolean (true/false/1/0), got {raw!r}"
    )


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be an integer, got {raw!r}"
        ) from None
    if value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name} must be >= {minimum}")
    return value


DEBUG = _bool("DEBUG", False)

# Synthetic (demonstration) data: generated indicator values, invented people and cases.
# DEMO_RESEARCH: whether ``load_demo`` loads the demonstration research on top of the real
# places (off: places only, what a real research team starts from). Production (DEBUG off)
# refuses synthetic data unless ALLOW_SYNTHETIC_DATA=true; while any synthetic record is public,
# every page carries a "demonstration data" banner (towns.context_processors).
DEMO_RESEARCH = _bool("DEMO_RESEARCH", True)
ALLOW_SYNTHETIC_DATA = _bool("ALLOW_SYNTHETIC_DATA", DEBUG)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or set to the development default while DEBUG is off. "
            "Set SECRET_KEY to a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))') or set DEBUG=true for local development."
        )
    SECRET_KEY = DEV_SECRET_KEY

ALLOWED_HOSTS = _typed("ALLOWED_HOSTS", env.list, ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = _typed("CSRF_TRUSTED_ORIGINS", env.list, [])

TIME_ZONE = env.str("TIME_ZONE", default="Europe/Minsk")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"Environment variable TIME_ZONE is not a known time zone: {TIME_ZONE!r}"
    ) from exc

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL given: that server. Otherwise: the embedded PostgreSQL of governance.embedded_db.
EMBEDDED_DATABASE = not env.str("DATABASE_URL", default="")
if EMBEDDED_DATABASE:
    from governance.embedded_db import ensure_server

    _default_db = ensure_server(name=env.str("EMBEDDED_DB_NAME", default="atlas")).django_database()
else:
    try:
        _default_db = env.db_url("DATABASE_URL")
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"Environment variable DATABASE_URL is invalid: {exc}") from exc
    if "postgres" not in _default_db.get("ENGINE", ""):
        raise ImproperlyConfigured(
            "Environment variable DATABASE_URL must point at PostgreSQL (postgres://...); "
            f"got engine {_default_db.get('ENGINE')!r}"
        )
# Django's PostgreSQL backend with a health check that costs no query (governance/postgres/).
_default_db["ENGINE"] = "governance.postgres"
_default_db["CONN_MAX_AGE"] = _int("CONN_MAX_AGE", 60)
_default_db["CONN_HEALTH_CHECKS"] = True
_default_db.setdefault("TEST", {})["NAME"] = env.str("TEST_DB_NAME", default="test_atlas")
DATABASES = {"default": _default_db}

# A read replica (streaming replication of the primary): reads go there, writes and every read
# inside a write (a transaction, a POST, the admin) stay on the primary; governance/routers.py.
if env.str("DATABASE_REPLICA_URL", default=""):
    try:
        _replica_db = env.db_url("DATABASE_REPLICA_URL")
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"Environment variable DATABASE_REPLICA_URL is invalid: {exc}"
        ) from exc
    if "postgres" not in _replica_db.get("ENGINE", ""):
        raise ImproperlyConfigured(
            "Environment variable DATABASE_REPLICA_URL must point at PostgreSQL (postgres://...)"
        )
    _replica_db["ENGINE"] = _default_db["ENGINE"]
    _replica_db["CONN_MAX_AGE"] = _default_db["CONN_MAX_AGE"]
    _replica_db["CONN_HEALTH_CHECKS"] = True
    # Tests use the primary's test database through this alias (a replica mirrors it).
    _replica_db["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica_db
DATABASE_ROUTERS = ["governance.routers.ReplicaRouter"]
# Read-your-writes with a replica: for this many seconds after a write, reads by the same client
# (session cookie or Authorization header) go to the primary until the replica has replayed
# the write; kept in the default cache (Redis with REDIS_URL, so every instance knows). 0: off.
READ_YOUR_WRITES_SECONDS = _int("READ_YOUR_WRITES_SECONDS", 300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "governance.apps.AtlasAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "corsheaders",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "governance",
    "towns",
    "csos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip for API answers only (never pages with a CSRF token: BREACH, see docs/api.md).
    "governance.middleware.ApiCompressionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Every error under /api/ as RFC 9457 problem details; a NUL in a URL is a 400 everywhere.
    "governance.middleware.ApiProblemMiddleware",
    "governance.middleware.RejectInvalidInputMiddleware",
    # Writes, the workspace and a writer's next reads go to the primary when a replica is
    # configured: before the read cache and the session, which read the database too.
    "governance.routers.PrimaryForWritesMiddleware",
    # Repeated public/partner API reads are answered here, before the rest (governance/cache.py).
    "governance.cache.ReadShortcutMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "governance.middleware.AtlasCSPMiddleware",
    "governance.middleware.PrivateDataNoStoreMiddleware",
    # Writes the access log of restricted fields a page or an export showed (after rendering).
    "governance.middleware.RestrictedReadLogMiddleware",
    # Last, as django-axes requires: it turns lockouts into responses.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out user before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
ASGI_APPLICATION = "governance.asgi.application"

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
                "django.template.context_processors.i18n",
                "towns.context_processors.demonstration_data",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("be", _("Belarusian")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_HTTPONLY = True
# The API's per-address rate limit reads X-Forwarded-For only from these reverse proxies
# (addresses or networks), and only the last NUM_PROXIES hops of it; none by default.
NUM_PROXIES = _int("NUM_PROXIES", 0, minimum=0)
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Environment variable TRUSTED_PROXIES is invalid: {exc}"
        ) from exc
if _bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Staff must verify a TOTP second factor (django-otp) when this is on; default: on unless DEBUG.
STAFF_2FA_REQUIRED = _bool("STAFF_2FA_REQUIRED", not DEBUG)
# Signing in (governance/accounts.py): the public sign-in page, where its forms lead, and the
# name an authenticator app shows for the atlas.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "towns:home"
LOGOUT_REDIRECT_URL = "towns:home"
OTP_TOTP_ISSUER = "Local Governance Atlas"

# django-axes: lock a username from an address after repeated failures, until reset
# (python manage.py axes_reset) or the cool-off time.
AXES_FAILURE_LIMIT = _int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = _int("AXES_COOLOFF_HOURS", 1, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]

# A Content-Security-Policy with no inline script and, on the atlas's pages, no inline style
# (django-csp). Inline style attributes are allowed only under INLINE_STYLE_PREFIXES (the
# admin's widgets, the API's HTML pages); scripts come only from this site.
INLINE_STYLE_PREFIXES = ("/admin/", "/api/")


def _tile_origin(url: str) -> str:
    """The CSP source of a tile URL template: "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    gives "https://*.tile.example.org" (the {s} subdomains become a wildcard)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ImproperlyConfigured(f"Environment variable MAP_TILE_URL is not a URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


# MAP_TILE_ORIGIN overrides the origin derived from MAP_TILE_URL (e.g. a CDN in front).
_tile_source = env.str("MAP_TILE_ORIGIN", default="") or (
    _tile_origin(env.str("MAP_TILE_URL")) if env.str("MAP_TILE_URL", default="") else ""
)
_tile_hosts = [_tile_source] if _tile_source else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # No inline style on the atlas's pages (a town name can never style an overlay);
        # the admin and the API's HTML pages (DRF, Swagger UI) get 'unsafe-inline' for their
        # own widgets from governance.middleware.AtlasCSPMiddleware.
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_tile_hosts],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# CORS for partner web tools: only the API, only the listed origins.
CORS_ALLOWED_ORIGINS = _typed("CORS_ALLOWED_ORIGINS", env.list, [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-none-match", "if-match", "accept"]
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Retry-After",
    "Link",
    "X-Total-Count",
    "RateLimit",
    "RateLimit-Policy",
]

# --- Cache ----------------------------------------------------------------------------------
# REDIS_URL: a Redis or Valkey server shared by every worker and machine (redis://host:6379/0,
# rediss:// with TLS): it then holds the rate-limit counters and the read cache. Without it the
# counters live in PostgreSQL and the read cache in files of this machine. CACHE_URL (the
# default cache, any Django cache URL) and READ_CACHE_URL override it for their own part.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis:// or rediss:// (TLS)")
_SHARED_CACHE_URL = env.str("CACHE_URL", default="") or REDIS_URL
CACHES = {"default": _typed("CACHE_URL", env.cache_url, REDIS_URL or "locmemcache://atlas")}
# The read cache of API representations and public pages (governance/cache.py), keyed by the
# database state so a write retires every older entry at once. READ_CACHE_TIMEOUT=0 turns it
# off. By default files in var/read-cache/, shared by every worker of this machine (an entry
# built by one serves them all) and kept off the workers' memory; REDIS_URL (or CACHE_URL)
# shares it between machines. Bounded by READ_CACHE_ENTRIES.
READ_CACHE_ALIAS = "reads"
# Town profiles kept per town, viewer level and language with the data state they were computed
# from (towns/kept.py, filled by manage.py keep_profiles): not a cache of answers but data
# derived once per change, read only while its state is current. KEPT_PROFILES=false computes
# every profile on each request and neither reads nor writes the kept rows.
KEPT_PROFILES = _bool("KEPT_PROFILES", True)
READ_CACHE_TIMEOUT = _int("READ_CACHE_TIMEOUT", 600)
# Each worker also keeps the most recently used entries in its own memory, up to this many MiB
# (0: off); entries never change under their key, so the copy cannot go stale.
READ_CACHE_LOCAL_MB = _int("READ_CACHE_LOCAL_MB", 16, minimum=0)
CACHES[READ_CACHE_ALIAS] = _typed(
    "READ_CACHE_URL",
    env.cache_url,
    _SHARED_CACHE_URL or f"filecache://{BASE_DIR / 'var' / 'read-cache'}",
)
# A file cache (the default) is Django's without its per-write directory listing
# (governance/filecache.py).
if CACHES[READ_CACHE_ALIAS]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache":
    CACHES[READ_CACHE_ALIAS]["BACKEND"] = "governance.filecache.FileCache"
if CACHES[READ_CACHE_ALIAS]["BACKEND"].endswith(("LocMemCache", "FileCache")):
    CACHES[READ_CACHE_ALIAS].setdefault("OPTIONS", {})["MAX_ENTRIES"] = _int(
        "READ_CACHE_ENTRIES", 5000, minimum=10
    )

# --- REST API -------------------------------------------------------------------------------
# What in /api/v1/ is going, and when (governance.api.deprecation; docs/api.md, "Versions,
# changes and deprecation"). Nothing is deprecated today.
API_DEPRECATIONS: list[dict] = []
API_PAGE_SIZE = _int("API_PAGE_SIZE", 50, minimum=1)
API_MAX_PAGE_SIZE = _int("API_MAX_PAGE_SIZE", 500, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.authentication.ScopedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Closed by default: a view opens itself to public data explicitly.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.PageNumberPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.api.exceptions.exception_handler",
    # JSON by default; CSV for every list (?format=csv), same filters and redaction.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "governance.api.negotiation.AtlasContentNegotiation",
    "DEFAULT_RENDERER_CLASSES": [
        "governance.api.rendered.AtlasJSONRenderer",
        # The browsable API draws no form for viewers who may not read every field.
        "governance.api.renderers.AtlasBrowsableAPIRenderer",
        "governance.api.renderers.CSVRenderer",
    ],
    # Request bodies are JSON; anything else is a 415 (a view that takes files opts in).
    "DEFAULT_PARSER_CLASSES": ["governance.api.parsers.JSONParser"],
    # Per token (or per signed-in user without a token) and per anonymous client address.
    "DEFAULT_THROTTLE_CLASSES": [
        "governance.api.throttling.AnonClientThrottle",
        "governance.api.throttling.TokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="600/min"),
        "user": env.str("API_THROTTLE_USER", default="3000/min"),
    },
}
# API tokens (django-rest-knox): only the SHA-512 digest of a key is stored. Each token has an
# ApiClient row (governance.models) with its name and scopes; issue with manage.py issue_token.
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105 (a model label, not a secret)
REST_KNOX = {
    "SECURE_HASH_ALGORITHM": "hashlib.sha512",
    "AUTH_TOKEN_CHARACTER_LENGTH": 64,
    # Expiry is chosen per token when it is issued (issue_token --expires-days); a token
    # issued without one never expires until revoked.
    "TOKEN_TTL": None,
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
API_TOKEN_DEFAULT_DAYS = _int("API_TOKEN_DEFAULT_DAYS", 365, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Local Governance Atlas API",
    "DESCRIPTION": (
        "Who governs small towns in Belarus, what they govern and how, and where local "
        "authorities and civil society organisations can cooperate. Place data: GeoNames "
        "(CC BY 4.0)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # One schema per viewer (governance/api/schema.py): below research level no restricted
    # field, research-only parameter or operation the viewer may not call; full without a
    # request (manage.py spectacular).
    "DEFAULT_GENERATOR_CLASS": "governance.api.schema.AtlasSchemaGenerator",
    "SERVE_PUBLIC": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.api.schema.viewer_schema_hook",
        "governance.api.schema.error_responses_hook",
        "governance.api.schema.blank_uri_hook",
        "governance.api.schema.media_types_hook",
        "towns.api.geojson.geojson_schema_hook",
        "towns.api.views.bulk_request_hook",
        "governance.api.schema.query_parameters_hook",
        "governance.api.deprecation.deprecation_schema_hook",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "COMPONENT_SPLIT_REQUEST": True,
    # Redaction leaves sensitive fields out of a response: read-only fields are not required.
    "COMPONENT_NO_READ_ONLY_REQUIRED": True,
    # Several models have a "kind", "origin" or "status" of their own: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "TownKindEnum": "towns.models.places.TownKind",
        "TypologyEnum": "towns.models.places.Typology",
        "GroupKindEnum": "towns.models.power.GroupKind",
        "PostKindEnum": "towns.models.power.PostKind",
        "TieKindEnum": "towns.models.power.TieKind",
        "PersonOriginEnum": "towns.models.power.Origin",
        "GroupOriginEnum": "towns.models.power.GroupOrigin",
        "ActivityStatusEnum": "towns.models.activities.ActivityStatus",
        "CSOStatusEnum": "csos.models.CSOStatus",
        "LinkKindEnum": "csos.models.LinkKind",
        "AssetKindEnum": "csos.models.AssetKind",
        "SourceKindEnum": "governance.models.Source.Kind",
        "AccessLevelEnum": "governance.access.AccessLevel",
        "PublicationStateEnum": "governance.access.PublicationState",
        "ConfidenceEnum": "governance.models.Confidence",
        "EventKindEnum": "towns.models.society.EventKind",
        "EventOutcomeEnum": "towns.models.society.EventOutcome",
        "SiteKindEnum": "towns.models.society.SiteKind",
        "CaseOutcomeEnum": "csos.models.Outcome",
    },
}

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"Environment variable LOG_LEVEL is invalid: {LOG_LEVEL!r}")
DEFAULT_EXCEPTION_REPORTER_FILTER = "governance.logging.AtlasExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "governance.logging.AtlasExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "governance.logging.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# History triggers of Django's auto-created link tables (a claim's sources, a CSO's towns) are
# not in migrations: pgtrigger installs every trigger after each migrate.
PGTRIGGER_INSTALL_ON_MIGRATE = True

# --- Backups (python manage.py backup / restore) ---
BACKUP_DIR = env.str("BACKUP_DIR", default=str(BASE_DIR / "var" / "backups"))
BACKUP_KEEP = _int("BACKUP_KEEP", 7, minimum=1)

# --- Atlas ----------------------------------------------------------------------------------
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")
