"""Every write of the API is safe to retry: the `Idempotency-Key` header.

A client that does not know whether its POST arrived (a timeout, a dropped connection) sends it
again with the same key and gets the first answer back; the write happens once. One line applies
it to a view's handler, under `@action` or on an APIView's `post`:

    @action(detail=True, methods=["post"])
    @idempotent
    def payments(self, request, number): ...

tests/config/test_idempotency.py walks the URLconf and fails on a POST handler without it (or
without `idempotency_own`, for a write whose service keeps its own keys: placing an order).

The rules:

1. The header is optional: without it a request is handled as always. With it, the key is 1 to
   100 characters (else 400 `invalid_idempotency_key`, nothing done). It belongs to who sent it,
   the channel credential or the staff member signed in: two callers never share keys.
2. A key already used: with the same operation (method, URL name and its arguments: an order
   number typed in lower case or without its dash is the same order) and the same body, the first
   answer again (its status and body, whatever happened since), with `Idempotent-Replayed: true`,
   and nothing runs; with another operation or body, 409 `idempotency_key_reused`, nothing runs.
3. A new key: the key's row, the effect and the answer commit in one transaction
   (config.transactions.request_transaction; the use cases the view calls take part in it). A
   crash before the commit leaves nothing, so the retry does the work once; after it, the retry
   finds the answer.
4. Two requests with one key at once: the second waits for the first (the key's unique index, on
   PostgreSQL) and replays its answer; waiting more than IDEMPOTENCY_WAIT_SECONDS it is answered
   409 `idempotency_key_in_progress` with `Retry-After`, having done nothing.
5. A refusal (an error: the 4xx of a business rule, bad input, or a 500) takes everything back,
   the key included: it changed nothing, so nothing is remembered and a retry runs again (and may
   succeed, e.g. once the order is paid). Answers the view returns are remembered, whatever status.
6. Keys are kept IDEMPOTENCY_KEY_RETENTION_DAYS (config.tasks.idempotent_requests_sweep).
7. An answer that shows someone's personal data names them (`subject`, found by the finders apps
   register: customers' reads the answer's customer); erasing that person empties the stored
   answer, and a retry with its key is answered 409 `idempotency_answer_erased`, nothing run.

The schema (config.api.schema) documents the header and these answers on every operation marked.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.authentication import request_channel_client
from config.exceptions import ApplicationError, ConfigErrorCode
from config.idempotency import (
    KEY_MAX_LENGTH,
    IdempotencyKeyInProgress,
    idempotency_fingerprint,
    idempotent_answer_subject,
    idempotent_request_answer,
    idempotent_request_check,
    idempotent_request_claim,
    idempotent_request_find,
    idempotent_request_owner_for,
)
from config.models import IdempotentRequest
from config.transactions import request_transaction

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The methods a marked handler makes idempotent (an action may also answer GET: consents).
METHODS = frozenset({"POST"})
# A handler's `idempotency`: "key" (this module) or "own" (its service keeps keys of its own).
KEYED, OWN, CHANGES_NOTHING = "key", "own", "changes_nothing"

type Handler = Callable[..., Any]


class InvalidIdempotencyKey(ApplicationError):
    code = ConfigErrorCode.INVALID_IDEMPOTENCY_KEY

    def __init__(self) -> None:
        super().__init__(
            _("An Idempotency-Key is 1 to 100 characters."),
            fields={HEADER: [_("1 to 100 characters.")]},
        )


class _KeyTaken(Exception):
    """Another request with the key committed first: leave the transaction, then replay it."""


def idempotent(handler: Handler) -> Handler:
    """Make a view's POST handler safe to retry with an `Idempotency-Key` (see the module)."""

    @wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get(HEADER)
        if raw is None or request.method not in METHODS:
            return handler(view, request, *args, **kwargs)
        return idempotent_response(request, raw_key=raw, run=lambda: handler(view, request, *args, **kwargs), view=view)

    wrapper.idempotency = KEYED  # type: ignore[attr-defined]
    return wrapper


def idempotency_own(handler: Handler) -> Handler:
    """Mark a POST handler whose service keeps its own keys (the walk of the URLconf accepts it)."""
    handler.idempotency = OWN  # type: ignore[attr-defined]
    return handler


def changes_nothing(handler: Handler) -> Handler:
    """Mark a POST handler that only computes an answer (a quote): a retry is harmless, no key kept."""
    handler.idempotency = CHANGES_NOTHING  # type: ignore[attr-defined]
    return handler


def handler_idempotency(handler: Any) -> str | None:
    return getattr(handler, "idempotency", None)


def idempotency_key_checked(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        raise InvalidIdempotencyKey
    return key


def idempotent_response(request: Request, *, raw_key: str, run: Callable[[], Any], view: Any = None) -> Any:
    key = idempotency_key_checked(raw_key)
    owner = idempotent_request_owner_for(client=request_channel_client(request), user=request.user)
    if owner is None:  # nobody to keep keys for (no write of the API is open to anyone)
        return run()
    operation, legacy = idempotency_operation(request), f"{request.method} {request.path}"[:300]
    fingerprint = idempotency_fingerprint(request.data)
    stored = idempotent_request_find(owner=owner, key=key)
    if stored is None:
        try:
            with request_transaction():
                claimed = idempotent_request_claim(owner=owner, key=key, operation=operation, fingerprint=fingerprint)
                if claimed is None:
                    raise _KeyTaken
                response = run()
                if isinstance(response, Response):
                    body = _as_sent(response.data)
                    subject = idempotent_answer_subject(view=view, body=body)
                    idempotent_request_answer(claimed, status_code=response.status_code, body=body, subject=subject)
                else:  # not an answer this module can give again: the key is not kept
                    claimed.delete()
                return response
        except _KeyTaken:
            stored = idempotent_request_find(owner=owner, key=key)
            if stored is None:  # taken, then rolled back after all: the client may simply retry
                raise IdempotencyKeyInProgress from None
    return _replay(stored, operation=operation, fingerprint=fingerprint, legacy=legacy)


def idempotency_operation(request: Request) -> str:
    """What a key stands for: the method, the URL's name and its arguments as the view reads them.

    Not the path: the API accepts an order number typed another way (lower case, no dash), and a
    retry so typed is the same request. Each argument is compared upper-cased, without dashes or
    spaces (config does not know each app's codes; none tells two objects apart by those alone).
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        return f"{request.method} {request.path}"[:300]
    arguments = ",".join(f"{name}={_normalised(value)}" for name, value in sorted(match.kwargs.items()))
    return f"{request.method} {match.view_name}({arguments})"[:300]


def _normalised(value: Any) -> str:
    return "".join(str(value).split()).upper().replace("-", "")


def _replay(stored: IdempotentRequest, *, operation: str, fingerprint: str, legacy: str) -> Response:
    # Keys stored before operations were named so (the method and path) still answer their request.
    if stored.operation == legacy:
        operation = legacy
    idempotent_request_check(stored, operation=operation, fingerprint=fingerprint)
    return Response(stored.body, status=stored.status_code, headers={REPLAYED_HEADER: "true"})


def _as_sent(data: Any) -> Any:
    """The body as the client reads it: the API's JSON renderer's output, parsed back."""
    return None if data is None else json.loads(JSONRenderer().render(data))
