from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Relief Tracker"

    def ready(self) -> None:
        # The change history's registrations and the session clock's login signal.
        from tracker import audit, health, security  # noqa: F401
