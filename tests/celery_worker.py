"""A real Celery worker process against Redis and the test database, for integration tests."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running_worker(queue: str, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start `celery worker` on its own queue, pointed at the current test database.

    `extra_env` adds environment variables (settings) for the worker process only.
    """
    database = settings.DATABASES["default"]
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    env |= {
        "DJANGO_ENV": "local",
        "DEBUG": "0",
        "DATABASE_URL": url,
        "DB_POOL": "0",
        "REDIS_URL": settings.REDIS_URL,
    }
    env |= extra_env or {}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "-P",
            "solo",
            "-l",
            "INFO",
            # Its own name, and no chatter with other workers: Redis pub/sub is server-wide,
            # so workers of parallel test runs would otherwise meet each other.
            "-n",
            f"test-{uuid.uuid4().hex[:8]}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert worker.stdout is not None
        deadline = time.monotonic() + 60
        for line in worker.stdout:
            if b"ready." in line:
                break
            assert time.monotonic() < deadline, "the worker did not start"
        else:
            raise AssertionError("the worker exited before it was ready")
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@contextmanager
def eager_off() -> Iterator[None]:
    """Send tasks to the broker instead of running them in-process (the unit-test default)."""
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True
