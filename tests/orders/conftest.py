"""Fixtures of the orders tests: a second warehouse, so that a ship order leaves from two places (parcels)."""

from decimal import Decimal

import pytest

from catalog.models import Variant
from inventory.models import Location
from orders.models import Order
from tests.factories import LocationFactory, VariantFactory, stock_receive_for
from tests.scenarios import Shop, pay, place


@pytest.fixture
def north(shop: Shop) -> Location:
    """A second warehouse that ships: the only one with lamps."""
    return LocationFactory.create(
        code="wh-north", name="Almacén norte", kind="warehouse", can_ship=True, is_pickup_point=False
    )


@pytest.fixture
def lamp(north: Location) -> Variant:
    lamp = VariantFactory.create(price=Decimal("30.00"))
    stock_receive_for(north, lamp, 10)
    return lamp


@pytest.fixture
def split(shop: Shop, lamp: Variant) -> Order:
    """Paid: 2 shirts and a book from the central warehouse (parcel 1), a lamp from the north (parcel 2)."""
    return pay(shop, place(shop, lines=[(shop.shirt, 2), (shop.book, 1), (lamp, 1)]))
