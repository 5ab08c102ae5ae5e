from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Relief Tracker"

    def ready(self) -> None:
        # The change history's registrations, the session clock's login signal, the red-flag
        # alerts, the diary revision's hooks.
        from tracker import alerts, audit, db_blink, health, revisions, security  # noqa: F401

        db_blink.reconnect_sooner()  # after a database blink, within a second
