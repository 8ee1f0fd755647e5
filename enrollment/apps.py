from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"

    def ready(self) -> None:
        # Typed payloads of the recovery, policy and bulk enrollment events, registered with
        # the audit trail before any request or command can write one.
        from enrollment.services import bulk, events, policy  # noqa: F401
