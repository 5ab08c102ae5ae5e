"""/readyz (tracker/health.py): 200 while the database, Redis (when configured) and the job
queue are well, else 503 with what is wrong; /healthz stays a cheap liveness answer."""

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult


def ready() -> tuple[int, dict]:
    response = Client().get("/readyz")
    assert response["Cache-Control"] == "no-store"
    return response.status_code, response.json()


def waiting_job(minutes_ago: float) -> DBTaskResult:
    job = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="tracker.jobs.send_due_deliveries",
        backend_name="default",
        run_after=dt.datetime(9999, 1, 1, tzinfo=dt.UTC),  # "as soon as possible"
    )
    enqueued = timezone.now() - dt.timedelta(minutes=minutes_ago)
    DBTaskResult.objects.filter(pk=job.pk).update(enqueued_at=enqueued)
    return job


def test_ready_with_a_database_and_no_job_waiting(db):
    status, body = ready()
    assert status == 200
    assert body["ready"] is True
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("not configured")
    assert body["checks"]["jobs"]["oldest_waiting_seconds"] is None


def test_a_job_waiting_a_minute_is_fine(db):
    waiting_job(minutes_ago=1)
    status, body = ready()
    assert status == 200
    assert 50 <= body["checks"]["jobs"]["oldest_waiting_seconds"] <= 70


def test_a_job_waiting_longer_than_the_limit_means_the_workers_are_missing(db):
    waiting_job(minutes_ago=6)
    status, body = ready()
    assert status == 503
    assert body["ready"] is False
    assert "db_worker" in body["checks"]["jobs"]["status"]


def test_a_job_planned_for_later_is_not_late(db):
    job = waiting_job(minutes_ago=60)
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=timezone.now() + dt.timedelta(hours=1))
    assert ready()[0] == 200


def test_no_database_is_503_and_says_so_without_its_message(db):
    with mock.patch(
        "tracker.health.connection.cursor", side_effect=OperationalError("host db.internal")
    ):
        status, body = ready()
    assert status == 503
    assert body["checks"]["database"] == "unreachable (OperationalError)"
    assert "db.internal" not in str(body)


def test_an_unreachable_redis_is_503(db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    status, body = ready()
    assert status == 503
    assert body["checks"]["redis"].startswith("unreachable")


def test_a_reachable_redis_is_ready(db, settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    status, body = ready()
    assert (status, body["checks"]["redis"]) == (200, "ok")


def test_healthz_does_not_look_at_the_job_queue(db):
    waiting_job(minutes_ago=60)
    assert Client().get("/healthz").status_code == 200


def test_readyz_answers_over_plain_http_and_to_get_only(db):
    assert Client().post("/readyz").status_code == 405
