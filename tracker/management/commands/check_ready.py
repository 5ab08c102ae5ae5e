import json

from django.core.management.base import BaseCommand, CommandError

from tracker.health import readiness


class Command(BaseCommand):
    help = (
        "Say whether this machine can do its work, as /readyz does: the database, Redis when "
        "REDIS_URL is set, and a job queue the workers keep up with. Exits 1 when not: a "
        "worker's container health check."
    )

    def handle(self, *args, **options) -> None:
        ready, found = readiness()
        self.stdout.write(json.dumps({"ready": ready, "checks": found}))
        if not ready:
            raise CommandError("Not ready.")
