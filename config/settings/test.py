"""Tests run against PostgreSQL and Redis on 127.0.0.1 unless told otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retail")
# One Redis database per xdist worker, so that one worker's cache.clear() spares the other,
# and a key prefix per test process. Set, not defaulted: xdist workers inherit the
# controller's environment, which already holds the controller's values.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")
os.environ["REDIS_URL"] = os.environ.get(
    "TEST_REDIS_URL", f"redis://127.0.0.1:6379/{int(_worker.removeprefix('gw')) + 2}"
)
os.environ["CACHE_KEY_PREFIX"] = f"retail-test-{os.getpid()}"

from .base import *  # noqa: F403
from .base import DATABASES

# The test database is created and dropped by the run; a pool per xdist worker
# would only hold connections open across test databases.
DATABASES["default"]["OPTIONS"].pop("pool", None)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Unit tests run tasks in-process; integration tests start a real worker.
CELERY_TASK_ALWAYS_EAGER = True
# Issuing a document does not render it in-process (a PDF each); pipeline tests turn it on.
INVOICE_PROCESS_ON_COMMIT = False
LANGUAGE_CODE = "en"
# Static files come from the finders: tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
