from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"

    def ready(self) -> None:
        # A backend that cannot work (unknown, missing its key, paid without a
        # price) stops the studio at start-up rather than failing every job.
        from workers.registry import check_configuration

        check_configuration()
