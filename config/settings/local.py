"""The embedded default for `make run`: SQLite, eager Celery, console e-mail."""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = env.bool("DEBUG", default=True)
# Known demo credentials only in the embedded default itself: on a laptop, SQLite, DEBUG on.
DEMO_KNOWN_CREDENTIALS = DEBUG and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
