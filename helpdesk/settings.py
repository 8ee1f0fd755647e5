"""MFA Helpdesk settings: one module, read top to bottom, driven by the environment.

Every variable is listed in `.env.example`. Without DATABASE_URL the app uses a SQLite file;
without REDIS_URL Celery runs tasks in-process and the cache is local memory.
"""

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.csp import CSP

from helpdesk.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # Development only: a fresh key per process. Sessions do not survive a restart.
    SECRET_KEY = get_random_secret_key()

# Loopback is always allowed so container and load-balancer health checks reach /healthz.
ALLOWED_HOSTS = list(
    dict.fromkeys([*env_list("DJANGO_ALLOWED_HOSTS", []), "127.0.0.1", "localhost"])
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "helpdesk.apps.HelpdeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "pgtrigger",
    "helpdesk",
    "enrollment",
    "authsim",
    "troubleshooting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Early, so the session and MFA middleware can answer htmx requests with HX-Redirect.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "helpdesk.middleware.SessionLifetimeMiddleware",
    "helpdesk.middleware.StaffMFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication, so its refusal page shows the signed-in navigation.
    "helpdesk.middleware.RejectNulCharactersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees authentication failures from every view before responding.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.context_processors.navigation",
                "enrollment.context_processors.pending_approvals",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parsed.scheme!r}: expected postgres:// or postgresql://."
        )
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        # Persistent connections, checked before reuse so a restarted server is survived.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, tasks ---------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Misses instead of failing while Redis is down (helpdesk/cache.py).
            "BACKEND": "helpdesk.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            # Fail fast: a page waits at most this long on an unreachable Redis.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# No broker: tasks run in-process, right where they are enqueued (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Enqueueing must not hold a page for long when the broker is down: one quick try, then the
# task goes to the outbox table (helpdesk/outbox.py) and is sent when the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_BEAT_SCHEDULE: dict = {
    # Every minute: escalate open tickets whose SLA deadline has passed (idempotent).
    "escalate-overdue-tickets": {"task": "helpdesk.tasks.escalate_overdue_tickets", "schedule": 60},
    # Every minute: send the tasks that could not be enqueued while the broker was down.
    "send-task-outbox": {"task": "helpdesk.tasks.send_task_outbox", "schedule": 60},
    # Nightly: walk every audit chain and record the result for the audit review page.
    "verify-audit-chains": {"task": "helpdesk.tasks.verify_audit_chains", "schedule": 86400},
    # Every minute: take end users whose bypass codes have all expired out of bypass status.
    "expire-bypass-codes": {"task": "enrollment.tasks.expire_bypass_codes", "schedule": 60},
    # Every 15 minutes: import the MFA service's users and tokens (privacyIDEA; a no-op on the
    # simulator, whose directory is the helpdesk's own).
    "sync-directory": {"task": "enrollment.tasks.sync_directory", "schedule": 900},
}

# --- Authentication and staff MFA -------------------------------------------------------------

AUTH_USER_MODEL = "helpdesk.Staff"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username/address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"
LOGOUT_REDIRECT_URL = "helpdesk:login"

# Staff sign in with a password and a TOTP code. Only the demo run turns this off, and the
# login page then says so in a banner.
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", True)
# The demo run (`make run`: debug on, staff MFA off). Only there is the device simulator a
# training tool on which a technician may also play the caller, answering a verification
# push they sent themselves; anywhere else the caller, never the requester, answers it.
DEMO_MODE = DEBUG and not STAFF_MFA_REQUIRED
OTP_TOTP_ISSUER = "MFA Helpdesk"

# New staff get a one-time link (by email) to choose their password and enroll their own
# authenticator app; it expires after this many hours and works once.
STAFF_SETUP_LINK_HOURS = env_int("STAFF_SETUP_LINK_HOURS", 72, minimum=1)
# Where links in emails point (scheme://host, no trailing slash).
SITE_URL = (env_str("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "helpdesk.views.auth.lockout_response"
AXES_VERBOSE = False

# --- Sessions, cookies, headers ---------------------------------------------------------------

# Idle timeout: the cookie's age, renewed on every request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
# Absolute timeout: a session ends this long after sign-in, however active it is.
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_HOURS", 10, minimum=1) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# The preload directive only takes effect once the domain is submitted to browsers' lists.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS >= 31536000)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere: scripts carry the per-request nonce, styles come from
# our own static files.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Email (staff set-up links; end-user notices with privacyIDEA) --------------------------------

# Debug runs print mail to the console; anything else sends it through SMTP.
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MFA Helpdesk <helpdesk@localhost>")

# --- Static files, i18n -----------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Audit trail ------------------------------------------------------------------------------

# The key of the audit chain's HMAC-SHA-256. Kept out of the database, so nobody holding only
# database rights can rewrite the trail and recompute its hashes. Required outside debug (the
# tests set a fixed one in pyproject.toml); the demo run uses a fixed, public key.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "AUDIT_HMAC_KEY is required when DJANGO_DEBUG is off (generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'), and must stay the "
            "same for the life of the audit trail."
        )
    AUDIT_HMAC_KEY = "demo-and-tests-only-audit-key-not-a-secret"
# The runtime database role (DATABASE_URL's user when it differs from the owner that runs
# migrations). When set, migrate grants it INSERT and SELECT only on the audit trail and plain
# read/write on the other tables (helpdesk/db_roles.py).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "") or ""

# --- The MFA service --------------------------------------------------------------------------

# Dotted path of the class implementing enrollment.mfa.MFAService. The simulator is the
# default so the demo runs with nothing configured; a vendor adapter is swapped in here
# without touching the wizard.
MFA_SERVICE = env_str("MFA_SERVICE", "authsim.service.AuthSimService")
# The simulator lets staff play the caller (approve pushes, read codes), so `check --deploy`
# refuses it in a non-debug deployment (authsim.E001) unless this names the risk as taken,
# for a training desk with no real end users.
ALLOW_SIMULATED_MFA_IN_PRODUCTION = env_bool("ALLOW_SIMULATED_MFA_IN_PRODUCTION", False)

# privacyIDEA, when MFA_SERVICE=enrollment.privacyidea.PrivacyIDEAService (docs/privacyidea.md).
PRIVACYIDEA_URL = env_str("PRIVACYIDEA_URL", "")
# The helpdesk's service account: a privacyIDEA admin limited by an admin policy to the
# actions the helpdesk performs (docs/privacyidea-admin-policy.example.txt).
PRIVACYIDEA_USERNAME = env_str("PRIVACYIDEA_USERNAME", "")
PRIVACYIDEA_PASSWORD = env_str("PRIVACYIDEA_PASSWORD", "")
# The realms the helpdesk serves; the first one is where a username without a realm lives.
PRIVACYIDEA_REALMS = env_list("PRIVACYIDEA_REALMS", [])
# Certificates are checked unless switched off; a path names a CA bundle to check them with.
_pi_ca_bundle = env_str("PRIVACYIDEA_CA_BUNDLE", "")
PRIVACYIDEA_VERIFY_TLS: bool | str = _pi_ca_bundle or env_bool("PRIVACYIDEA_VERIFY_TLS", True)
PRIVACYIDEA_TIMEOUT_SECONDS = env_int("PRIVACYIDEA_TIMEOUT_SECONDS", 10)
# Where end users set up their authenticators themselves (privacyIDEA's web UI by default).
PRIVACYIDEA_PORTAL_URL = env_str("PRIVACYIDEA_PORTAL_URL", "")

# --- Enrollment links and recovery guardrails ------------------------------------------------

ENROLLMENT_LINK_DAYS = env_int("ENROLLMENT_LINK_DAYS", 30, minimum=1)
ACTIVATION_LINK_HOURS = env_int("ACTIVATION_LINK_HOURS", 24, minimum=1)
# How long a verified caller identity lets recovery actions proceed on that ticket.
IDENTITY_VERIFICATION_MINUTES = env_int("IDENTITY_VERIFICATION_MINUTES", 15, minimum=1)
# How long a supervisor's approval of one sensitive action stays usable.
RECOVERY_APPROVAL_MINUTES = env_int("RECOVERY_APPROVAL_MINUTES", 30, minimum=1)
# Bypass codes: never fewer than 9 digits; single use; lifetime default and cap; how many
# one issue may create and how many one end user may hold at once.
BYPASS_CODE_DIGITS = env_int("BYPASS_CODE_DIGITS", 10, minimum=9)
BYPASS_CODE_MINUTES = env_int("BYPASS_CODE_MINUTES", 60, minimum=1)
BYPASS_CODE_MAX_MINUTES = env_int("BYPASS_CODE_MAX_MINUTES", 240, minimum=1)
BYPASS_CODES_PER_ISSUE_MAX = env_int("BYPASS_CODES_PER_ISSUE_MAX", 3, minimum=1)
BYPASS_CODES_ACTIVE_MAX = env_int("BYPASS_CODES_ACTIVE_MAX", 5, minimum=1)
# Recovery actions allowed per technician and per end user within the window.
RECOVERY_RATE_WINDOW_MINUTES = env_int("RECOVERY_RATE_WINDOW_MINUTES", 60, minimum=1)
RECOVERY_RATE_LIMIT_PER_TECHNICIAN = env_int("RECOVERY_RATE_LIMIT_PER_TECHNICIAN", 30, minimum=1)
RECOVERY_RATE_LIMIT_PER_END_USER = env_int("RECOVERY_RATE_LIMIT_PER_END_USER", 6, minimum=1)
# Bulk enrollment jobs (reminders, resets): the most end users one job may reach, and how
# many the task processes between two progress checkpoints.
BULK_JOB_MAX_USERS = env_int("BULK_JOB_MAX_USERS", 500, minimum=1)
BULK_JOB_BATCH_SIZE = env_int("BULK_JOB_BATCH_SIZE", 50, minimum=1)

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
