"""Cancelling one parcel that has not left (issue 17, orders/services/parcel_cancelling.py): once part of
an order has left, the rest is no longer stuck: its stock, money and invoice lines are given back."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from catalog.models import Variant
from config.roles import Role
from customers.models import LoyaltyAccount, LoyaltyEntry, LoyaltyEntryKind
from inventory.models import Location, StockLevel
from invoicing.models import DocumentKind, Invoice
from orders.exceptions import OrderStateError, ParcelNotFound, ParcelStateError
from orders.models import Order, OrderNotification, OrderStatus, ParcelStatus, Refund, RefundStatus
from orders.services import Actor, order_cancel, parcel_cancel, parcel_deliver, parcel_ship
from orders.services.notifications import order_notification_message
from tests.scenarios import Shop, owed_back, staff_actor


def level(location: Location, variant: Variant) -> tuple[int, int]:
    found = StockLevel.objects.get(location=location, variant=variant)
    return found.on_hand, found.reserved


def statuses(order: Order) -> list[str]:
    return list(order.parcels.order_by("position").values_list("status", flat=True))


def credit_notes(order: Order) -> list[Invoice]:
    return list(Invoice.objects.filter(original=order.invoice, kind=DocumentKind.CREDIT_NOTE).order_by("pk"))


@pytest.fixture
def everywhere() -> Actor:
    return staff_actor(Role.MANAGER)


@pytest.fixture
def central_left(split: Order, everywhere: Actor) -> Order:
    """Parcel 1 (central) has left; parcel 2 (the lamp, from the north) waits."""
    parcel_ship(order=split, position=1, actor=everywhere, carrier="SEUR", tracking_number="C-1")
    return split


def test_cancelling_the_pending_parcel_after_another_left_releases_its_stock_at_its_source(
    shop: Shop, central_left: Order, north: Location, lamp: Variant
) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web, reason="out of lamps")

    assert level(north, lamp) == (10, 0)
    assert level(shop.warehouse, shop.shirt) == (48, 0)  # the parcel that left stays sold
    assert statuses(central_left) == [ParcelStatus.SHIPPED, ParcelStatus.CANCELLED]


def test_cancelling_a_parcel_refunds_its_lines_only(shop: Shop, central_left: Order) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web, reason="out of lamps")

    refund = Refund.objects.get(order=central_left)
    assert (refund.amount, refund.status, refund.method) == (Decimal("30.00"), RefundStatus.PENDING, "card")
    assert owed_back(central_left) == Decimal("30.00")


def test_cancelling_a_parcel_credits_its_lines_on_the_invoice(shop: Shop, central_left: Order) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web, reason="out of lamps")

    (credit,) = credit_notes(central_left)
    assert [(line.quantity, line.unit_price) for line in credit.lines.all()] == [(Decimal(1), Decimal("30.00"))]
    assert credit.reason == "out of lamps"


def test_the_order_ships_when_the_last_pending_parcel_is_cancelled(shop: Shop, central_left: Order) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web)

    central_left.refresh_from_db()
    assert central_left.status == OrderStatus.SHIPPED
    assert (central_left.carrier, central_left.tracking_number) == ("SEUR", "C-1")
    assert central_left.history.filter(event="parcel_cancelled").count() == 1


def test_the_order_is_delivered_when_what_left_was_delivered_and_the_rest_is_cancelled(
    shop: Shop, central_left: Order, everywhere: Actor
) -> None:
    parcel_deliver(order=central_left, position=1, actor=everywhere)

    parcel_cancel(order=central_left, position=2, actor=shop.web)

    central_left.refresh_from_db()
    assert central_left.status == OrderStatus.DELIVERED


def test_cancelling_one_of_two_pending_parcels_leaves_the_order_paid(
    shop: Shop, split: Order, north: Location, lamp: Variant
) -> None:
    parcel_cancel(order=split, position=2, actor=shop.web)

    split.refresh_from_db()
    assert split.status == OrderStatus.PAID
    assert statuses(split) == [ParcelStatus.PENDING, ParcelStatus.CANCELLED]
    assert level(north, lamp) == (10, 0)


def test_cancelling_every_parcel_cancels_the_order_with_all_its_money(
    shop: Shop, split: Order, north: Location, lamp: Variant
) -> None:
    parcel_cancel(order=split, position=2, actor=shop.web)
    parcel_cancel(order=split, position=1, actor=shop.web, reason="changed my mind")

    split.refresh_from_db()
    assert split.status == OrderStatus.CANCELLED
    assert owed_back(split) == split.total  # the delivery charge too: nothing of it ships
    assert level(shop.warehouse, shop.shirt) == (50, 0)
    assert level(north, lamp) == (10, 0)
    assert len(credit_notes(split)) == 2


def test_cancelling_the_order_after_one_parcel_was_cancelled_releases_each_unit_once(
    shop: Shop, split: Order, north: Location, lamp: Variant
) -> None:
    parcel_cancel(order=split, position=2, actor=shop.web)

    order_cancel(order=split, actor=shop.web, reason="changed my mind")

    split.refresh_from_db()
    assert split.status == OrderStatus.CANCELLED
    assert level(north, lamp) == (10, 0)
    assert level(shop.warehouse, shop.shirt) == (50, 0)
    assert owed_back(split) == split.total


def test_a_parcel_that_left_is_not_cancelled(shop: Shop, central_left: Order) -> None:
    with pytest.raises(ParcelStateError):
        parcel_cancel(order=central_left, position=1, actor=shop.web)

    assert statuses(central_left) == [ParcelStatus.SHIPPED, ParcelStatus.PENDING]
    assert not Refund.objects.filter(order=central_left).exists()
    assert credit_notes(central_left) == []


def test_a_cancelled_parcel_is_not_cancelled_again_nor_shipped(
    shop: Shop, central_left: Order, everywhere: Actor
) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web)

    with pytest.raises(ParcelStateError):
        parcel_cancel(order=central_left, position=2, actor=shop.web)
    with pytest.raises((ParcelStateError, OrderStateError)):
        parcel_ship(order=central_left, position=2, actor=everywhere, carrier="SEUR", tracking_number="X")

    assert Refund.objects.filter(order=central_left).count() == 1


def test_an_unknown_parcel_is_not_found(shop: Shop, split: Order) -> None:
    with pytest.raises(ParcelNotFound):
        parcel_cancel(order=split, position=9, actor=shop.web)


@pytest.mark.parametrize("who", ["till", "warehouse_staff"])
def test_only_whoever_may_cancel_the_order_cancels_its_parcels(
    shop: Shop, central_left: Order, north: Location, lamp: Variant, who: str
) -> None:
    actor: Any = shop.store_actor if who == "till" else staff_actor(Role.WAREHOUSE, north)

    with pytest.raises(PermissionDenied):
        parcel_cancel(order=central_left, position=2, actor=actor)

    assert statuses(central_left) == [ParcelStatus.SHIPPED, ParcelStatus.PENDING]
    assert level(north, lamp) == (10, 1)


def test_the_shipped_notice_lists_only_the_parcels_that_left(shop: Shop, central_left: Order) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web)

    text = order_notification_message(OrderNotification.objects.get(order=central_left, kind="shipped")).text
    assert "C-1" in text
    assert ": ," not in text  # no box without carrier nor tracking number (the cancelled one)


def test_cancelling_a_parcel_takes_back_the_points_its_goods_earned(shop: Shop, central_left: Order) -> None:
    earned = LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.EARN, reference=central_left.number).points
    goods = central_left.total - central_left.delivery_charge

    parcel_cancel(order=central_left, position=2, actor=shop.web, reason="out of lamps")

    part = LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.REVERSE_PART, reference=central_left.number)
    assert part.requested_points == int(earned * Decimal("30.00") / goods)  # the lamp's share, whole points
    assert LoyaltyAccount.objects.get(customer=central_left.customer).balance == earned - part.requested_points


def test_a_parcels_refund_gives_its_reason_in_the_callers_words(shop: Shop, central_left: Order) -> None:
    parcel_cancel(order=central_left, position=2, actor=shop.web)

    assert Refund.objects.get(order=central_left).reason == "Parcel 2 cancelled"
