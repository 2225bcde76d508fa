"""Availability promises only what sourcing will do: the same rule decides which locations give stock.

The endpoint's other behaviour (totals, transfer dates, the query bound) is in tests/inventory/test_api.py.
"""

from datetime import date, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Variant
from inventory.exceptions import OutOfStock
from inventory.models import Location
from inventory.selectors import LocationAvailability, variant_availability
from inventory.sourcing import FulfilmentType, sourcing_plan
from tests.factories import LocationFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db

AVAILABILITY = "/api/v1/inventory/availability/"
TODAY = date(2026, 3, 2)
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture
def places() -> dict[str, Location]:
    return {
        "store": LocationFactory.create(code="MAD", kind="store", is_pickup_point=True),
        "other_store": LocationFactory.create(code="BCN", kind="store", is_pickup_point=True),
        "locker": LocationFactory.create(code="LOCK", kind="locker", is_pickup_point=True),
    }


def row(variant: Variant, code: str) -> LocationAvailability:
    (item,) = variant_availability(variants=[variant], today=TODAY)
    return next(r for r in item.locations if r.location.code == code)


def planned_ready_date(variant: Variant, at: Location) -> date | None:
    fulfilment = FulfilmentType.LOCKER if at.kind == "locker" else FulfilmentType.PICKUP
    try:
        plan = sourcing_plan(lines=[(variant, 1)], fulfilment=fulfilment, pickup_location=at, today=TODAY)
    except OutOfStock:
        return None
    return plan.ready_date


def test_units_left_in_a_locker_promise_no_pickup_there(places: dict[str, Location]) -> None:
    variant = VariantFactory.create()
    stock_receive_for(places["locker"], variant, 5)  # a return waiting for staff: sourcing never takes it

    locker = row(variant, "LOCK")

    assert (locker.available, locker.pickup_today, locker.earliest_pickup) == (5, False, None)


def test_a_locker_with_units_in_it_is_promised_by_transfer(places: dict[str, Location]) -> None:
    variant = VariantFactory.create()
    stock_receive_for(places["locker"], variant, 5)
    stock_receive_for(places["store"], variant, 1)

    locker = row(variant, "LOCK")

    assert (locker.pickup_today, locker.earliest_pickup) == (False, TOMORROW)  # from MAD, default lead time


@pytest.mark.parametrize("stocked", [("LOCK",), ("LOCK", "MAD"), ("MAD",), ()])
@pytest.mark.parametrize("at", ["LOCK", "MAD", "BCN"])
def test_earliest_pickup_is_the_date_sourcing_plans_for_one_unit(
    places: dict[str, Location], stocked: tuple[str, ...], at: str
) -> None:
    variant = VariantFactory.create()
    by_code = {location.code: location for location in places.values()}
    for code in stocked:
        stock_receive_for(by_code[code], variant, 3)

    promised = row(variant, at)

    assert promised.earliest_pickup == planned_ready_date(variant, by_code[at])
    assert promised.pickup_today == (promised.earliest_pickup == TODAY)


def test_the_api_shows_a_stocked_locker_without_a_same_day_pickup(api: APIClient, places: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="RET-1")
    stock_receive_for(places["locker"], variant, 2)

    rows = {r["code"]: r for r in api.get(AVAILABILITY, {"sku": "RET-1"}).json()[0]["locations"]}
    locker = rows["LOCK"]

    assert (locker["available"], locker["pickup_today"], locker["earliest_pickup"]) == (2, False, None)
