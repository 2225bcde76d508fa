"""Run calls at the same moment, each in its own thread and database connection.

For the races the product must win on PostgreSQL: two channels resolving one identity,
redeeming one balance, buying one unit.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_at_once(calls: list[Callable[[], Any]], *, timeout: float = 60) -> list[Any]:
    """Each call's result, or the exception it raised, in call order. Fails if a thread hangs."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def raised(results: list[Any]) -> list[BaseException]:
    return [result for result in results if isinstance(result, BaseException)]
