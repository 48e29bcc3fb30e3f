"""The studio's own settings, in development mode (as `make run` uses them)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from studio.settings import *  # noqa: E402, F403
