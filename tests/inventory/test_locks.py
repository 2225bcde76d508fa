"""inventory.locks: the one lock order of stock rows and transfers, which every app follows.

Stock rows are locked by (location, variant), transfers by id, each set in one query; missing
stock rows are created when asked. The order is proven on real PostgreSQL with a second
connection that sees which rows are held while the locking statement waits.
"""

import random
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from pytest_django import DjangoAssertNumQueries

from catalog.models import Variant
from inventory.locks import StockKey, stock_levels_lock, transfer_lock, transfers_lock
from inventory.models import Location, StockLevel, Transfer, TransferStatus
from inventory.services import transfer_request, transfer_ship
from tests.concurrency import raised, run_at_once
from tests.factories import LocationFactory, VariantFactory, stock_receive_for


def key(location: Location, variant: Variant) -> StockKey:
    return (location.pk, variant.pk)


def is_locked(level_id: int) -> bool:
    """Whether another transaction holds the row: asked without waiting, from this connection."""
    try:
        with transaction.atomic():
            list(StockLevel.objects.select_for_update(nowait=True).filter(pk=level_id))
    except DatabaseError:
        return True
    return False


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def in_thread(call: Callable[[], Any], results: list[Any]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# --- Stock rows ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_stock_rows_are_locked_one_by_one_in_location_then_variant_order() -> None:
    location = LocationFactory.create()
    first, middle, last = (VariantFactory.create() for _ in range(3))
    for variant in (last, middle, first):  # stored in the reverse of the lock order
        stock_receive_for(location, variant, 1)
    level = {v: StockLevel.objects.get(location=location, variant=v).pk for v in (first, middle, last)}
    held, release = threading.Event(), threading.Event()

    def hold_the_middle_row() -> None:
        with transaction.atomic():
            stock_levels_lock(keys=[key(location, middle)])
            held.set()
            release.wait(10)

    def lock_all_three() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:  # read the rows as stored, not along the key's index
                cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            stock_levels_lock(keys=[key(location, last), key(location, first), key(location, middle)])

    results: list[Any] = []
    holder = in_thread(hold_the_middle_row, results)
    assert held.wait(10)
    locker = in_thread(lock_all_three, results)
    try:
        # The locker takes the first row, then waits for the middle one: the last is not taken yet.
        assert wait_for(lambda: is_locked(level[first]))
        assert not is_locked(level[last])
    finally:
        release.set()
        holder.join(10)
        locker.join(10)
    assert raised(results) == []


@pytest.mark.django_db
def test_the_values_of_the_locked_rows_are_returned_by_key() -> None:
    store, warehouse = LocationFactory.create(), LocationFactory.create(kind="warehouse")
    shirt, book = VariantFactory.create(), VariantFactory.create()
    stock_receive_for(store, shirt, 5)
    stock_receive_for(warehouse, book, 7)
    StockLevel.objects.filter(location=warehouse, variant=book).update(reserved=2, low_stock_threshold=3)

    levels = stock_levels_lock(keys=[key(warehouse, book), key(store, shirt)])

    assert {k: (lv.on_hand, lv.reserved, lv.low_stock_threshold) for k, lv in levels.items()} == {
        key(store, shirt): (5, 0, None),
        key(warehouse, book): (7, 2, 3),
    }
    assert levels[key(store, shirt)].pk == StockLevel.objects.get(location=store, variant=shirt).pk


@pytest.mark.django_db
def test_missing_rows_are_created_empty_when_asked() -> None:
    store, shirt, book = LocationFactory.create(), VariantFactory.create(), VariantFactory.create()
    stock_receive_for(store, shirt, 5)

    levels = stock_levels_lock(keys=[key(store, shirt), key(store, book)], create=True)

    created = StockLevel.objects.get(location=store, variant=book)
    assert (created.on_hand, created.reserved) == (0, 0)
    assert (levels[key(store, book)].pk, levels[key(store, book)].on_hand) == (created.pk, 0)
    assert levels[key(store, shirt)].on_hand == 5


@pytest.mark.django_db
def test_missing_rows_are_left_out_and_not_created_unless_asked() -> None:
    store, shirt, book = LocationFactory.create(), VariantFactory.create(), VariantFactory.create()
    stock_receive_for(store, shirt, 5)

    levels = stock_levels_lock(keys=[key(store, shirt), key(store, book)])

    assert set(levels) == {key(store, shirt)}
    assert not StockLevel.objects.filter(location=store, variant=book).exists()


@pytest.mark.django_db
def test_no_keys_lock_nothing_and_ask_nothing(django_assert_num_queries: DjangoAssertNumQueries) -> None:
    with django_assert_num_queries(0):
        assert stock_levels_lock(keys=[], create=True) == {}


@pytest.mark.django_db
def test_existing_rows_are_locked_in_one_query_whatever_their_number(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    locations = [LocationFactory.create() for _ in range(3)]
    variants = [VariantFactory.create() for _ in range(10)]
    keys = [key(location, variant) for location in locations for variant in variants]
    StockLevel.objects.bulk_create(StockLevel(location_id=loc, variant_id=var) for loc, var in keys)
    random.shuffle(keys)

    with django_assert_num_queries(1):
        levels = stock_levels_lock(keys=keys)

    assert len(levels) == 30


@pytest.mark.django_db
@pytest.mark.parametrize(("existing", "queries"), [(20, 2), (5, 3)])
def test_creating_missing_rows_costs_a_look_first_and_an_insert_whatever_their_number(
    existing: int, queries: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    location = LocationFactory.create()
    variants = [VariantFactory.create() for _ in range(20)]
    StockLevel.objects.bulk_create(StockLevel(location=location, variant=variant) for variant in variants[:existing])

    # Look for what exists, create the rest (when some are missing), then lock them all in one pass.
    with django_assert_num_queries(queries):
        levels = stock_levels_lock(keys=[key(location, variant) for variant in variants], create=True)

    assert len(levels) == 20


@pytest.mark.django_db(transaction=True)
def test_callers_creating_the_same_missing_rows_at_once_share_one_row_per_key() -> None:
    locations = [LocationFactory.create() for _ in range(2)]
    variants = [VariantFactory.create() for _ in range(4)]
    keys = [key(location, variant) for location in locations for variant in variants]
    StockLevel.objects.create(location=locations[1], variant=variants[2])  # some exist, most do not

    def lock_in_a_transaction(order: list[StockKey]) -> int:
        with transaction.atomic():
            return len(stock_levels_lock(keys=order, create=True))

    orders = [random.sample(keys, len(keys)) for _ in range(12)]
    results = run_at_once([partial(lock_in_a_transaction, order) for order in orders])

    assert raised(results) == []  # no deadlock, no duplicate key
    assert results == [8] * 12
    assert StockLevel.objects.count() == 8


# --- Transfers -----------------------------------------------------------------------------------


def transfer_of(source: Location, destination: Location, variant: Variant) -> Transfer:
    return transfer_request(source=source, destination=destination, lines=[(variant, 1)])


@pytest.fixture
def three_transfers() -> list[Transfer]:
    source, destination, variant = LocationFactory.create(), LocationFactory.create(), VariantFactory.create()
    stock_receive_for(source, variant, 10)
    return [transfer_of(source, destination, variant) for _ in range(3)]


@pytest.mark.django_db
def test_transfers_are_locked_in_id_order(three_transfers: list[Transfer]) -> None:
    ids = [t.pk for t in reversed(three_transfers)]

    locked = transfers_lock(ids=ids)

    assert [t.pk for t in locked] == sorted(ids)


@pytest.mark.django_db
def test_transfers_are_locked_in_one_query_sorted_by_id(
    three_transfers: list[Transfer], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(1) as captured:
        transfers_lock(ids=[t.pk for t in three_transfers])

    sql = captured.captured_queries[0]["sql"]
    assert sql.endswith("FOR UPDATE")
    assert 'ORDER BY "inventory_transfer"."id" ASC' in sql


@pytest.mark.django_db
def test_only_transfers_in_the_status_asked_are_locked(three_transfers: list[Transfer]) -> None:
    shipped = transfer_ship(transfer=three_transfers[1])

    locked = transfers_lock(ids=[t.pk for t in three_transfers], status=TransferStatus.REQUESTED)

    assert [t.pk for t in locked] == [three_transfers[0].pk, three_transfers[2].pk]
    assert shipped.status == TransferStatus.IN_TRANSIT


@pytest.mark.django_db
def test_transfers_may_be_given_as_a_subquery(three_transfers: list[Transfer]) -> None:
    ids = Transfer.objects.filter(pk__in=[three_transfers[0].pk, three_transfers[2].pk]).values("pk")

    locked = transfers_lock(ids=ids)

    assert [t.pk for t in locked] == [three_transfers[0].pk, three_transfers[2].pk]


@pytest.mark.django_db
def test_one_transfer_is_locked_with_its_current_status(three_transfers: list[Transfer]) -> None:
    Transfer.objects.filter(pk=three_transfers[0].pk).update(status=TransferStatus.CANCELLED)

    locked = transfer_lock(transfer_id=three_transfers[0].pk)

    assert locked.status == TransferStatus.CANCELLED
