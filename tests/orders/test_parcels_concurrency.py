"""Parcels under concurrency (issue 17): two staff shipping the same parcel at once ship it once."""

from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from config.roles import Role
from inventory.models import MovementKind, StockLevel, StockMovement
from orders.exceptions import ParcelStateError
from orders.models import Order, OrderStatus, ParcelStatus, Refund
from orders.services import ParcelLineRequest, parcel_cancel, parcel_deliver, parcel_ship
from tests.concurrency import raised, run_at_once
from tests.factories import LocationFactory, VariantFactory, stock_receive_for
from tests.scenarios import Shop, pay, place, staff_actor

pytestmark = pytest.mark.django_db(transaction=True)


def ship_parcel(order: Order, position: int, actor: Any, tracking: str, lines: Any = None) -> Any:
    return parcel_ship(
        order=order, position=position, actor=actor, carrier="SEUR", tracking_number=tracking, lines=lines
    )


def test_two_staff_shipping_the_same_parcel_at_once_ship_it_once(shop: Shop) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 2)]))
    first, second = staff_actor(Role.WAREHOUSE, shop.warehouse), staff_actor(Role.WAREHOUSE, shop.warehouse)

    results = run_at_once([partial(ship_parcel, order, 1, first, "A"), partial(ship_parcel, order, 1, second, "B")])

    assert [type(error) for error in raised(results)] == [ParcelStateError]
    parcel = order.parcels.get()
    assert parcel.status == ParcelStatus.SHIPPED
    assert parcel.tracking_number in ("A", "B")
    level = StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt)
    assert (level.on_hand, level.reserved) == (48, 0)
    assert StockMovement.objects.filter(kind=MovementKind.SALE, reference=order.number).count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_two_boxes_of_one_parcel_shipped_at_once_never_ship_a_unit_twice(shop: Shop) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 2)]))
    one = [ParcelLineRequest(line=1, quantity=1)]
    first, second = staff_actor(Role.WAREHOUSE, shop.warehouse), staff_actor(Role.WAREHOUSE, shop.warehouse)

    results = run_at_once(
        [partial(ship_parcel, order, 1, first, "A", one), partial(ship_parcel, order, 1, second, "B", one)]
    )

    assert [type(error) for error in raised(results)] == [ParcelStateError]
    assert sorted((p.position, p.status) for p in order.parcels.all()) == [(1, "shipped"), (2, "pending")]
    level = StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt)
    assert (level.on_hand, level.reserved) == (49, 1)


def test_the_last_two_parcels_delivered_at_once_deliver_the_order_once(shop: Shop) -> None:
    north = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    lamp = VariantFactory.create(price=Decimal("30.00"))
    stock_receive_for(north, lamp, 3)
    order = pay(shop, place(shop, lines=[(shop.shirt, 1), (lamp, 1)]))
    everywhere = staff_actor(Role.MANAGER)
    ship_parcel(order, 1, everywhere, "A")
    ship_parcel(order, 2, everywhere, "B")

    results = run_at_once(
        [
            partial(parcel_deliver, order=order, position=1, actor=everywhere),
            partial(parcel_deliver, order=order, position=2, actor=everywhere),
        ]
    )

    assert raised(results) == []
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.history.filter(event="delivered").count() == 1


def test_cancelling_and_shipping_the_same_parcel_at_once_one_wins(shop: Shop) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 2)]))
    warehouse = staff_actor(Role.WAREHOUSE, shop.warehouse)

    results = run_at_once(
        [
            partial(ship_parcel, order, 1, warehouse, "A"),
            partial(parcel_cancel, order=order, position=1, actor=shop.web),
        ]
    )

    assert [type(error) for error in raised(results)] == [ParcelStateError]
    parcel = order.parcels.get()
    level = StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt)
    order.refresh_from_db()
    if parcel.status == ParcelStatus.SHIPPED:
        assert (level.on_hand, level.reserved, order.status) == (48, 0, OrderStatus.SHIPPED)
        assert not Refund.objects.filter(order=order).exists()
    else:
        assert parcel.status == ParcelStatus.CANCELLED
        assert (level.on_hand, level.reserved, order.status) == (50, 0, OrderStatus.CANCELLED)
        assert not StockMovement.objects.filter(kind=MovementKind.SALE, reference=order.number).exists()
