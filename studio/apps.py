from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"

    def ready(self) -> None:
        from studio.files import connect_file_cleanup

        connect_file_cleanup()
