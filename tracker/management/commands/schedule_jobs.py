import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from tracker.jobs import SCHEDULE, enqueue_scheduled


class Command(BaseCommand):
    help = (
        "Queue the periodic jobs whose time has come (reminders and retries every minute, "
        f"purging once a day: {', '.join(SCHEDULE)}) for `manage.py db_worker` to run. Each "
        "is queued once per period however many schedulers run. Once, for cron; or with "
        "--every SECONDS, again and again until stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds.")

    def handle(self, *args, every: float, **options) -> None:
        while True:
            try:
                queued = enqueue_scheduled()
            except Exception as error:  # the database away a moment: try again next time
                if not every:
                    raise
                self.stderr.write(f"Scheduling failed, trying again: {error!r}")
                queued = []
            if not every or options["verbosity"] > 1:
                self.stdout.write(f"Jobs queued: {', '.join(queued) or 'none due'}.")
            if not every:
                return
            close_old_connections()  # a dropped one is opened anew next time
            time.sleep(every)
