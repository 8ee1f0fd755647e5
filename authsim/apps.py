from django.apps import AppConfig


class AuthsimConfig(AppConfig):
    name = "authsim"

    def ready(self) -> None:
        # `check --deploy` refuses the simulator as a production MFA service.
        from authsim import checks  # noqa: F401
