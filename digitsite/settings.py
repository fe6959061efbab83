"""Settings for Digits: one file, every deployment knob an environment variable.

Local defaults need nothing: SQLite in var/, uploads in var/media, models in var/models.
`.env.example` lists every variable.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def _env_number(name: str, default, parse, what: str):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {what}, got {value!r}") from exc


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY and DEBUG:
    # Development only. Without DEBUG the key stays empty: Django refuses it on first use, so
    # commands that sign nothing (check, migrate) still run, and wsgi.py refuses to serve.
    SECRET_KEY = "django-insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

VAR_DIR = Path(env_str("DIGITS_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "recognizer",
    "api",
]

MIDDLEWARE = [
    # First, so that every answer is logged: HTTPS redirects and static files too.
    "digitsite.middleware.RequestLogMiddleware",
    "digitsite.middleware.RequestSizeLimitMiddleware",
    "digitsite.middleware.UntrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered before sessions and auth: they cost nothing per request.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the logged-in user on every label change (django-simple-history).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the view's exceptions first and turns overload into a 503.
    "digitsite.middleware.ServiceUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "digitsite.urls"

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

WSGI_APPLICATION = "digitsite.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        # Kept between requests: opening one per request (PostgreSQL: a new backend and a SCRAM
        # login) capped canvas uploads at 32/s under gunicorn, kept open they reached 110/s.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A kept connection is checked before a request reuses it, so a restarted database
        # costs one reconnection instead of a failed request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SQLITE_TIMEOUT", 5.0),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The test database is a file, as in use: an in-memory one is shared between the live
    # server's threads through SQLite's shared cache, whose table locks fail a read at once
    # ("database table is locked") instead of waiting for the timeout.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str(
            "SQLITE_TEST_NAME",
            str(Path(tempfile.gettempdir()) / f"digits-test-{os.getpid()}.sqlite3"),
        )
    }

# The API's rate limits are counted in the cache, so every worker and every server must share it:
# a table in the database (made by recognizer's migration 0003), no other service to run. A
# per-process cache would let each worker grant the whole budget again.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "digits_cache",
    }
}

# Axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "digitsite.auth_backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "recognizer:upload"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` (done by `make serve`); debug runs and tests
    # read the source folders directly.
    "staticfiles": {
        "BACKEND": env_str(
            "DJANGO_STATICFILES_STORAGE",
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Uploads are private: there is deliberately no MEDIA_URL route. Images are served only by
# permission-checked views.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"

# Uploads, thumbnails and published model artifacts are on the local filesystem by default (one
# machine). DIGITS_STORAGE=s3 puts them in a private S3-compatible bucket that app servers share.
DIGITS_STORAGE = env_str("DIGITS_STORAGE", "filesystem")
if DIGITS_STORAGE == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("DIGITS_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    # Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or boto3's usual chain.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL"),
            "region_name": env_str("AWS_S3_REGION_NAME"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE"),
            "signature_version": env_str("AWS_S3_SIGNATURE_VERSION", "s3v4"),
            # Private objects: no ACL is sent, so nothing is ever public-read. Browsers get an
            # object only through a presigned URL, handed out by a view after its owner check.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 60),
            "file_overwrite": False,
        },
    }
elif DIGITS_STORAGE != "filesystem":
    raise ImproperlyConfigured("DIGITS_STORAGE must be filesystem or s3.")

MODEL_DIR = Path(env_str("MODEL_DIR", str(VAR_DIR / "models")))
MNIST_DIR = Path(env_str("MNIST_DIR", str(BASE_DIR / "data" / "mnist")))
# What the "not a digit" detector learns from (ml/digitness_data.py); empty: models have none.
DIGITNESS_EXAMPLES = env_str(
    "DIGITNESS_EXAMPLES", str(BASE_DIR / "data" / "digitness" / "examples.npz")
)
# How often a running process re-checks which model version is active.
MODEL_REFRESH_SECONDS = env_float("MODEL_REFRESH_SECONDS", 2.0)
# numba caches the compiled forest walk here, so a new process loads it in milliseconds instead
# of compiling it for about a second. numba reads the variable when it is first imported, which
# happens after settings (ml.forest_arrays is imported by the apps); the default source-tree
# __pycache__ may be read-only in a deployment.
NUMBA_CACHE_DIR = Path(env_str("NUMBA_CACHE_DIR", str(VAR_DIR / "numba")))
os.environ["NUMBA_CACHE_DIR"] = str(NUMBA_CACHE_DIR)

# Background tasks (retraining): stored in the database and run by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# Retraining: MNIST train images used (0 = all 60,000) and how many augmented copies of each
# reviewed correction are added, so a few dozen corrections weigh against 60,000 MNIST images.
RETRAIN_MNIST_LIMIT = env_int("RETRAIN_MNIST_LIMIT", 0)
RETRAIN_CORRECTION_COPIES = env_int("RETRAIN_CORRECTION_COPIES", 10)
# Rows an SVM or ensemble retraining trains on at most (MNIST is sampled to make room for every
# correction and its copies): its fit grows with the square of the rows.
RETRAIN_SVM_MAX_ROWS = env_int("RETRAIN_SVM_MAX_ROWS", 60_000)
# MNIST test images the candidate and the active model are compared on (0 = all 10,000).
RETRAIN_MNIST_TEST_LIMIT = env_int("RETRAIN_MNIST_TEST_LIMIT", 0)
# Held-out reviewed digits a candidate must be scored on before it may replace the active model on
# its own; with fewer it waits for staff (docs/retraining.md, "The promotion gate").
PROMOTION_MIN_HELDOUT = env_int("PROMOTION_MIN_HELDOUT", 20)

UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000)
# The pixels one batch's decodes make together, from the headers (a large JPEG decodes at a
# reduced scale): a third of gunicorn's 30 s timeout holds 100 MP of WebP, PNG, TIFF or GIF with
# room for a busy machine (docs/benchmarks.md, benchmarks/batch_cost.py); 20 phone JPEGs fit.
UPLOAD_BATCH_MAX_PIXELS = env_int("UPLOAD_BATCH_MAX_PIXELS", 100_000_000)
# Past this, a batch stops reading and is refused whole: the bound whatever the images hold.
UPLOAD_BATCH_MAX_SECONDS = env_float("UPLOAD_BATCH_MAX_SECONDS", 10.0)
# Stored bytes (images and thumbnails) per user; 0 turns the quota off.
UPLOAD_QUOTA_BYTES = env_int("UPLOAD_QUOTA_BYTES", 1_000_000_000)
# Whole request bodies, refused from Content-Length before they are read (413): one upload on the
# site, a batch of 20 on the API, each with room for the form's other fields.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", UPLOAD_MAX_BYTES + 1024 * 1024)
REQUEST_MAX_BYTES_API = env_int("REQUEST_MAX_BYTES_API", 20 * UPLOAD_MAX_BYTES + 1024 * 1024)
# Django must not reject our uploads before our own limit gives the user a clear message.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# JSON API (api/): token or session auth, per-user throttling, one {"error", "detail"} error shape.
_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str:
    value = env_str(name, default)
    count, _, period = value.partition("/")
    if not count.isdigit() or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name} must look like 120/min (per s, min, hour or day)")
    return value


# API requests per user (per IP address when anonymous).
API_THROTTLE_RATE = env_rate("API_THROTTLE_RATE", "120/min")
# Images one user may upload, through the web form, the drawing pad and the API together (a batch
# of 20 counts 20). API_UPLOAD_THROTTLE_RATE is its older, API-only name.
UPLOAD_RATE = env_rate("UPLOAD_RATE", env_str("API_UPLOAD_THROTTLE_RATE", "60/min"))
# Failed token logins per IP address: a wrong token is refused, guessing them is throttled.
API_BAD_TOKEN_RATE = env_rate("API_BAD_TOKEN_RATE", "30/min")
# "Download my data" per user: each reads every stored image of the account.
ACCOUNT_EXPORT_RATE = env_rate("ACCOUNT_EXPORT_RATE", "5/hour")
# Password reset requests per client address and per email address: past either, the form gives
# its usual answer and sends no mail.
PASSWORD_RESET_CLIENT_RATE = env_rate("PASSWORD_RESET_CLIENT_RATE", "20/hour")
PASSWORD_RESET_ADDRESS_RATE = env_rate("PASSWORD_RESET_ADDRESS_RATE", "5/hour")
# Proxies in front of the app that append to X-Forwarded-For (the login lockout reads it too).
# With 0, the address the server sees identifies a caller: a client-made header is never trusted.
PROXY_COUNT = env_int("DJANGO_PROXY_COUNT", 0)
REST_FRAMEWORK = {
    # Token first, so an anonymous client gets 401 with WWW-Authenticate rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": API_THROTTLE_RATE, "bad_token": API_BAD_TOKEN_RATE},
    "NUM_PROXIES": PROXY_COUNT,
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Digits API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/",
    # Separate request and response components, so the upload is described as multipart binary.
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies here are small and fully required, not "every field optional".
    "COMPONENT_SPLIT_PATCH": False,
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DigitEnum": "recognizer.models.DIGIT_CHOICES",
        "LabelEnum": "recognizer.models.Label",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.describe_api",
    ],
}

# Mail (password reset links). Development prints mails to the console; production sends them over
# SMTP. A reset mail is a login link, so without a mail server the reset pages are turned off rather
# than writing links to the server log.
_CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"
_SMTP_EMAIL = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", _CONSOLE_EMAIL if DEBUG else _SMTP_EMAIL)
EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")
PASSWORD_RESET_ENABLED = DEBUG or (
    bool(EMAIL_HOST) if EMAIL_BACKEND == _SMTP_EMAIL else EMAIL_BACKEND != _CONSOLE_EMAIL
)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# Servers log to stdout; manage.py sets stderr so that command output (e.g. --json) stays clean.
LOG_STREAM = env_str("DIGITS_LOG_STREAM", "stdout")
if LOG_STREAM not in {"stdout", "stderr"}:
    raise ImproperlyConfigured("DIGITS_LOG_STREAM must be stdout or stderr")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": f"ext://sys.{LOG_STREAM}",
            "formatter": "line",
        },
        "request_fields": {"class": "digitsite.middleware.RequestFieldCollector"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # Copies upload and prediction events into the request's log line; writes nothing itself.
        "recognizer": {"handlers": ["request_fields"], "level": LOG_LEVEL},
    },
}

# --- Production security -------------------------------------------------------------------------
# HTTPS is assumed (TLS ends at a proxy that sets X-Forwarded-Proto) whenever DEBUG is off. Each
# knob can be turned off on its own; DJANGO_HTTPS=false turns them all off, e.g. to try
# `make serve` over plain HTTP on this machine.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
TRUST_PROXY_PROTO = env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_PROTO else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a promise to browsers that cannot be taken back quickly: the operator opts in.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Scripts (the drawing pad) send the token from the csrftoken cookie in this header: X-CSRFToken.
CSRF_HEADER_NAME = "HTTP_X_CSRFTOKEN"
# A form sent from a page that expired (or from another site) gets the site's 403 page.
CSRF_FAILURE_VIEW = "recognizer.views.csrf_failure"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: and blob: for the drawing pad's previews.
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login brute force: 5 failures for one username, or from one address, lock it for 15 minutes.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success must not wipe the count: with address-based counting, an attacker's login to their own
# account would erase their failures against everyone else's. Failures expire after the cool-off.
AXES_RESET_ON_SUCCESS = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "digitsite.security.lockout_response"
# Behind N proxies the client address is the N-th from the right of X-Forwarded-For; without a
# proxy (0) only REMOTE_ADDR counts, so a client cannot pick its own address.
if PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# Answers for overload (database locked past its timeout, storage full): 503 and this Retry-After.
RETRY_AFTER_SECONDS = env_int("RETRY_AFTER_SECONDS", 5)
