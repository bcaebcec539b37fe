from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"

    def ready(self) -> None:
        from workers.manifest import product

        # Read the commit at start-up: a checkout updated later must not be credited with this process's results.
        product()
