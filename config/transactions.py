"""Use cases and their transactions.

A use case is what a caller outside the domain asks for (an API view, an admin action, a
task, a command): place an order, take a payment, issue a credit note. Each runs in exactly
one transaction that it opens itself, `atomic(durable=True)`, so a use case called inside
another's transaction fails loudly instead of silently becoming a part of it (and
committing, or not, with it). Callers outside the domain therefore open no transaction of
their own around a use case: the use case is the transaction.

Steps that compose inside a use case are plain functions that run in whatever transaction
their caller opened (with a savepoint of their own only where they recover from an error).
Some work is both: staff cancel a transfer (a use case), and cancelling an order cancels its
transfers (a step of that use case). Such a use case offers its body as `.step`, to be called
only from inside another use case: `transfer_cancel(transfer=t)` from the admin,
`transfer_cancel.step(transfer=t)` from `order_cancel`.

One caller outside the domain does open the transaction: an API write sent with an
`Idempotency-Key` (config.api.idempotency). Its key, its effect and its answer must commit
together, so it runs in `request_transaction()`, and the use cases the view calls there take part
in it (each as a savepoint: a refusal still takes back all it wrote) instead of opening their own.
Only those: a use case that such a use case calls is refused as everywhere else.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import update_wrapper

from django.db import transaction

# True while a request_transaction is open and no use case runs in it yet.
_joinable: ContextVar[bool] = ContextVar("use_case_joinable", default=False)


class UseCase[**P, R]:
    """A service that runs in its own durable transaction; `.step` is its body, for other use cases."""

    def __init__(self, func: Callable[P, R]) -> None:
        self.step: Callable[P, R] = func
        update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if _joinable.get():
            token = _joinable.set(False)  # a use case called from this one is still refused
            try:
                with transaction.atomic():
                    return self.step(*args, **kwargs)
            finally:
                _joinable.reset(token)
        with transaction.atomic(durable=True):
            return self.step(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<use case {self.step.__module__}.{self.step.__qualname__}>"


def use_case[**P, R](func: Callable[P, R]) -> UseCase[P, R]:
    """Run `func` in its own durable transaction; nesting it in another transaction raises RuntimeError."""
    return UseCase(func)


@contextmanager
def request_transaction() -> Iterator[None]:
    """One durable transaction for a whole request, that the use cases it calls take part in.

    For the API's idempotent writes only (config.api.idempotency): what the request writes
    besides its effect (its key, its answer) commits with the effect or not at all.
    """
    with transaction.atomic(durable=True):
        token = _joinable.set(True)
        try:
            yield
        finally:
            _joinable.reset(token)
