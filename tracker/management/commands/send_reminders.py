from django.core.management.base import BaseCommand

from tracker.notify import push_enabled, send_due_reminders


class Command(BaseCommand):
    help = (
        "Send the daily check-in reminders that are due: by email, and by Web Push when the "
        "VAPID settings are set. At most one per patient per day, never once they have "
        "logged the day; safe to run every few minutes from cron."
    )

    def handle(self, *args, **options) -> None:
        outcome = send_due_reminders()
        push = "" if push_enabled() else " (Web Push is off: no VAPID keys set)"
        self.stdout.write(f"Reminders: {outcome}{push}.")
