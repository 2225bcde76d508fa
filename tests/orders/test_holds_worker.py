"""Holds ending in a real Celery worker, through Redis: the sweeper's tasks remind and end holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inventory.models import StockLevel
from orders.models import NotificationKind, NotificationStatus, Order, OrderNotification, OrderStatus
from orders.services import order_make_ready
from orders.tasks import orders_holds_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.scenarios import Shop, owed_back, pay, place
from tests.smtp import SmtpServer, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT = 60
ENGLISH = {"LANGUAGE_CODE": "en"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def level(location: Any, variant: Any) -> tuple[int, int]:
    stock = StockLevel.objects.get(location=location, variant=variant)
    return stock.on_hand, stock.reserved


def ready_ending_in(shop: Shop, delta: timedelta) -> Order:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    order = order_make_ready(order=order, actor=shop.store_actor)
    Order.objects.filter(pk=order.pk).update(hold_ends_at=timezone.now() + delta, language="en")
    return order


def reminder_status(order: Order) -> str:
    row = OrderNotification.objects.filter(order=order, kind=NotificationKind.HOLD_ENDING).first()
    return row.status if row is not None else ""


def test_a_real_worker_running_the_holds_sweeper_reminds_one_customer_and_ends_anothers_hold(
    shop: Shop, smtp: SmtpServer
) -> None:
    to_remind = ready_ending_in(shop, timedelta(hours=2))
    to_end = ready_ending_in(shop, -timedelta(minutes=1))
    assert level(shop.store, shop.shirt) == (5, 2)

    # The beat schedule enqueues the sweeper; the sweeper enqueues one task per order.
    with running_worker("celery", extra_env={**smtp.env, **ENGLISH}), eager_off():
        orders_holds_sweep.delay()
        assert wait_until(
            lambda: (
                reminder_status(to_remind) == NotificationStatus.SENT
                and Order.objects.get(pk=to_end.pk).status == OrderStatus.CANCELLED
            ),
            timeout=WORKER_TIMEOUT,
        )

    ended = Order.objects.get(pk=to_end.pk)
    assert (ended.cancel_reason, owed_back(ended)) == ("Not collected in time", ended.total)
    assert level(shop.store, shop.shirt) == (5, 1)
    assert Order.objects.get(pk=to_remind.pk).status == OrderStatus.READY
    reminders = [m for m in smtp.messages if str(m.message["Subject"]).startswith("Reminder")]
    assert [str(m.message["Subject"]) for m in reminders] == [
        f"Reminder: your order {to_remind.number} is waiting for you"
    ]
