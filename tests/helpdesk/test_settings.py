"""Settings are read from the environment at start-up; these run a fresh interpreter for
each environment so that nothing leaks from the test process's own settings."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-with-plenty-of-entropy-1234567890",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "helpdesk.example.com",
    "DATABASE_URL": "postgres://helpdesk:pw@db.internal:5432/helpdesk",
    "REDIS_URL": "redis://cache.internal:6379/0",
    # No real MFA service ships yet: a production-like run is the training desk's.
    "ALLOW_SIMULATED_MFA_IN_PRODUCTION": "true",
    "AUDIT_HMAC_KEY": "k" * 48,
}
# Variables that would change what the child computes; removed so only ours count.
_OURS = {
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECURE_SSL_REDIRECT",
    "STATIC_MANIFEST",
    "STAFF_MFA_REQUIRED",
    "SECURE_HSTS_SECONDS",
    "SECURE_COOKIES",
    "SESSION_IDLE_MINUTES",
    "MFA_SERVICE",
    "ALLOW_SIMULATED_MFA_IN_PRODUCTION",
    "AUDIT_HMAC_KEY",
}


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _settings_value(env: dict[str, str], *names: str) -> dict:
    code = (
        "import json, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'helpdesk.settings');"
        "from django.conf import settings;"
        f"print(json.dumps({{n: repr(getattr(settings, n)) for n in {list(names)!r}}}))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_like_variables():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _env(**PRODUCTION_ENV)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _without_training_allowance() -> dict[str, str]:
    return {k: v for k, v in PRODUCTION_ENV.items() if k != "ALLOW_SIMULATED_MFA_IN_PRODUCTION"}


def test_check_deploy_refuses_the_simulator_as_the_mfa_service_of_a_production_run():
    env = _env(**_without_training_allowance())

    result = _run(["manage.py", "check", "--deploy"], env)

    assert result.returncode != 0
    assert "(authsim.E001) MFA_SERVICE is the simulator" in result.stderr
    assert "ALLOW_SIMULATED_MFA_IN_PRODUCTION=true" in result.stderr


def test_check_deploy_accepts_the_simulator_when_debug_is_on():
    env = _env(
        **{
            **_without_training_allowance(),
            "DJANGO_DEBUG": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        }
    )

    result = _run(["manage.py", "check", "--deploy", "--fail-level", "ERROR"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "authsim.E001" not in result.stdout + result.stderr


def test_demo_mode_is_only_the_debug_run_without_staff_mfa():
    production = _settings_value(
        _env(**{**PRODUCTION_ENV, "STAFF_MFA_REQUIRED": "false"}), "DEMO_MODE"
    )
    demo = _settings_value(_env(DJANGO_DEBUG="true", STAFF_MFA_REQUIRED="false"), "DEMO_MODE")

    assert (production, demo) == ({"DEMO_MODE": "False"}, {"DEMO_MODE": "True"})


def test_secret_key_is_required_when_debug_is_off():
    env = _env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"})

    result = _run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr


def test_audit_hmac_key_is_required_when_debug_is_off():
    env = _env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "AUDIT_HMAC_KEY"})

    result = _run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY is required when DJANGO_DEBUG is off" in result.stderr


def test_audit_hmac_key_has_a_fixed_demo_default_in_debug():
    values = _settings_value(_env(DJANGO_DEBUG="true"), "AUDIT_HMAC_KEY")

    assert values == {"AUDIT_HMAC_KEY": "'demo-and-tests-only-audit-key-not-a-secret'"}


def test_debug_is_off_unless_asked():
    values = _settings_value(_env(DJANGO_SECRET_KEY="x" * 60, AUDIT_HMAC_KEY="k" * 48), "DEBUG")

    assert values == {"DEBUG": "False"}


def test_a_bad_boolean_names_the_variable():
    result = _run(["manage.py", "check"], _env(**{**PRODUCTION_ENV, "DJANGO_DEBUG": "maybe"}))

    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe': expected one of true/false" in result.stderr


def test_a_bad_database_url_names_what_was_expected():
    result = _run(["manage.py", "check"], _env(**{**PRODUCTION_ENV, "DATABASE_URL": "mysql://x/y"}))

    assert result.returncode != 0
    assert "expected postgres:// or postgresql://" in result.stderr


def test_without_database_url_sqlite_and_without_broker_tasks_run_in_process():
    values = _settings_value(
        _env(DJANGO_DEBUG="true"), "DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CACHES"
    )

    assert "django.db.backends.sqlite3" in values["DATABASES"]
    assert values["CELERY_TASK_ALWAYS_EAGER"] == "True"
    assert "LocMemCache" in values["CACHES"]


def test_with_database_url_postgres_with_health_checks_and_redis_as_broker_and_cache():
    values = _settings_value(
        _env(**PRODUCTION_ENV),
        "DATABASES",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_URL",
        "CACHES",
    )

    assert "'ENGINE': 'django.db.backends.postgresql'" in values["DATABASES"]
    assert "'HOST': 'db.internal'" in values["DATABASES"]
    assert "'CONN_HEALTH_CHECKS': True" in values["DATABASES"]
    assert values["CELERY_TASK_ALWAYS_EAGER"] == "False"
    assert values["CELERY_BROKER_URL"] == "'redis://cache.internal:6379/0'"
    assert "RedisCache" in values["CACHES"]


@pytest.mark.django_db
def test_pages_carry_a_nonce_csp_and_no_inline_script_or_style():
    response = Client().get(reverse("helpdesk:login"))

    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    body = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert "script-src 'self' 'nonce-" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert scripts, "htmx should be served by the app"
    assert all(f'nonce="{nonce}"' in tag and "src=" in tag for tag in scripts)
    assert " style=" not in body
    assert "hx-on" not in body


@pytest.mark.django_db
def test_security_headers_are_sent():
    response = Client().get(reverse("helpdesk:login"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_health_check_reports_the_database(db):
    response = Client().get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_env_example_lists_every_variable_the_settings_read():
    source = (ROOT / "helpdesk" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )

    assert read - documented == set()
    assert documented - read == set()
