from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"

    def ready(self) -> None:
        from studio import checks  # noqa: F401 - registers the start-up checks
        from studio.files import connect_file_cleanup

        connect_file_cleanup()
