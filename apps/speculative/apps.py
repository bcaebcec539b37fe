from django.apps import AppConfig


class SpeculativeConfig(AppConfig):
    name = "apps.speculative"
    label = "speculative"
