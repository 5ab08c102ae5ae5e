#!/bin/sh
# A backup of the database: pg_dump's custom format (compressed, restorable table by table),
# named by the time it was taken, into BACKUP_DIR; dumps older than BACKUP_KEEP_DAYS are
# removed. Run it from cron on a machine that reaches PostgreSQL (docs/deploy.md, "Backups"):
#   15 2 * * *  DATABASE_URL=postgres://... BACKUP_DIR=/srv/backups /app/deploy/backup.sh
set -eu
: "${DATABASE_URL:?set DATABASE_URL}"
BACKUP_DIR="${BACKUP_DIR:-./backups}"
mkdir -p "$BACKUP_DIR"
file="$BACKUP_DIR/relief-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --no-privileges --file "$file.partial" "$DATABASE_URL"
mv "$file.partial" "$file"  # only a finished dump has the name the drill looks for
find "$BACKUP_DIR" -name 'relief-*.dump' -mtime +"${BACKUP_KEEP_DAYS:-35}" -delete
echo "$file"
