#!/bin/sh
# An app server: migrate (under a lock, so several servers starting together take turns),
# collect the static files, then gunicorn with the production settings (DEBUG off unless
# DJANGO_DEBUG says otherwise). docs/deploy.md lists the environment it reads.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if [ "${DJANGO_MIGRATE:-1}" = "1" ]; then
    "$PYTHON" manage.py migrate_once --verbosity 0
fi
# The image collects them when it is built (Dockerfile); a server run from a checkout does here.
if [ "${DJANGO_COLLECTSTATIC:-1}" = "1" ]; then
    "$PYTHON" manage.py collectstatic --noinput --verbosity 0
fi

exec "$PYTHON" -m gunicorn project.wsgi:application \
    --bind "${BIND:-0.0.0.0:${PORT:-8000}}" \
    --workers "${WEB_CONCURRENCY:-3}" \
    --timeout "${GUNICORN_TIMEOUT:-30}" \
    --graceful-timeout 20 \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --access-logfile - \
    --error-logfile -
