from django.apps import AppConfig


class TroubleshootingConfig(AppConfig):
    name = "troubleshooting"

    def ready(self) -> None:
        # The session.step payload model, registered with the ticket trail.
        from troubleshooting import events  # noqa: F401
