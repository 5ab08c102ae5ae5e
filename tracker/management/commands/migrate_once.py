from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

# Any number that no other program takes as a PostgreSQL advisory lock on this database.
MIGRATION_LOCK = 0x52454C4946  # "RELIF"


class Command(BaseCommand):
    help = (
        "Run `migrate` holding a PostgreSQL advisory lock, so that app servers started at "
        "the same moment (deploy/entrypoint-web.sh) migrate one after the other: the first "
        "migrates, the others find nothing left to do. On SQLite, plain `migrate`."
    )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            self.stdout.write("Migrated.")
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            try:
                call_command("migrate", interactive=False, verbosity=options["verbosity"])
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        self.stdout.write("Migrated (under the migration lock).")
