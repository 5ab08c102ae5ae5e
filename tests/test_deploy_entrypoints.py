"""The entrypoints run here with DEBUG off against PostgreSQL and Redis: two app servers
started together migrate once (under the lock), collect the static files, serve HTTPS-only
pages behind a proxy and answer /readyz; a worker queues and runs the periodic jobs and stops
on SIGTERM. And the backup's restore drill (deploy/backup.sh, deploy/restore_drill.sh) restores
a dump into a scratch database. Skipped where PostgreSQL, Redis or gunicorn is missing."""

import shutil
import subprocess
import time

import pytest
import requests

from bench import two_servers

pytestmark = pytest.mark.skipif(
    bool(reason := two_servers.why_not()), reason=f"the entrypoints: {reason}"
)


def test_two_app_servers_and_a_worker_start_from_the_entrypoints(tmp_path):
    with two_servers.scratch_database("entry") as database_url:
        env = two_servers.app_environment(database_url, two_servers.fresh_redis(14), tmp_path)
        del env["DJANGO_SECURE"]  # HTTPS only, as in production: the proxy says https
        env["DJANGO_MANIFEST_STATIC"] = "1"
        # Each server collects into its own folder, as each container has its own image: two
        # collecting into one folder would scan files the other is still renaming.
        first, second = (
            two_servers.Web(
                env,
                tmp_path,
                name,
                DJANGO_COLLECTSTATIC="1",
                DJANGO_STATIC_ROOT=str(tmp_path / f"static-{name}"),
            )
            for name in ("web-1", "web-2")  # both migrate at the same moment
        )
        worker = None
        try:
            for server in (first, second):
                ready = server.wait_ready(timeout=240)
                assert ready["checks"]["database"] == ready["checks"]["redis"] == "ok"
            plain = requests.get(first.url + "/", allow_redirects=False, timeout=30)
            assert plain.status_code == 301  # plain HTTP goes to HTTPS: DEBUG is off
            assert plain.headers["Location"].startswith("https://")
            proxied = requests.get(
                second.url + "/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=30
            )
            assert proxied.status_code == 200
            assert "Strict-Transport-Security" in proxied.headers
            hashed = [s for s in proxied.text.split('"') if s.startswith("/static/css/app.")]
            assert hashed and hashed[0] != "/static/css/app.css"  # collected, with hashed names

            worker = two_servers.start_worker(env, tmp_path, "worker")

            def periodic_jobs_ran():
                rows = two_servers.query(
                    database_url,
                    "SELECT task_path FROM django_tasks_database_dbtaskresult "
                    "WHERE status = 'SUCCESSFUL'",
                )
                return {path for (path,) in rows} >= {
                    "tracker.jobs.send_reminders",
                    "tracker.jobs.send_due_deliveries",
                    "tracker.jobs.purge_expired",
                }

            assert two_servers.wait_for(periodic_jobs_ran, timeout=120), worker.tail()
            started = time.monotonic()
            assert worker.stop(timeout=30) is not None
            assert time.monotonic() - started < 30
        finally:
            for process in (worker, first, second):
                if process is not None:
                    process.stop()
        for process in (first, second, worker):
            assert "Traceback" not in process.tail(100000), process.tail()
        migrations = two_servers.query(
            database_url, "SELECT count(*), count(DISTINCT (app, name)) FROM django_migrations"
        )
        assert migrations[0][0] == migrations[0][1]  # each migration applied once


def test_a_backup_restores_into_a_scratch_database(tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    with two_servers.scratch_database("backup") as database_url:
        env = two_servers.app_environment(database_url, two_servers.fresh_redis(14), tmp_path)
        two_servers.manage(env, "migrate_once", "--verbosity", "0")
        two_servers.make_people(env, 3)
        env["BACKUP_DIR"] = str(tmp_path / "backups")
        dump = script("deploy/backup.sh", env, timeout=120)
        assert dump.returncode == 0, dump.stderr
        drill = script("deploy/restore_drill.sh", env, timeout=300)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "patients 3" in drill.stdout
        assert "Restore drill passed" in drill.stdout
        leftovers = two_servers.query(
            database_url,
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'relief_restore_drill_%%'",
        )
        assert leftovers[0][0] == 0  # the scratch database is dropped after the drill


def script(path: str, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", path],
        cwd=two_servers.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
