from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local development)."
        )
    SECRET_KEY = "local-development-only-not-secret"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # each log-in's session, so that deleting an account ends them
    "auditlog",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "tracker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tracker.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, pre-compressed: answered here
    # HTML and JSON, Brotli or gzip: below WhiteNoise (whose files are compressed already) and
    # above everything that writes a body. Safe against BREACH: tracker/compression.py says why.
    "tracker.compression.CompressionMiddleware",
    "tracker.bad_input.ControlCharactersMiddleware",  # before any view or query sees the address
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "tracker.security.SessionSecurityMiddleware",
    "tracker.db_blink.DatabaseBlinkMiddleware",  # a lost database connection: retry, or 503
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
                "tracker.bad_input.sync_limits",
                "tracker.pwa.product",
            ],
        },
    },
]

FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# SQLite in a git-ignored folder by default; PostgreSQL from DATABASE_URL in deployment.
DATA_DIR = Path(env.str("DJANGO_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file on this machine: each process keeps its connection for ten minutes rather than
    # opening it (and running the pragmas below) on every request, a millisecond or two each.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    # Concurrent writers wait for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's connection pool, one per app server process; Django requires CONN_MAX_AGE=0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each connection the pool hands out is tested first (one round trip on the same machine):
    # after a database restart, no request gets a dead one (tracker/db_blink.py).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tracker.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out log-in before the rest
    # allauth's log-in by username or email; each request's user read with their patient
    # record in one query. (Sessions made before it named Django's and allauth's backends,
    # which it replaces: those people log in once more.)
    "tracker.backends.AccountBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_ADAPTER = "tracker.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "tracker.account_forms.SignupForm"  # asks the name clinicians see

# The product's name in every email and page (never the host it runs on), and the address
# the app gives for help ("contact us").
SITE_NAME = env.str("RELIEF_SITE_NAME", default="Relief Tracker")
RELIEF_CONTACT_EMAIL = env.str("RELIEF_CONTACT_EMAIL", default="help@relief-tracker.example")
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "

EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str(
    "DJANGO_DEFAULT_FROM_EMAIL", default="Relief Tracker <noreply@localhost>"
)
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes: the checkout by default; each server (or image) may have its own.
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# With DEBUG off, collectstatic writes each file's .br and .gz copies beside it (WhiteNoise, with
# the brotli package), and WhiteNoise sends the one the browser asks for.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("DJANGO_MANIFEST_STATIC", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not env.bool("DJANGO_MANIFEST_STATIC", default=True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["tracker.bad_input.EscapingJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tracker.bad_input.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "tracker.bad_input.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "tracker.bad_input.BoundedPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relief Tracker API",
    "DESCRIPTION": (
        "A patient's diary of botulinum toxin injections, daily spasm scores and reactions, "
        "and the relief computed per injection cycle. Session authentication with CSRF."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracker.api_schema.document_error_responses",
    ],
}

# Scripts and styles come only from our own origin: no inline code, so no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Production (README "Production deployment"): HTTPS only, behind a load balancer that
# terminates TLS and says so in X-Forwarded-Proto. On whenever DEBUG is off, unless
# DJANGO_SECURE=0 turns it off (the test suite, the benchmark's server on loopback).
SECURE = env.bool("DJANGO_SECURE", default=not DEBUG)
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = SECURE
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # the load balancer's probes, over HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
# static/js/app.js reads the CSRF cookie, so it stays readable by scripts (not HttpOnly).
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)

# Counters (tracker/throttles.py, allauth's log-in rate limits) and the computed Relief pages
# live in a cache, never in the database, so that a write costs no query for them: Redis when
# REDIS_URL is set (one cache the app servers share, as production and CI have), else this
# process's memory (one server: each process then counts its own requests). The Relief cache
# is keyed by the patient's diary_revision, read from the database on each request, so no
# process serves a page older than the diary.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}
# Sessions are kept in the database; with Redis, read through it (a request then costs no session
# query). Never through process memory: a log-out in one process would not reach the others.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if REDIS_URL else "db")
# Messages ("Saved: 7 out of 10") stay on the server, not in a cookie anyone can read.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Failed log-ins (tracker/lockout.py): 5 for one name from one address pause that name there for
# 15 minutes; 50 from one address pause it for an hour; an account's own count brings growing
# waits from the 10th and, at 100, no more tries until its password is reset; an account is
# never paused at an address it has logged in from. The same whether or not the account exists.
AXES_HANDLER = "tracker.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"  # allauth's log-in form
AXES_USERNAME_CALLABLE = "tracker.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "tracker.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "tracker.lockout.client_address"
AXES_RESET_ON_SUCCESS = True
# The client's address, for the counts above, allauth's rate limits and the record of sessions
# (tracker.lockout.client_address): with N proxies in front (the load balancer: 1), each adding
# to X-Forwarded-For, the address the outermost one was reached from. 0 reads REMOTE_ADDR and
# no X-Forwarded-For, which anyone can write; behind a load balancer every client would then
# share its address.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
# allauth's own limits on failed log-ins are its defaults (ACCOUNT_RATE_LIMITS unset): 10 a
# minute per address, and 5 in 5 minutes per key. For a password the key is the name and the
# address (tracker/adapters.py), for a second-factor code it is the account.

# Throttles per user (tracker/throttles.py), counted in the shared cache; 429 + Retry-After.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["tracker.throttles.WriteThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "write": env.str("RELIEF_THROTTLE_WRITE", default="600/min"),  # any unsafe API method
    "sync": env.str("RELIEF_THROTTLE_SYNC", default="60/min"),  # POST /api/v1/sync/
    "export": env.str("RELIEF_THROTTLE_EXPORT", default="30/hour"),  # CSV and FHIR downloads
    # Wrong share codes (tracker.throttles.Guesses): per person, and per address.
    "share_code": env.str("RELIEF_THROTTLE_SHARE_CODE", default="10/hour"),
    "share_code_address": env.str("RELIEF_THROTTLE_SHARE_CODE_ADDRESS", default="30/hour"),
}

# Account security (tracker/security.py): clinicians use two factors (TOTP, with recovery
# codes) and short sessions; patients stay logged in on their phone, but re-enter their
# password (within 5 minutes) before downloading or deleting their data.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Relief Tracker"
ACCOUNT_REAUTHENTICATION_METHODS = ["password"]
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
SESSION_COOKIE_AGE = 30 * 24 * 60 * 60
PATIENT_SESSION_MAX_AGE = SESSION_COOKIE_AGE
CLINICIAN_SESSION_MAX_AGE = 12 * 60 * 60
CLINICIAN_SESSION_IDLE = 15 * 60

# The product's named thresholds for the per-cycle relief figures (docs/clinical-rules.md).
RELIEF_THRESHOLD_PERCENT = env.float("RELIEF_THRESHOLD_PERCENT", default=25.0)

# How long a deleted diary record is remembered, so that an offline phone's old copy of it is
# refused rather than saved again: longer than any phone stays offline.
TOMBSTONE_DAYS = env.int("RELIEF_TOMBSTONE_DAYS", default=365)

# Background jobs (tracker/jobs.py): queued in the database, run by `manage.py db_worker` on
# any number of machines (PostgreSQL's row locks keep two workers off the same job).
# DJANGO_TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend runs each job inside the
# request that queues it instead: no worker needed, but a slow mail server slows that request.
TASKS = {
    "default": {
        "BACKEND": env.str("DJANGO_TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# /readyz answers 503 once a job has waited longer than this (tracker/health.py).
RELIEF_READY_MAX_JOB_WAIT_SECONDS = env.int("RELIEF_READY_MAX_JOB_WAIT_SECONDS", default=300)

# Daily reminders (manage.py send_reminders, from cron). Links in emails start with SITE_URL.
# Web Push is on only when all three VAPID settings are set (manage.py make_vapid_keys).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
WEBPUSH_VAPID_PRIVATE_KEY = env.str("WEBPUSH_VAPID_PRIVATE_KEY", default="")
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_VAPID_SUBJECT = env.str("WEBPUSH_VAPID_SUBJECT", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
