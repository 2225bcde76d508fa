"""Personal data in the outbox: redacted when its person is erased, purged once a retention period is over.

A message's body (a webhook's JSON) and its target (an e-mail's address) may carry someone's
personal data. The domain app that owes a message says whose with `subject` at enqueue
("customer:12", customers' `customer_outbox_subject`), so an erasure finds them all:

- **Settled messages** (sent, undeliverable, dead) about the erased person are redacted now: the
  body emptied (kept when the kind's handler says it holds only references to rows, which
  are scrubbed where they live), an e-mail's address replaced, the last error cleared.
- **Pending messages** are not sent any more: settled as undeliverable ("its subject was erased")
  and redacted, their handler told as for any undeliverable message. A worker sending one at that
  very moment finishes that send (what it holds is in memory) and then finds the row settled.
- A message **owed after erasure** (`owed_after_erasure`: an ERP's copy of a fiscal document,
  which the law keeps) is still sent, or replayed by staff when a dead letter; once sent it is
  redacted like the others, by the retention purge.

Mail files: where e-mails are written to files (the embedded default's file backend), the files
sent to the person's addresses are deleted once the erasure commits.

**Retention.** The outbox sweeper purges every message sent or undeliverable more than
`OUTBOX_RETENTION_DAYS` ago the same way, whoever it is about, and deletes mail files older than
that. A **dead letter** whose last attempt is older than the retention is purged too, but staff
keep the row and its error: the body is emptied (unless it holds only references), an e-mail's
address replaced, in the error as well. A dead letter owed after erasure (an ERP's copy of a
fiscal document) is not purged: staff still owe it a replay. A redacted message whose body was
emptied cannot be replayed (`outbox_redacted`); one whose handler keeps its references can.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone

from config.models import OutboxMessage, OutboxStatus
from config.outbox.email import EmailHandler
from config.outbox.machinery import Outcome, outbox_handler
from config.transactions import use_case

logger = logging.getLogger(__name__)

# What a redacted e-mail's target reads instead of the address.
ERASED_TARGET = "[erased]"
ERASED_ERROR = "Not sent: the person it was about was erased."
SETTLED = (OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE, OutboxStatus.DEAD)


def _keeps_body(kind: str) -> bool:
    handler = outbox_handler(kind)
    return handler is not None and handler.body_is_reference


def _is_email(kind: str) -> bool:
    return isinstance(outbox_handler(kind), EmailHandler)


def _redact(
    messages: QuerySet[OutboxMessage],
    *,
    kind: str,
    now: datetime,
    last_error: str | None = "",
    **changes: Any,
) -> int:
    """Empty what in these rows of one kind is personal, in one UPDATE; how many.

    `last_error=None` keeps each row's error for staff, an e-mail's address replaced in it.
    """
    if not _keeps_body(kind):
        changes["body"] = {}
    if _is_email(kind):
        changes["target"] = ERASED_TARGET
        if last_error is None:  # the UPDATE reads the address before it replaces it
            # (the stubs type Replace's text as a Value; any expression works)
            changes["last_error"] = Replace(F("last_error"), F("target"), Value(ERASED_TARGET))  # type: ignore[arg-type]
    if last_error is not None:
        changes["last_error"] = last_error
    return messages.filter(kind=kind).update(redacted_at=now, **changes)


def _still_owed(message: OutboxMessage) -> bool:
    """Owed after erasure and not sent yet: sent (or replayed) first, then purged after the retention."""
    return message.owed_after_erasure and message.status != OutboxStatus.SENT


def outbox_subject_erase(*, subject: str) -> int:
    """Redact every stored message about `subject` and stop those still pending; how many were touched.

    Runs inside the erasure's transaction (customers' `customer_erase`), rows locked in pk order.
    The addresses its e-mails went to are gone from the mail files once that transaction commits.
    """
    if not subject:
        return 0
    now = timezone.now()
    messages = list(OutboxMessage.objects.select_for_update().filter(subject=subject).order_by("pk"))
    addresses = {message.target for message in messages if _is_email(message.kind) and "@" in message.target}
    settled = [m.pk for m in messages if m.status in SETTLED and m.redacted_at is None and not _still_owed(m)]
    pending = [m for m in messages if m.status == OutboxStatus.PENDING and not _still_owed(m)]
    touched = 0
    for kind in {m.kind for m in messages}:
        touched += _redact(OutboxMessage.objects.filter(pk__in=settled), kind=kind, now=now)
        touched += _redact(
            OutboxMessage.objects.filter(pk__in=[m.pk for m in pending]),
            kind=kind,
            now=now,
            last_error=ERASED_ERROR,
            status=OutboxStatus.UNDELIVERABLE,
            leased_until=None,
        )
    # Told as for any undeliverable message (an order notification becomes unreachable).
    for message in OutboxMessage.objects.filter(pk__in=[m.pk for m in pending]).order_by("pk"):
        handler = outbox_handler(message.kind)
        if handler is not None:
            handler.settled(message, Outcome(undeliverable=True))
    mail_files_forget(addresses)
    return touched


def outbox_subject_rename(*, old: str, new: str) -> int:
    """Messages about `old` are now about `new` (two profiles of one person merged); how many."""
    if not old or old == new:
        return 0
    return OutboxMessage.objects.filter(subject=old).update(subject=new)


def mail_files_forget(addresses: Iterable[str]) -> None:
    """Once the caller's transaction commits, delete the mail files sent to any of these addresses."""
    wanted = {address.strip().lower() for address in addresses if address.strip()}
    if wanted and mail_file_directory() is not None:
        transaction.on_commit(partial(_mail_files_delete, wanted), robust=True)


def mail_file_directory() -> Path | None:
    """Where the file e-mail backend writes, or None when e-mails are not written to files."""
    mailer = settings.MAILERS.get("default", {})
    if not str(mailer.get("BACKEND", "")).endswith("filebased.EmailBackend"):
        return None
    path = mailer.get("OPTIONS", {}).get("file_path")
    return Path(path) if path else None


def _mail_files(directory: Path) -> Iterable[Path]:
    return (path for path in directory.iterdir() if path.is_file()) if directory.is_dir() else ()


def _mail_files_delete(addresses: set[str]) -> int:
    """Delete the mail files that name any of the addresses (headers are plain text); how many."""
    directory = mail_file_directory()
    if directory is None:
        return 0
    deleted = 0
    for path in _mail_files(directory):
        content = path.read_bytes().decode("utf-8", errors="replace").lower()
        if any(address in content for address in addresses):
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


@use_case
def outbox_retention_purge(*, limit: int = 500) -> int:
    """Redact messages settled longer ago than the retention; how many.

    Sent ones by when they were sent, undeliverable ones and dead letters by their last attempt
    (dead letters keep their error, see the module), oldest first, at most `limit` a run (the
    sweeper runs every minute), rows a worker holds skipped. Each query reads a partial index of
    the rows not redacted yet (config.models.OutboxMessage). Mail files older than the retention
    are deleted too.
    """
    cutoff = timezone.now() - timedelta(days=int(settings.OUTBOX_RETENTION_DAYS))
    _mail_files_expire(cutoff)
    unredacted = OutboxMessage.objects.select_for_update(skip_locked=True).filter(redacted_at__isnull=True)
    due = list(
        unredacted.filter(status=OutboxStatus.SENT, sent_at__lt=cutoff)
        .order_by("sent_at", "pk")
        .only("pk", "kind", "status")[:limit]
    )
    if len(due) < limit:
        due += list(
            unredacted.filter(status__in=(OutboxStatus.UNDELIVERABLE, OutboxStatus.DEAD), next_attempt_at__lt=cutoff)
            .exclude(status=OutboxStatus.DEAD, owed_after_erasure=True)
            .order_by("next_attempt_at", "pk")
            .only("pk", "kind", "status")[: limit - len(due)]
        )
    now = timezone.now()
    for kind in {message.kind for message in due}:
        settled = [m.pk for m in due if m.kind == kind and m.status != OutboxStatus.DEAD]
        dead = [m.pk for m in due if m.kind == kind and m.status == OutboxStatus.DEAD]
        if settled:
            _redact(OutboxMessage.objects.filter(pk__in=settled), kind=kind, now=now)
        if dead:
            _redact(OutboxMessage.objects.filter(pk__in=dead), kind=kind, now=now, last_error=None)
    return len(due)


def _mail_files_expire(cutoff: datetime) -> int:
    directory = mail_file_directory()
    if directory is None:
        return 0
    deleted = 0
    for path in _mail_files(directory):
        if datetime.fromtimestamp(path.stat().st_mtime, tz=cutoff.tzinfo) < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
