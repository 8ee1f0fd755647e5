from django.apps import AppConfig


class AuthsimConfig(AppConfig):
    name = "authsim"
