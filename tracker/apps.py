from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Relief Tracker"

    def ready(self) -> None:
        # The change history's registrations, the session clock's login signal, the red-flag
        # alerts, the diary revision's hooks, the cache written once a request's answer is sent.
        from tracker import (  # noqa: F401
            alerts,
            audit,
            db_blink,
            health,
            relief_cache,
            revisions,
            security,
        )

        db_blink.reconnect_sooner()  # after a database blink, within a second
