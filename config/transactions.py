"""Use cases and their transactions.

A use case is what a caller outside the domain asks for (an API view, an admin action, a
task, a command): place an order, take a payment, issue a credit note. Each runs in exactly
one transaction that it opens itself, `atomic(durable=True)`, so a use case called inside
another's transaction fails loudly instead of silently becoming a part of it (and
committing, or not, with it). Steps that compose inside a use case are plain functions
that run in whatever transaction their caller opened.
"""

from collections.abc import Callable
from functools import wraps

from django.db import transaction


def use_case[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in its own durable transaction; nesting it in another transaction raises RuntimeError."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(durable=True):
            return func(*args, **kwargs)

    return run
