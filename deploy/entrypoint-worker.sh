#!/bin/sh
# A job worker (tracker/jobs.py): `manage.py db_worker` runs the queued jobs (red-flag alerts,
# reminders, retries, purging, batch PDFs) and, beside it, `manage.py schedule_jobs` queues
# the periodic ones; run as many workers as wanted, each on any machine: every job and every
# message goes once. A worker that stops on a lost database connection is started again after
# a second; SIGTERM (or Ctrl-C) stops both, the running job first finishing.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
stopping=0
worker=""

stop() {
    stopping=1
    kill -TERM "$scheduler" ${worker:+"$worker"} 2>/dev/null || true
}
trap stop TERM INT

"$PYTHON" manage.py schedule_jobs --every "${SCHEDULE_EVERY_SECONDS:-30}" &
scheduler=$!

while [ "$stopping" = 0 ]; do
    "$PYTHON" manage.py db_worker --no-reload --interval "${WORKER_INTERVAL_SECONDS:-1}" \
        --worker-id "$(hostname | cut -c1-40)-$$-$(date +%s)" &
    worker=$!
    wait "$worker" || true
    if [ "$stopping" = 0 ]; then
        echo "db_worker exited: starting it again in a second" >&2
        sleep 1
    fi
done
wait "$worker" 2>/dev/null || true
wait "$scheduler" 2>/dev/null || true
