from django.apps import AppConfig


class TroubleshootingConfig(AppConfig):
    name = "troubleshooting"

    def ready(self) -> None:
        # The payload models of session.step (ticket trail) and admin.playbook_changed.
        from troubleshooting import events, publishing  # noqa: F401
