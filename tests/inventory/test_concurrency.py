"""Channels racing for the same stock on real PostgreSQL: real threads, one connection each.

Never oversell, never deadlock: every outcome is a success or a clear out-of-stock error.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core import mail
from django.db.models import Sum

from catalog.models import Variant
from config.channels import Channel
from inventory.exceptions import OutOfStock, StockRuleBroken
from inventory.models import Location, LowStockAlert, MovementKind, StockLevel, StockMovement
from inventory.services import (
    StockLine,
    low_stock_threshold_set,
    stock_adjust,
    stock_commit_sale,
    stock_reserve,
)
from tests.concurrency import raised, run_at_once
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db(transaction=True)


def stock(location: Location, variant: Variant) -> tuple[int, int, int]:
    level = StockLevel.objects.get(location=location, variant=variant)
    return level.on_hand, level.reserved, level.available


def assert_ledger_explains_every_level() -> None:
    levels = StockLevel.objects.annotate(
        on_hand_sum=Sum("movements__on_hand_delta", default=0), reserved_sum=Sum("movements__reserved_delta", default=0)
    )
    assert [
        (level.pk, level.on_hand, level.on_hand_sum, level.reserved, level.reserved_sum)
        for level in levels
        if (level.on_hand, level.reserved) != (level.on_hand_sum, level.reserved_sum)
    ] == []


def assert_levels_within_the_rules() -> None:
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    assert not StockLevel.objects.filter(reserved__lt=0).exists()
    assert not StockLevel.objects.filter(available__lt=0).exists()


def others(results: list[Any], *expected: type[BaseException]) -> list[BaseException]:
    """Exceptions that are not one of the expected refusals (deadlocks, import errors...)."""
    return [error for error in raised(results) if not isinstance(error, expected)]


def test_fifty_buyers_of_twenty_units_exactly_twenty_get_one() -> None:
    location, variant = LocationFactory.create(code="mad"), VariantFactory.create(sku="HOT-1")
    stock_receive_for(location, variant, 20)
    channels = [Channel.WEB, Channel.APP, Channel.STORE, Channel.MARKETPLACE, Channel.WHATSAPP] * 10

    results = run_at_once(
        [
            partial(stock_reserve, lines=[StockLine(location, variant, 1)], reference=f"O-{i}", channel=channel)
            for i, channel in enumerate(channels)
        ]
    )

    assert others(results, OutOfStock) == []  # no deadlock, no OperationalError, nothing else
    assert len([r for r in results if isinstance(r, list)]) == 20
    assert len([r for r in results if isinstance(r, OutOfStock)]) == 30
    assert stock(location, variant) == (20, 20, 0)
    assert StockMovement.objects.filter(kind=MovementKind.RESERVATION).count() == 20
    assert_ledger_explains_every_level()


def test_out_of_stock_refusals_in_a_race_say_what_is_left() -> None:
    location, variant = LocationFactory.create(code="mad"), VariantFactory.create(sku="HOT-1")
    stock_receive_for(location, variant, 3)

    results = run_at_once(
        [partial(stock_reserve, lines=[StockLine(location, variant, 1)], reference=f"O-{i}") for i in range(10)]
    )

    refusals = [r for r in results if isinstance(r, OutOfStock)]
    assert len(refusals) == 7
    assert {(line["sku"], line["location"], line["requested"]) for r in refusals for line in r.extra["lines"]} == {
        ("HOT-1", "mad", 1)
    }
    assert all(line["available"] == 0 for r in refusals for line in r.extra["lines"])


def test_multi_line_reservations_in_opposite_orders_do_not_deadlock() -> None:
    store, warehouse = LocationFactory.create(), LocationFactory.create(kind="warehouse")
    shirt, trousers = VariantFactory.create(), VariantFactory.create()
    stock_receive_for(store, shirt, 40)
    stock_receive_for(warehouse, trousers, 40)
    forward = [StockLine(store, shirt, 1), StockLine(warehouse, trousers, 2)]
    backward = list(reversed(forward))

    results = run_at_once(
        [
            partial(stock_reserve, lines=forward if i % 2 else backward, reference=f"O-{i}", channel=Channel.WEB)
            for i in range(20)
        ]
    )

    assert raised(results) == []
    assert stock(store, shirt) == (40, 20, 20)
    assert stock(warehouse, trousers) == (40, 40, 0)
    assert_ledger_explains_every_level()


def test_reservations_and_sales_of_many_lines_in_shuffled_orders_do_not_deadlock() -> None:
    locations = [LocationFactory.create(), LocationFactory.create()]
    variants = [VariantFactory.create(), VariantFactory.create()]
    lines = [StockLine(location, variant, 1) for location in locations for variant in variants]
    for line in lines:
        stock_receive_for(line.location, line.variant, 30)
    orders = [lines, lines[::-1], lines[1:] + lines[:1], lines[2:] + lines[:2]]

    def buy(i: int) -> None:
        order = orders[i % len(orders)]
        stock_reserve(lines=order, reference=f"O-{i}")
        stock_commit_sale(lines=list(reversed(order)), reference=f"O-{i}")

    results = run_at_once([partial(buy, i) for i in range(16)])

    assert raised(results) == []
    assert [stock(line.location, line.variant) for line in lines] == [(14, 0, 14)] * 4
    assert_ledger_explains_every_level()


def test_reservations_racing_an_adjustment_never_go_negative() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 20)
    reservations: list[Callable[[], Any]] = [
        partial(stock_reserve, lines=[StockLine(location, variant, 1)], reference=f"O-{i}") for i in range(15)
    ]
    adjustments: list[Callable[[], Any]] = [
        partial(stock_adjust, location=location, variant=variant, quantity=-4, reason="Damaged in the flood")
        for _ in range(3)
    ]

    results = run_at_once(reservations[:8] + adjustments + reservations[8:])

    reserve_results = results[:8] + results[11:]
    adjust_results = results[8:11]
    assert others(reserve_results, OutOfStock) == []
    assert others(adjust_results, StockRuleBroken) == []
    reserved = len([r for r in reserve_results if isinstance(r, list)])
    removed = 4 * len([r for r in adjust_results if isinstance(r, StockMovement)])
    on_hand, level_reserved, available = stock(location, variant)
    assert (on_hand, level_reserved) == (20 - removed, reserved)
    assert available >= 0
    assert reserved + removed <= 20
    assert reserved + removed > 20 - 4  # nobody was refused while a unit or adjustment could still be served
    assert_levels_within_the_rules()
    assert_ledger_explains_every_level()


def test_buyers_crossing_a_threshold_at_once_raise_one_alert_and_one_mail() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create(sku="HOT-1")
    stock_receive_for(location, variant, 20)
    low_stock_threshold_set(location=location, variant=variant, threshold=10)
    location.staff.add(UserFactory.create(is_staff=True, email="tienda@example.com"))
    mail.outbox.clear()

    results = run_at_once(
        [partial(stock_reserve, lines=[StockLine(location, variant, 1)], reference=f"O-{i}") for i in range(16)]
    )

    assert raised(results) == []
    assert stock(location, variant) == (20, 16, 4)
    assert LowStockAlert.objects.filter(resolved_at__isnull=True).count() == 1
    assert LowStockAlert.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["tienda@example.com"]]
