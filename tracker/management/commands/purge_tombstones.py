from django.core.management.base import BaseCommand

from tracker.models import Tombstone


class Command(BaseCommand):
    help = (
        "Forget deleted diary records older than RELIEF_TOMBSTONE_DAYS (a year by default): "
        "longer than any phone stays offline. Safe to run daily from cron."
    )

    def handle(self, *args, **options) -> None:
        purged, _ = Tombstone.objects.expired().delete()
        self.stdout.write(f"Tombstones purged: {purged}.")
