"""The embedded default for `make run`: SQLite, eager Celery, console e-mail."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
