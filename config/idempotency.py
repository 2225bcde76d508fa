"""Idempotency keys: the rows behind config.api.idempotency, their claim and their sweep.

A key belongs to its owner: a channel credential or a staff member (`KeyOwner`). The claim is
the first write of an idempotent request's transaction (config.transactions.request_transaction):
the unique (owner, key) index makes a second request with the key wait on PostgreSQL until the
first commits (then it finds the row and its answer) or rolls back (then it claims the key
itself). It waits at most IDEMPOTENCY_WAIT_SECONDS: after that the first is still running and the
second is told so (409 idempotency_key_in_progress), having done nothing.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.exceptions import ConfigErrorCode, ConflictError
from config.models import ChannelClient, IdempotentRequest
from config.transactions import use_case

KEY_MAX_LENGTH = 100
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out


class IdempotencyKeyInProgress(ConflictError):
    """The first request with this key is still running: try again in a moment."""

    code = ConfigErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS

    def __init__(self) -> None:
        super().__init__(
            _("A request with this Idempotency-Key is still being processed. Try again in a moment."),
        )
        self.retry_after = 1


class IdempotencyKeyReused(ConflictError):
    """The key was used for another operation, or with another body."""

    code = ConfigErrorCode.IDEMPOTENCY_KEY_REUSED


class IdempotentAnswerErased(ConflictError):
    """The request was done once, but its answer named a person since erased: it is not kept."""

    code = ConfigErrorCode.IDEMPOTENCY_ANSWER_ERASED

    def __init__(self) -> None:
        super().__init__(
            _(
                "The request with this Idempotency-Key was done once; its answer named a person since erased "
                "and is not kept. Read the resource again."
            )
        )


@dataclass(frozen=True)
class KeyOwner:
    """Whose key: a channel credential's or a staff member's (exactly one)."""

    client: ChannelClient | None = None
    user: Any = None

    def lookup(self) -> dict[str, Any]:
        return {"client": self.client} if self.client is not None else {"user": self.user}


def idempotency_fingerprint(body: Any) -> str:
    """The body's digest (canonical JSON): a retry must send the same body to get the first answer."""
    if hasattr(body, "lists"):  # a form's QueryDict: every value of every field
        body = dict(body.lists())
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_request_find(*, owner: KeyOwner, key: str) -> IdempotentRequest | None:
    """The committed request this owner made with this key, if any."""
    return IdempotentRequest.objects.filter(**owner.lookup(), key=key).first()


def idempotent_request_check(stored: IdempotentRequest, *, operation: str, fingerprint: str) -> None:
    """A key answers only the request it was first sent with: the same operation and body."""
    if stored.operation != operation:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used for another operation (%(operation)s).")
            % {"operation": stored.operation}
        )
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(_("This Idempotency-Key was already used with another request body."))
    if stored.erased_at is not None:
        raise IdempotentAnswerErased


def idempotent_request_claim(
    *, owner: KeyOwner, key: str, operation: str, fingerprint: str
) -> IdempotentRequest | None:
    """Write the key's row inside the request's transaction; None when a request with it committed.

    A step of the request's transaction (config.api.idempotency opens it), in a savepoint of its
    own so that losing the race leaves that transaction usable.
    """
    wait_ms = max(1, int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000))
    try:
        with transaction.atomic():
            previous = _lock_timeout_set(f"{wait_ms}ms")
            claimed = IdempotentRequest.objects.create(
                **owner.lookup(), key=key, operation=operation, fingerprint=fingerprint
            )
            if previous is not None:
                _lock_timeout_set(previous)
            return claimed
    except IntegrityError:
        return None
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyKeyInProgress from None
        raise


def _lock_timeout_set(value: str) -> str | None:
    """Set this transaction's lock timeout on PostgreSQL; the one it had (None elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [value])
        return str(cursor.fetchone()[0])


# Personal data in stored answers. An app whose answers show someone's data registers, from its
# AppConfig.ready(), a finder: (the view, the answer as sent) -> whose data it shows ("customer:12",
# the outbox's subjects) or "". Config never imports the domain apps.
type SubjectFinder = Callable[[Any, Any], str]
_SUBJECT_FINDERS: list[SubjectFinder] = []


def idempotency_subject_finder_register(finder: SubjectFinder) -> None:
    if finder not in _SUBJECT_FINDERS:
        _SUBJECT_FINDERS.append(finder)


def idempotent_answer_subject(*, view: Any, body: Any) -> str:
    """Whose personal data an answer shows, as the first finder that knows says; "" for nobody's."""
    for finder in _SUBJECT_FINDERS:
        if subject := finder(view, body):
            return subject
    return ""


def idempotent_request_answer(request: IdempotentRequest, *, status_code: int, body: Any, subject: str = "") -> None:
    """Store the first answer, in the transaction that made it (a step of the request's transaction)."""
    request.status_code, request.body, request.subject = status_code, body, subject[:60]
    request.save(update_fields=["status_code", "body", "subject"])


def idempotent_requests_subject_erase(*, subject: str) -> int:
    """Empty the stored answers about `subject` (in the erasure's transaction); how many.

    A retry with one of their keys is refused (409 idempotency_answer_erased): the write was done.
    """
    if not subject:
        return 0
    return IdempotentRequest.objects.filter(subject=subject, erased_at__isnull=True).update(
        body=None, erased_at=timezone.now()
    )


def idempotent_requests_subject_rename(*, old: str, new: str) -> int:
    """Answers about `old` are now about `new` (two profiles of one person merged); how many."""
    if not old or old == new:
        return 0
    return IdempotentRequest.objects.filter(subject=old).update(subject=new)


@use_case
def idempotent_requests_sweep(*, older_than: timedelta | None = None, batch: int = 5000) -> int:
    """Forget keys older than the retention (IDEMPOTENCY_KEY_RETENTION_DAYS): a retry after that runs again.

    Deletes at most `batch` rows, oldest first; the periodic task runs until none are left.
    """
    age = older_than if older_than is not None else timedelta(days=settings.IDEMPOTENCY_KEY_RETENTION_DAYS)
    ids = list(
        IdempotentRequest.objects.filter(created_at__lt=timezone.now() - age)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    deleted, _by_model = IdempotentRequest.objects.filter(pk__in=ids).delete()
    return deleted


def idempotent_request_owner_for(*, client: ChannelClient | None, user: Any) -> KeyOwner | None:
    """The owner of a caller's keys: its credential, else the staff member signed in; None for anyone else."""
    if client is not None:
        return KeyOwner(client=client)
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None):
        return KeyOwner(user=user)
    return None
