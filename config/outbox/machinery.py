"""Enqueue, claim, send, settle, sweep and replay: the steps every outbox message goes through."""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.exceptions import ConfigErrorCode, ConflictError
from config.models import OutboxKind, OutboxMessage, OutboxStatus, WebhookSubscription
from config.selectors import outbox_message_ids_due
from config.tasks import outbox_send as outbox_send_task
from config.transactions import use_case

logger = logging.getLogger(__name__)

BACKOFF_MAX = timedelta(hours=6)
# Retries spread over up to this fraction of their delay, so receivers that come back are not stampeded.
BACKOFF_JITTER = 0.1
# How long a handler that waits (OutboxDefer) leaves a message before it is tried again.
DEFER_DELAY = timedelta(minutes=1)
ERROR_MAX_CHARS = 2000
# The sweeper leaves a message never tried and this young to the task its commit enqueued.
SWEEP_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did. An empty `error` means done.

    `undeliverable`: there is nobody to send it to (settled for good, never retried).
    `context`: whatever the handler's `settled` needs from the send (e.g. the route it chose).
    """

    error: str = ""
    status_code: int | None = None
    undeliverable: bool = False
    context: Any = None


class OutboxDefer(Exception):
    """Raised by a handler that must wait for something else (the previous record of a chain).

    The message stays pending, due again after `delay`; the attempt is not counted.
    """

    def __init__(self, reason: str, *, delay: timedelta = DEFER_DELAY) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class OutboxHandler:
    """What the app owning a kind registers: how to send one message, what to record when it settles.

    `send` runs outside any transaction, in the message's language when it has one; it returns
    an `Outcome` or raises (any exception is a failed attempt; `OutboxDefer` is a wait).
    """

    kind: ClassVar[str]
    # The setting holding how many attempts the kind gets before a dead letter.
    max_attempts_setting: ClassVar[str] = "OUTBOUND_MAX_ATTEMPTS"
    # The body names rows (ids, numbers) `send` reads at send time and holds no personal data of its
    # own: redaction (config.outbox.privacy) keeps it, and a redacted message may be replayed.
    body_is_reference: ClassVar[bool] = False

    def lease(self) -> timedelta:
        """How long one attempt may hold the row: longer than any send of this kind takes."""
        return timedelta(seconds=float(settings.OUTBOUND_TIMEOUT_SECONDS) * 3)

    def max_attempts(self) -> int:
        return int(getattr(settings, self.max_attempts_setting))

    def send(self, message: OutboxMessage) -> Outcome:
        raise NotImplementedError

    def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        """Runs inside the transaction that settles the message for good (sent, dead, undeliverable)."""

    def replayed(self, message: OutboxMessage) -> None:
        """Runs inside the transaction that makes a message pending again (staff replayed it)."""


_handlers: dict[str, OutboxHandler] = {}
# Lease and attempts of a kind nobody registered (its attempts fail, saying so, until a dead letter).
_UNREGISTERED = OutboxHandler()


def outbox_handler_register(handler: OutboxHandler) -> None:
    """The port: the app owning a kind registers its handler (from its AppConfig.ready())."""
    if handler.kind not in OutboxKind.values:
        raise ValueError(f"{handler.kind!r} is not an outbox kind (config.models.OutboxKind).")
    _handlers[handler.kind] = handler


def outbox_handler(kind: str) -> OutboxHandler | None:
    return _handlers.get(kind)


def outbox_kinds_without_handler() -> list[str]:
    """Kinds nobody registered a handler for: their messages could never be sent."""
    return [kind for kind in OutboxKind.values if kind not in _handlers]


def outbox_backoff(*, attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base * 2^(attempts-1), at most 6 hours."""
    base = float(settings.OUTBOUND_BACKOFF_BASE_SECONDS)
    exponent = min(max(attempts - 1, 0), 32)  # 2^32 * base is far past the cap already
    return min(timedelta(seconds=base * 2**exponent), BACKOFF_MAX)


def _retry_delay(attempts: int) -> timedelta:
    delay = outbox_backoff(attempts=attempts)
    return delay + delay * BACKOFF_JITTER * random.random()  # noqa: S311 (spreading load, not a secret)


def _max_attempts(handler: OutboxHandler | None) -> int:
    return (handler or _UNREGISTERED).max_attempts()


def _send_on_commit(message_id: int) -> None:
    # Robust: a broker that is down must not fail a committed change; the sweeper sends it later.
    transaction.on_commit(partial(outbox_send_task.delay, message_id), robust=True)


def outbox_enqueue(
    *,
    kind: str,
    target: str,
    body: Any,
    event: str = "",
    dedupe_key: str = "",
    language: str = "",
    secret: str = "",
    subscription: WebhookSubscription | None = None,
    subject: str = "",
    owed_after_erasure: bool = False,
) -> OutboxMessage:
    """Record a message owed, in the caller's transaction; a worker sends it once that commits.

    `body` is anything JSON-serialisable (Decimals, dates and UUIDs included). With a
    `dedupe_key`, the message is owed once per kind and key: asking again returns the one
    already there and enqueues nothing (the caller holds the lock of what the key names).
    `subject` names whose personal data it carries ("customer:12"): erasing them redacts it,
    and stops it when still pending unless `owed_after_erasure` (config.outbox.privacy).
    """
    if dedupe_key:
        existing = OutboxMessage.objects.filter(kind=kind, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    message = OutboxMessage.objects.create(
        kind=kind,
        event=event,
        target=target,
        body=body,
        dedupe_key=dedupe_key,
        language=language,
        secret=secret,
        subscription=subscription,
        subject=subject,
        owed_after_erasure=owed_after_erasure,
        status=OutboxStatus.PENDING,
        next_attempt_at=timezone.now(),
    )
    _send_on_commit(message.pk)
    return message


def _dead_letter(message: OutboxMessage, handler: OutboxHandler | None, error: str) -> None:
    """Inside the caller's transaction, with the row locked."""
    message.status = OutboxStatus.DEAD
    message.leased_until = None
    message.last_error = error[:ERROR_MAX_CHARS]
    message.save(update_fields=["status", "leased_until", "last_error"])
    if handler is not None:
        handler.settled(message, Outcome(error=error))


def _lease_free(now: datetime) -> Q:
    """Nobody holds the row: never leased, or the lease ran out (the worker died)."""
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _claim(message_id: int) -> OutboxMessage | None:
    """Take the row for one attempt (counted, and a lease); None when it is not pending, due and free.

    Durable: a claim inside the caller's transaction would hold the row's lock (and the lease
    uncommitted) for the whole send, so calling outbox_send inside a transaction fails loudly.
    """
    with transaction.atomic(durable=True):
        now = timezone.now()
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(_lease_free(now), pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        handler = outbox_handler(message.kind)
        if message.attempts >= _max_attempts(handler):
            # Its last attempt was claimed and never reported back (the worker died).
            _dead_letter(message, handler, message.last_error or "The last attempt did not report back.")
            return None
        message.attempts += 1
        message.leased_until = now + (handler or _UNREGISTERED).lease()
        message.next_attempt_at = message.leased_until
        message.save(update_fields=["attempts", "leased_until", "next_attempt_at"])
    return message


def _defer(message: OutboxMessage, wait: OutboxDefer) -> None:
    """Give the claim back without counting the attempt; due again after the handler's delay."""
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING, attempts=message.attempts).update(
        attempts=message.attempts - 1,
        leased_until=None,
        next_attempt_at=timezone.now() + wait.delay,
        last_error=wait.reason[:ERROR_MAX_CHARS],
    )


def _settle(message: OutboxMessage, outcome: Outcome, handler: OutboxHandler | None) -> bool:
    """Record the attempt's outcome, only while the claim is still ours; True when it was sent."""
    with transaction.atomic(durable=True):
        locked = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message.pk, status=OutboxStatus.PENDING, attempts=message.attempts)
            .first()
        )
        if locked is None:
            # Settled by staff meanwhile, or our lease ran out and another attempt took the row.
            logger.warning("Outbox message %s was settled or taken over by another attempt.", message.pk)
            return False
        now = timezone.now()
        locked.last_status_code = outcome.status_code
        locked.leased_until = None
        if outcome.error:
            locked.last_error = outcome.error[:ERROR_MAX_CHARS]
            if locked.attempts >= _max_attempts(handler):
                locked.status = OutboxStatus.DEAD
            else:
                locked.next_attempt_at = now + _retry_delay(locked.attempts)
        else:
            locked.last_error = ""
            if outcome.undeliverable:
                locked.status = OutboxStatus.UNDELIVERABLE
            else:
                locked.status = OutboxStatus.SENT
                locked.sent_at = now
        locked.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "leased_until",
                "last_error",
                "last_status_code",
                "sent_at",
            ]
        )
        if locked.status != OutboxStatus.PENDING and handler is not None:
            handler.settled(locked, outcome)
    return locked.status == OutboxStatus.SENT


def outbox_send(*, message_id: int) -> bool:
    """Try one message now if it is pending and due; otherwise do nothing (tasks may run twice).

    True when this call sent it. No database transaction is open while the handler sends: called
    inside one, it raises RuntimeError before claiming anything.
    """
    message = _claim(message_id)
    if message is None:
        return False
    handler = outbox_handler(message.kind)
    try:
        if handler is None:
            raise LookupError(f"No handler is registered for the outbox kind {message.kind!r}.")
        language = translation.override(message.language) if message.language else contextlib.nullcontext()
        with language:
            outcome = handler.send(message)
    except OutboxDefer as wait:
        _defer(message, wait)
        return False
    except Exception as error:  # refusals, timeouts, a broken template: all a failed attempt
        outcome = Outcome(error=f"{type(error).__name__}: {error}")
    if outcome.error:
        logger.warning(
            "Outbox message %s (%s → %s): attempt %s failed: %s",
            message.pk,
            message.kind,
            message.target,
            message.attempts,
            outcome.error,
        )
    return _settle(message, outcome, handler)


@use_case
def outbox_replay(*, message: OutboxMessage, include_sent: bool = False) -> OutboxMessage:
    """Send a dead letter (or a pending or undeliverable message) again now, with a fresh count of attempts.

    Same body, same secret, same id: a webhook receiver sees the same signed request. A sent
    message is refused unless `include_sent` (a document e-mailed again at staff's request).
    A use case (staff replay from the admin); `outbox_replay.step` inside another one.
    """
    locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if locked.status == OutboxStatus.SENT and not include_sent:
        raise ConflictError(
            _("Outbox message %(id)s was already sent.") % {"id": locked.pk}, code=ConfigErrorCode.ALREADY_DELIVERED
        )
    handler = outbox_handler(locked.kind)
    if locked.redacted_at is not None and not (handler is not None and handler.body_is_reference):
        raise ConflictError(
            _("Outbox message %(id)s was redacted: there is nothing left to send.") % {"id": locked.pk},
            code=ConfigErrorCode.OUTBOX_REDACTED,
        )
    if locked.status == OutboxStatus.PENDING and locked.leased_until and locked.leased_until > timezone.now():
        # Made due again, it would be sent a second time while the worker holding it still sends.
        raise ConflictError(
            _("Outbox message %(id)s is being sent right now; replay it once this attempt ends.") % {"id": locked.pk},
            code=ConfigErrorCode.BEING_SENT,
        )
    locked.status = OutboxStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.leased_until = None
    locked.sent_at = None
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "leased_until", "sent_at"])
    if handler is not None:
        handler.replayed(locked)
    _send_on_commit(locked.pk)
    return locked


def outbox_expedite(*, kind: str, dedupe_key: str) -> bool:
    """Make a pending message that is waiting due now and enqueue it after commit (a chain moved on).

    Nothing when there is no such message, or it is being sent (a worker holds its lease): one
    guarded UPDATE, so a claim between reading and writing cannot have its lease undone. True
    when it was made due.
    """
    if not dedupe_key:
        return False
    now = timezone.now()
    waiting = OutboxMessage.objects.filter(
        _lease_free(now), kind=kind, dedupe_key=dedupe_key, status=OutboxStatus.PENDING
    )
    if not waiting.update(next_attempt_at=now):
        return False
    # (kind, dedupe_key) is unique: the row just updated.
    message_id = OutboxMessage.objects.filter(kind=kind, dedupe_key=dedupe_key).values_list("pk", flat=True).get()
    _send_on_commit(message_id)
    return True


def outbox_sweep(*, limit: int = 500) -> int:
    """Enqueue every pending message that is due (oldest first, at most `limit`); how many."""
    ids = outbox_message_ids_due(grace=SWEEP_GRACE, limit=limit)
    for message_id in ids:
        outbox_send_task.delay(message_id)
    return len(ids)
