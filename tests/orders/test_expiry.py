"""Unpaid orders past their payment deadline: cancelled by the beat sweeper, stock back on sale.

A pay-now order whose capture never comes is due `ORDER_PAYMENT_TIMEOUT_MINUTES` after it is
placed; a pay-at-pickup order at the end of the `ORDER_PAY_AT_PICKUP_DAYS`-th day after it is
ready. The clock is not frozen: tests move an order's deadline into the past instead.
"""

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from customers.models import CustomerEvent
from inventory.models import StockLevel, TransferStatus
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.selectors import order_ids_payment_overdue
from orders.services import order_cancel, order_expire, order_make_ready
from orders.tasks import orders_expire_sweep
from tests.scenarios import Shop, pay, place

pytestmark = pytest.mark.django_db

REASON = "Not paid in time"


def level(location: Any, variant: Any) -> tuple[int, int]:
    stock = StockLevel.objects.get(location=location, variant=variant)
    return stock.on_hand, stock.reserved


def overdue(order: Order, *, by: timedelta = timedelta(minutes=1)) -> Order:
    """Move the order's deadline into the past, as if the time had passed."""
    Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now() - by)
    return Order.objects.get(pk=order.pk)


def refreshed(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def ready_at_pickup(shop: Shop) -> Order:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    return order_make_ready(order=order, actor=shop.store_actor)


# Deadlines


def test_a_pay_now_order_is_due_the_payment_timeout_after_it_is_placed(shop: Shop, settings: Any) -> None:
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 45

    order = place(shop)

    assert order.payment_due_by is not None
    assert abs(order.payment_due_by - order.placed_at - timedelta(minutes=45)) < timedelta(seconds=5)


def test_a_pay_at_pickup_order_is_due_at_the_end_of_its_last_day_after_it_is_ready(shop: Shop, settings: Any) -> None:
    settings.ORDER_PAY_AT_PICKUP_DAYS = 2

    order = ready_at_pickup(shop)

    last_day = timezone.localdate() + timedelta(days=2)
    assert order.payment_due_by == timezone.make_aware(datetime.combine(last_day, time.max))


# Expired by the sweeper


def test_a_pay_now_order_unpaid_past_its_deadline_is_cancelled_by_the_sweeper(shop: Shop) -> None:
    order = overdue(place(shop))

    assert orders_expire_sweep() == 1

    cancelled = refreshed(order)
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.cancel_reason == REASON
    assert cancelled.cancelled_at is not None
    assert cancelled.payment_due_by is None


def test_an_expired_order_gives_its_reserved_stock_back(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 3)])
    assert level(shop.warehouse, shop.shirt) == (50, 3)
    overdue(order)

    orders_expire_sweep()

    assert level(shop.warehouse, shop.shirt) == (50, 0)


def test_an_expired_order_says_why_in_its_history_and_on_the_customers_timeline(shop: Shop) -> None:
    order = overdue(place(shop))

    orders_expire_sweep()

    last = OrderStatusChange.objects.filter(order=order).order_by("id").last()
    assert last is not None
    # The system's own act: no channel, client nor staff in the history (it was the order's channel before).
    assert (last.event, last.status, last.note, last.channel, last.client, last.user) == (
        "cancelled",
        OrderStatus.CANCELLED,
        REASON,
        "",
        None,
        None,
    )
    event = CustomerEvent.objects.get(customer=shop.customer, kind="order_cancelled")
    assert (event.payload["order"], event.payload["reason"]) == (order.number, REASON)


def test_a_pay_at_pickup_order_not_collected_in_its_days_is_cancelled_and_back_on_the_shelf(shop: Shop) -> None:
    order = ready_at_pickup(shop)
    assert level(shop.store, shop.shirt) == (5, 1)
    overdue(order)

    assert orders_expire_sweep() == 1

    assert refreshed(order).status == OrderStatus.CANCELLED
    assert level(shop.store, shop.shirt) == (5, 0)


def test_an_expired_ship_to_store_order_calls_off_its_transfer(shop: Shop) -> None:
    # The store has no books: they would travel from the warehouse. Pay now, never paid.
    order = place(shop, lines=[(shop.book, 2)], fulfilment="pickup", pickup=shop.store)
    transfer = order.lines.get().transfer
    assert transfer is not None
    assert transfer.status == TransferStatus.REQUESTED
    overdue(order)

    orders_expire_sweep()

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    assert level(shop.warehouse, shop.book) == (50, 0)


def test_a_pay_at_pickup_order_not_yet_ready_does_not_expire_even_past_its_date(shop: Shop) -> None:
    # A late transfer must not cancel an order the customer was never told to collect.
    order = place(shop, lines=[(shop.book, 2)], fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    overdue(order)

    assert orders_expire_sweep() == 0
    assert refreshed(order).status == OrderStatus.PLACED


def test_an_order_not_yet_due_is_left_alone(shop: Shop) -> None:
    order = place(shop)

    assert orders_expire_sweep() == 0

    assert refreshed(order).status == OrderStatus.PLACED
    assert level(shop.warehouse, shop.shirt) == (50, 1)


def test_a_paid_order_past_its_deadline_is_left_alone(shop: Shop) -> None:
    order = overdue(pay(shop, place(shop)))

    assert orders_expire_sweep() == 0

    assert refreshed(order).status == OrderStatus.PAID
    assert order_expire(order_id=order.pk) is False
    assert refreshed(order).status == OrderStatus.PAID


def test_an_order_paid_after_the_sweeper_picked_it_is_not_expired(shop: Shop) -> None:
    order = overdue(place(shop))
    assert order_ids_payment_overdue() == [order.pk]
    pay(shop, order)

    assert order_expire(order_id=order.pk) is False

    assert refreshed(order).status == OrderStatus.PAID


def test_an_order_whose_deadline_moved_on_after_the_sweeper_picked_it_is_not_expired(shop: Shop) -> None:
    order = overdue(place(shop))
    assert order_ids_payment_overdue() == [order.pk]
    Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now() + timedelta(days=1))

    assert order_expire(order_id=order.pk) is False

    assert refreshed(order).status == OrderStatus.PLACED


def test_expiring_an_order_twice_is_harmless(shop: Shop) -> None:
    order = overdue(place(shop, lines=[(shop.shirt, 2)]))

    assert order_expire(order_id=order.pk) is True
    assert order_expire(order_id=order.pk) is False

    assert OrderStatusChange.objects.filter(order=order, event="cancelled").count() == 1
    assert CustomerEvent.objects.filter(customer=shop.customer, kind="order_cancelled").count() == 1
    assert level(shop.warehouse, shop.shirt) == (50, 0)


def test_the_sweeper_run_twice_expires_once(shop: Shop) -> None:
    order = overdue(place(shop))

    assert orders_expire_sweep() == 1
    assert orders_expire_sweep() == 0

    assert OrderStatusChange.objects.filter(order=order, event="cancelled").count() == 1


# What the sweeper selects


def test_the_sweeper_selects_only_unpaid_open_orders_past_their_deadline(shop: Shop) -> None:
    due = overdue(place(shop))
    ready_due = overdue(ready_at_pickup(shop))
    not_yet = place(shop)
    paid_due = overdue(pay(shop, place(shop)))
    cancelled = order_cancel(order=place(shop), actor=shop.web)
    Order.objects.filter(pk=cancelled.pk).update(payment_due_by=timezone.now() - timedelta(minutes=1))

    selected = order_ids_payment_overdue()

    assert set(selected) == {due.pk, ready_due.pk}
    assert not {not_yet.pk, paid_due.pk, cancelled.pk} & set(selected)


def test_the_sweeper_selects_the_longest_overdue_first_up_to_the_limit(shop: Shop) -> None:
    orders = [place(shop) for _ in range(3)]
    for minutes, order in zip((10, 30, 20), orders, strict=True):
        overdue(order, by=timedelta(minutes=minutes))

    assert order_ids_payment_overdue(limit=2) == [orders[1].pk, orders[2].pk]


def test_the_sweeper_selects_in_one_query_however_many_are_due(
    shop: Shop, django_assert_num_queries: Callable[..., Any]
) -> None:
    overdue(place(shop))
    with django_assert_num_queries(1):
        assert len(order_ids_payment_overdue()) == 1

    for _ in range(5):
        overdue(place(shop))
    with django_assert_num_queries(1):
        assert len(order_ids_payment_overdue()) == 6
