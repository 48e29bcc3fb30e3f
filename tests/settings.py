"""The studio's own settings, in development mode (as `make run` uses them)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from studio.settings import *  # noqa: F403

# Hashing passwords at production strength costs seconds per test user.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
