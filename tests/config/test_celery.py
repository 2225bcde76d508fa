"""Celery wiring: tasks travel through Redis to a real worker that uses the same database."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.tasks import sessions_clear_expired
from tests.celery_worker import eager_off, running_worker, wait_until


def make_session(*, expired: bool) -> str:
    store = SessionStore()
    store["cart"] = "x"
    store.create()
    if expired:
        Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    assert store.session_key is not None
    return store.session_key


@pytest.mark.django_db
def test_sessions_clear_expired_keeps_live_sessions() -> None:
    expired, live = make_session(expired=True), make_session(expired=False)
    sessions_clear_expired()
    sessions_clear_expired()  # idempotent
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert expired != live


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_sent_through_redis() -> None:
    make_session(expired=True)
    live = make_session(expired=False)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with running_worker(queue), eager_off():
        sessions_clear_expired.apply_async(queue=queue)
        assert wait_until(lambda: Session.objects.count() == 1)
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
