"""The production configuration: `check --deploy` passes with it, and with no more than a secret
key, the host names and Redis (HTTPS only is the default), and warns without Redis; the database
pool and the shared cache follow the environment."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

from tests.test_security import PRODUCTION_ENV, TESTS_ONLY_ENV

BASE_DIR = Path(__file__).resolve().parent.parent
# Of this process's environment, what is not the app's configuration (PATH and the like).
NOT_CONFIGURATION = {
    name: value
    for name, value in os.environ.items()
    if name not in TESTS_ONLY_ENV and not name.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
}


def check_deploy(environment: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = NOT_CONFIGURATION | environment
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


REDIS = "redis://cache.internal:6379/0"  # `check` does not connect to it


def production(tmp_path: Path, **changes: str | None) -> dict[str, str | None]:
    return PRODUCTION_ENV | {
        "DJANGO_DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "REDIS_URL": REDIS,
        **changes,
    }


def test_check_deploy_passes_with_the_production_environment(tmp_path):
    result = check_deploy(production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_passes_with_only_a_secret_key_allowed_hosts_and_redis():
    # HTTPS only, its cookies and HSTS are the default once DEBUG is off.
    only = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "relief.example",
        "REDIS_URL": REDIS,
    }
    result = check_deploy(only)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_that_without_redis_the_counts_are_per_process(tmp_path):
    result = check_deploy(production(tmp_path, REDIS_URL=None))
    assert result.returncode != 0
    assert "tracker.W001" in result.stderr
    assert "REDIS_URL is not set" in result.stderr


def test_check_deploy_fails_when_https_is_turned_off(tmp_path):
    result = check_deploy(production(tmp_path, DJANGO_SECURE="0"))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_check_deploy_fails_with_a_short_secret_key(tmp_path):
    result = check_deploy(production(tmp_path, DJANGO_SECRET_KEY="short"))
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def settings_with(monkeypatch, tmp_path, **env: str) -> dict:
    """The settings settings.py makes from this environment."""
    monkeypatch.setenv("DJANGO_DATA_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "REDIS_URL", *TESTS_ONLY_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "project" / "settings.py"))


def test_postgresql_connections_come_from_a_pool(monkeypatch, tmp_path):
    made = settings_with(
        monkeypatch,
        tmp_path,
        DATABASE_URL="postgres://relief:secret@db.internal:5432/relief",
        DATABASE_POOL_MAX_SIZE="20",
    )
    database = made["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert database["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 20, "timeout": 10.0}


def test_sqlite_has_no_pool_and_waits_for_the_write_lock(monkeypatch, tmp_path):
    database = settings_with(monkeypatch, tmp_path)["DATABASES"]["default"]
    assert "pool" not in database["OPTIONS"]
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_shared_cache_is_redis_when_given(monkeypatch, tmp_path):
    made = settings_with(monkeypatch, tmp_path, REDIS_URL=REDIS)
    assert made["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS,
    }
    # Sessions live in the database (read through Redis): any server continues one.
    assert made["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert made["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_with_debug_off_https_only_is_on_unless_turned_off(monkeypatch, tmp_path):
    made = settings_with(monkeypatch, tmp_path)
    assert made["DEBUG"] is False
    assert made["SECURE_SSL_REDIRECT"] is True
    assert made["SESSION_COOKIE_SECURE"] is made["CSRF_COOKIE_SECURE"] is True
    assert made["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert made["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert made["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$", r"^readyz$"]  # the probes
    turned_off = settings_with(monkeypatch, tmp_path, DJANGO_SECURE="0")
    assert turned_off["SECURE_SSL_REDIRECT"] is False
    assert turned_off["SESSION_COOKIE_SECURE"] is False
    assert turned_off["SECURE_HSTS_SECONDS"] == 0


def test_local_development_is_plain_http(monkeypatch, tmp_path):
    made = settings_with(monkeypatch, tmp_path, DJANGO_DEBUG="1")
    assert made["SECURE_SSL_REDIRECT"] is False
    assert made["SESSION_COOKIE_SECURE"] is False


def test_no_proxy_is_trusted_unless_counted(monkeypatch, tmp_path):
    assert settings_with(monkeypatch, tmp_path)["TRUSTED_PROXY_COUNT"] == 0
    made = settings_with(monkeypatch, tmp_path, DJANGO_TRUSTED_PROXY_COUNT="1")
    assert made["TRUSTED_PROXY_COUNT"] == 1
    assert made["AXES_CLIENT_IP_CALLABLE"] == "tracker.lockout.client_address"


def test_sessions_live_in_the_database_and_messages_in_the_session(settings):
    assert settings.SESSION_ENGINE.startswith("django.contrib.sessions.backends.")
    assert settings.SESSION_ENGINE.endswith((".db", ".cached_db"))
    assert settings.MESSAGE_STORAGE.endswith("SessionStorage")
