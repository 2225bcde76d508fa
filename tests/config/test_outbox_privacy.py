"""The outbox forgets: erasing a person redacts the messages about them; a retention period purges the rest.

config/outbox/privacy.py states the rules; each is a test here. Messages are written directly
(no task enqueued); the kinds are the project's own, so their handlers decide what a body keeps.
"""

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.exceptions import ConfigErrorCode, ConflictError
from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import outbox_replay, outbox_retention_purge, outbox_send, outbox_subject_erase
from config.outbox.privacy import ERASED_ERROR, ERASED_TARGET
from config.tasks import outbox_sweep

pytestmark = pytest.mark.django_db

ANA = "customer:1"
PERSONAL = {"recipient": {"name": "Ana García", "identities": [{"kind": "phone", "value": "+34600000001"}]}}


def message(*, status: str = OutboxStatus.SENT, kind: str = OutboxKind.WEBHOOK, **fields: Any) -> OutboxMessage:
    now = timezone.now()
    values: dict[str, Any] = {
        "kind": kind,
        "target": "https://whatsapp.example.com/hooks" if kind == OutboxKind.WEBHOOK else "ana@example.com",
        "event": "order.notification",
        "body": PERSONAL,
        "subject": ANA,
        "status": status,
        "sent_at": now if status == OutboxStatus.SENT else None,
        "next_attempt_at": now,
        "last_error": "550 ana@example.com: mailbox unavailable" if status != OutboxStatus.SENT else "",
    }
    return OutboxMessage.objects.create(**(values | fields))


def stored(row: OutboxMessage) -> str:
    """Everything the row keeps that could hold personal data."""
    row.refresh_from_db()
    return json.dumps(row.body) + row.target + row.last_error


@pytest.mark.parametrize("status", [OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE, OutboxStatus.DEAD])
def test_erasure_empties_a_settled_webhook_about_the_person(status: str) -> None:
    row = message(status=status)

    outbox_subject_erase(subject=ANA)

    row.refresh_from_db()
    assert (row.body, row.last_error, row.status) == ({}, "", status)
    assert row.redacted_at is not None
    assert "Ana" not in stored(row)
    assert "+34600000001" not in stored(row)


def test_erasure_leaves_messages_about_others_alone() -> None:
    other = message(subject="customer:2")
    untagged = message(subject="")

    outbox_subject_erase(subject=ANA)

    assert OutboxMessage.objects.get(pk=other.pk).body == PERSONAL
    assert OutboxMessage.objects.get(pk=untagged.pk).body == PERSONAL


def test_an_emails_address_is_replaced_and_a_body_of_references_kept() -> None:
    row = message(kind=OutboxKind.INVOICE_EMAIL, body={"invoice": 7, "number": "T2026-1"})

    outbox_subject_erase(subject=ANA)

    row.refresh_from_db()
    assert (row.target, row.body) == (ERASED_TARGET, {"invoice": 7, "number": "T2026-1"})


def test_a_pending_message_about_the_erased_person_is_never_sent() -> None:
    row = message(status=OutboxStatus.PENDING)

    outbox_subject_erase(subject=ANA)

    row.refresh_from_db()
    assert (row.status, row.last_error, row.body, row.leased_until) == (
        OutboxStatus.UNDELIVERABLE,
        ERASED_ERROR,
        {},
        None,
    )
    assert outbox_send(message_id=row.pk) is False


def test_a_message_owed_after_erasure_is_still_sent_then_purged_after_the_retention(settings: Any) -> None:
    row = message(status=OutboxStatus.PENDING, owed_after_erasure=True)

    outbox_subject_erase(subject=ANA)

    row.refresh_from_db()
    assert (row.status, row.body, row.redacted_at) == (OutboxStatus.PENDING, PERSONAL, None)
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENT, sent_at=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS, seconds=1)
    )
    assert outbox_retention_purge() == 1
    assert OutboxMessage.objects.get(pk=row.pk).body == {}


def test_a_message_owed_after_erasure_already_sent_is_redacted_at_once() -> None:
    row = message(owed_after_erasure=True)

    outbox_subject_erase(subject=ANA)

    assert OutboxMessage.objects.get(pk=row.pk).body == {}


def test_a_redacted_webhook_cannot_be_replayed_and_nothing_changes() -> None:
    row = message(status=OutboxStatus.DEAD)
    outbox_subject_erase(subject=ANA)

    with pytest.raises(ConflictError) as refused:
        outbox_replay(message=row)

    assert refused.value.code == ConfigErrorCode.OUTBOX_REDACTED
    assert OutboxMessage.objects.get(pk=row.pk).status == OutboxStatus.DEAD


def test_a_redacted_message_of_references_can_still_be_replayed() -> None:
    row = message(kind=OutboxKind.INVOICE_EMAIL, body={"invoice": 7, "number": "T2026-1"})
    outbox_subject_erase(subject=ANA)

    replayed = outbox_replay(message=row, include_sent=True)

    assert replayed.status == OutboxStatus.PENDING


# --- Retention ------------------------------------------------------------------------------------


def test_the_sweeper_purges_messages_sent_longer_ago_than_the_retention(settings: Any) -> None:
    settings.OUTBOX_RETENTION_DAYS = 10
    old = message(subject="", sent_at=timezone.now() - timedelta(days=10, minutes=1))
    recent = message(subject="", sent_at=timezone.now() - timedelta(days=9))

    outbox_sweep.delay()

    assert OutboxMessage.objects.get(pk=old.pk).body == {}
    assert OutboxMessage.objects.get(pk=old.pk).redacted_at is not None
    assert OutboxMessage.objects.get(pk=recent.pk).body == PERSONAL


def test_a_dead_letter_older_than_the_retention_is_purged_but_keeps_its_row_and_error(settings: Any) -> None:
    settings.OUTBOX_RETENTION_DAYS = 10
    dead = message(
        kind=OutboxKind.INVOICE_EMAIL,
        status=OutboxStatus.DEAD,
        body={"invoice": 7, "number": "T2026-1"},
        next_attempt_at=timezone.now() - timedelta(days=10, minutes=1),
    )
    webhook = message(status=OutboxStatus.DEAD, last_error="HTTP 500", next_attempt_at=dead.next_attempt_at)

    outbox_sweep.delay()

    dead.refresh_from_db()
    assert (dead.status, dead.target, dead.redacted_at is not None) == (OutboxStatus.DEAD, ERASED_TARGET, True)
    assert dead.last_error == f"550 {ERASED_TARGET}: mailbox unavailable"
    webhook.refresh_from_db()
    assert (webhook.status, webhook.body, webhook.last_error) == (OutboxStatus.DEAD, {}, "HTTP 500")


def test_a_dead_letter_within_the_retention_waits_for_staff_untouched(settings: Any) -> None:
    settings.OUTBOX_RETENTION_DAYS = 10
    dead = message(status=OutboxStatus.DEAD, next_attempt_at=timezone.now() - timedelta(days=9))

    assert outbox_retention_purge() == 0

    dead.refresh_from_db()
    assert (dead.body, dead.redacted_at) == (PERSONAL, None)


def test_a_dead_letter_owed_after_erasure_is_kept_for_its_replay(settings: Any) -> None:
    dead = message(
        status=OutboxStatus.DEAD,
        owed_after_erasure=True,
        next_attempt_at=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1),
    )

    assert outbox_retention_purge() == 0

    assert OutboxMessage.objects.get(pk=dead.pk).body == PERSONAL


def test_an_undeliverable_message_is_purged_after_the_retention_too(settings: Any) -> None:
    row = message(
        status=OutboxStatus.UNDELIVERABLE,
        next_attempt_at=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1),
    )

    assert outbox_retention_purge() == 1

    assert "Ana" not in stored(row)
    assert "ana@example.com" not in stored(row)


def test_the_retention_purge_writes_a_batch_in_constant_queries(
    settings: Any, django_assert_max_num_queries: Any
) -> None:
    long_ago = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    for kind in (OutboxKind.WEBHOOK, OutboxKind.INVOICE_EMAIL):
        for _ in range(5):
            message(kind=kind, subject="", sent_at=long_ago)
            message(kind=kind, subject="", status=OutboxStatus.DEAD, next_attempt_at=long_ago)

    # The sent ones, then the undeliverable and dead ones (an index each); an UPDATE per kind and fate.
    with django_assert_max_num_queries(8):
        assert outbox_retention_purge() == 20


# --- Mail files -----------------------------------------------------------------------------------


@pytest.fixture
def mail_dir(settings: Any, tmp_path: Path) -> Path:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    return tmp_path


def test_erasure_deletes_the_mail_files_sent_to_the_persons_addresses_after_commit(
    mail_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    (mail_dir / "1.log").write_text("To: Ana <ana@example.com>\nSubject: Factura\n\nHola Ana")
    (mail_dir / "2.log").write_text("To: luis@example.com\nSubject: Factura\n\nHola Luis")
    message(kind=OutboxKind.INVOICE_EMAIL, target="ANA@example.com", body={"invoice": 1})

    with django_capture_on_commit_callbacks(execute=True):
        outbox_subject_erase(subject=ANA)

    assert sorted(path.name for path in mail_dir.iterdir()) == ["2.log"]


def test_mail_files_older_than_the_retention_are_deleted_by_the_purge(mail_dir: Path, settings: Any) -> None:
    old, recent = mail_dir / "old.log", mail_dir / "recent.log"
    old.write_text("To: ana@example.com")
    recent.write_text("To: ana@example.com")
    long_ago = time.time() - (settings.OUTBOX_RETENTION_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))

    outbox_retention_purge()

    assert [path.name for path in mail_dir.iterdir()] == ["recent.log"]


def test_the_retention_purge_reads_its_partial_indexes_not_the_whole_outbox(settings: Any) -> None:
    long_ago = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    message(subject="", sent_at=long_ago)
    message(subject="", status=OutboxStatus.DEAD, next_attempt_at=long_ago)
    with CaptureQueriesContext(connection) as captured:
        outbox_retention_purge()
    reads = [query["sql"] for query in captured.captured_queries if "SKIP LOCKED" in query["sql"]]

    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the tables of a test are too small to need an index
        for sql in reads:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append(" ".join(row[0] for row in cursor.fetchall()))

    assert len(plans) == 2
    assert "outbox_message_purge_sent_idx" in plans[0]
    assert "outbox_message_purge_idx" in plans[1]
    assert not any("Sort" in plan for plan in plans)  # the index gives the order
