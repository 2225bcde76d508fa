"""The lock order of inventory's hot rows, written once: every app that locks them calls these.

Two transactions that lock the same rows in different orders can each hold what the other
waits for. So every lock taken on stock and transfers follows one order:

1. transfers before their stock (a transfer's status decides what happens to its rows), by id;
2. stock rows by (location, variant), in one SELECT ... FOR UPDATE whatever the number of rows.

A single inventory operation locks its own rows this way. A caller that makes several
inventory calls in one transaction (an order reserving at its source, then asking a transfer
from another; releasing, then calling transfers off) takes every row it will touch first,
in one pass, with the same functions: the calls that follow find them already held.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from inventory.models import StockLevel, Transfer

StockKey = tuple[int, int]  # (location id, variant id)


@dataclass(frozen=True)
class LockedLevel:
    """A stock row as it is while locked: nobody else can change these values before the commit."""

    pk: int
    on_hand: int
    reserved: int
    low_stock_threshold: int | None


def stock_keys_q(keys: Iterable[StockKey]) -> Q:
    """(location, variant) pairs as one OR per location: a receipt of 1,500 lines stays a short query."""
    by_location: dict[int, set[int]] = defaultdict(set)
    for location_id, variant_id in keys:
        by_location[location_id].add(variant_id)
    q = Q(pk__in=[])
    for location_id, variant_ids in sorted(by_location.items()):
        q |= Q(location_id=location_id, variant_id__in=sorted(variant_ids))
    return q


def _locked_rows(keys: set[StockKey]) -> dict[StockKey, LockedLevel]:
    rows = (
        StockLevel.objects.select_for_update()
        .filter(stock_keys_q(keys))
        .order_by("location_id", "variant_id")  # the one lock order: no deadlock between two callers
        .values_list("pk", "location_id", "variant_id", "on_hand", "reserved", "low_stock_threshold")
    )
    return {
        (location_id, variant_id): LockedLevel(pk=pk, on_hand=on_hand, reserved=reserved, low_stock_threshold=threshold)
        for pk, location_id, variant_id, on_hand, reserved, threshold in rows
    }


def stock_levels_lock(*, keys: Iterable[StockKey], create: bool = False) -> dict[StockKey, LockedLevel]:
    """Lock the stock rows of these (location, variant) keys in (location, variant) order; their values.

    The rows are locked by one statement, so the order holds whatever the number of rows: one
    query. Without `create`, a missing key is simply absent from the answer (the caller decides
    what that means). With `create`, missing rows are first created empty, race-safe (a row
    another transaction creates at the same moment is waited for and taken, not duplicated),
    before anything is locked: locking what exists first and the new rows after would take
    them out of order (one query more to look, two more when rows are missing).
    """
    wanted = set(keys)
    if not wanted:
        return {}
    if create:
        found = set(StockLevel.objects.filter(stock_keys_q(wanted)).values_list("location_id", "variant_id"))
        if missing := wanted - found:
            StockLevel.objects.bulk_create(
                [StockLevel(location_id=location, variant_id=variant) for location, variant in sorted(missing)],
                ignore_conflicts=True,
            )
    return _locked_rows(wanted)


def transfers_lock(*, ids: Iterable[int] | QuerySet[Any], status: str | None = None) -> list[Transfer]:
    """Lock these transfers by id (before any of their stock rows); with `status`, only those in it.

    `ids` may be a subquery (the transfers an order's lines wait for). The status is checked
    again once each row is locked, so a transfer that moved on meanwhile is not returned.
    """
    transfers = Transfer.objects.select_for_update().filter(pk__in=ids)
    if status is not None:
        transfers = transfers.filter(status=status)
    return list(transfers.order_by("pk"))


def transfer_lock(*, transfer_id: int) -> Transfer:
    """One transfer locked, its status current for the rest of the transaction."""
    return Transfer.objects.select_for_update().get(pk=transfer_id)
