#!/bin/sh
# The restore drill (docs/deploy.md, "Backups"): the newest dump in BACKUP_DIR (or the file
# given) restored into a scratch database on the same server, checked (every migration there,
# the tables hold rows, Django's checks pass against it), then dropped. Exits non-zero when the
# dump does not restore. Never touches the live database: the scratch one has its own name.
#   DATABASE_URL=postgres://user@host:5432/relief BACKUP_DIR=/srv/backups deploy/restore_drill.sh
set -eu
: "${DATABASE_URL:?set DATABASE_URL}"
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
dump="${1:-$(ls -1 "${BACKUP_DIR:-./backups}"/relief-*.dump | sort | tail -n 1)}"
server="${DATABASE_URL%/*}"
scratch="relief_restore_drill_$(date -u +%Y%m%d%H%M%S)"

psql --quiet "$server/postgres" -c "CREATE DATABASE $scratch"
trap 'psql --quiet "$server/postgres" -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)"' EXIT

pg_restore --no-owner --no-privileges --exit-on-error --dbname "$server/$scratch" "$dump"
DATABASE_URL="$server/$scratch" "$PYTHON" manage.py migrate --check --verbosity 0
DATABASE_URL="$server/$scratch" "$PYTHON" manage.py check --verbosity 0
psql --quiet --tuples-only --no-align "$server/$scratch" -c \
    "SELECT 'patients ' || count(*) FROM tracker_patient
     UNION ALL SELECT 'check-ins ' || count(*) FROM tracker_dailylog
     UNION ALL SELECT 'reactions ' || count(*) FROM tracker_reaction
     UNION ALL SELECT 'users ' || count(*) FROM tracker_user"
echo "Restore drill passed: $dump restores into a working database."
