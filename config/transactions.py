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
"""

from collections.abc import Callable
from functools import update_wrapper

from django.db import transaction


class UseCase[**P, R]:
    """A service that runs in its own durable transaction; `.step` is its body, for other use cases."""

    def __init__(self, func: Callable[P, R]) -> None:
        self.step: Callable[P, R] = func
        update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(durable=True):
            return self.step(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<use case {self.step.__module__}.{self.step.__qualname__}>"


def use_case[**P, R](func: Callable[P, R]) -> UseCase[P, R]:
    """Run `func` in its own durable transaction; nesting it in another transaction raises RuntimeError."""
    return UseCase(func)
