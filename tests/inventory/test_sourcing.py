from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Variant
from inventory.exceptions import OutOfStock
from inventory.models import Location, StockLevel, TransferLeadTime
from inventory.services import stock_reserve
from inventory.sourcing import FulfilmentType, PlannedLine, SourcingPlan, sourcing_plan
from tests.factories import LocationFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
TOMORROW = TODAY + timedelta(days=1)


def store(code: str, **kwargs: Any) -> Location:
    return LocationFactory.create(code=code, kind="store", **{"is_pickup_point": True, **kwargs})


def warehouse(code: str, **kwargs: Any) -> Location:
    return LocationFactory.create(code=code, kind="warehouse", **{"is_pickup_point": False, "can_ship": True, **kwargs})


def locker(code: str, **kwargs: Any) -> Location:
    return LocationFactory.create(code=code, kind="locker", **{"is_pickup_point": True, **kwargs})


def lead_time(source: Location, destination: Location, days: int) -> None:
    TransferLeadTime.objects.create(source=source, destination=destination, days=days)


def pickup(variant: Variant, quantity: int, at: Location, fulfilment: str = FulfilmentType.PICKUP) -> SourcingPlan:
    return sourcing_plan(lines=[(variant, quantity)], fulfilment=fulfilment, pickup_location=at, today=TODAY)


def ship(variant: Variant, quantity: int) -> SourcingPlan:
    return sourcing_plan(lines=[(variant, quantity)], fulfilment=FulfilmentType.SHIP, today=TODAY)


def parts(plan: SourcingPlan) -> list[tuple[str, int, bool, date]]:
    return [(line.source.code, line.quantity, line.needs_transfer, line.ready_date) for line in plan.lines]


# --- Rule 1: the pickup store's own stock --------------------------------------------------------


def test_pickup_uses_the_store_own_stock_when_it_has_the_whole_quantity() -> None:
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, variant, 3)
    stock_receive_for(central, variant, 50)

    plan = pickup(variant, 3, centro)

    assert plan.lines == [PlannedLine(variant, 3, centro, False, None, TODAY)]
    assert plan.ready_date == TODAY
    assert plan.is_complete
    assert not plan.needs_transfer


# --- Rule 2: endless aisle -------------------------------------------------------------------------


def test_endless_aisle_transfers_the_whole_line_from_one_location_ready_after_the_default_lead_time(
    settings: Any,
) -> None:
    settings.TRANSFER_DEFAULT_LEAD_DAYS = 2
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, variant, 1)
    stock_receive_for(central, variant, 10)

    plan = pickup(variant, 4, centro)

    assert plan.lines == [PlannedLine(variant, 4, central, True, centro, TODAY + timedelta(days=2))]
    assert plan.ready_date == TODAY + timedelta(days=2)
    assert plan.needs_transfer


def test_endless_aisle_ready_date_uses_the_lead_time_of_the_pair() -> None:
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(central, variant, 10)
    lead_time(central, centro, 3)
    lead_time(centro, central, 9)  # the other direction does not count

    plan = pickup(variant, 1, centro)

    assert parts(plan) == [("central", 1, True, TODAY + timedelta(days=3))]


def test_endless_aisle_prefers_the_earliest_ready_date_over_a_warehouse() -> None:
    variant = VariantFactory.create()
    centro, norte, central = store("centro"), store("norte"), warehouse("central")
    stock_receive_for(central, variant, 10)
    stock_receive_for(norte, variant, 10)
    lead_time(central, centro, 3)

    assert parts(pickup(variant, 2, centro)) == [("norte", 2, True, TOMORROW)]


def test_endless_aisle_prefers_a_warehouse_over_a_store_on_the_same_date() -> None:
    variant = VariantFactory.create()
    centro, norte, central = store("centro"), store("norte"), warehouse("z-central")
    stock_receive_for(norte, variant, 50)
    stock_receive_for(central, variant, 5)

    assert parts(pickup(variant, 2, centro)) == [("z-central", 2, True, TOMORROW)]


def test_endless_aisle_prefers_the_most_available_then_the_location_code() -> None:
    variant = VariantFactory.create()
    centro = store("centro")
    for code, units in (("w-b", 5), ("w-c", 8), ("w-a", 8)):
        stock_receive_for(warehouse(code), variant, units)

    assert parts(pickup(variant, 2, centro)) == [("w-a", 2, True, TOMORROW)]


# --- Rule 3: split pickup --------------------------------------------------------------------------


def test_pickup_splits_only_when_no_single_location_can_fill_the_line() -> None:
    variant = VariantFactory.create()
    centro, norte, central = store("centro"), store("norte"), warehouse("central")
    stock_receive_for(centro, variant, 2)
    stock_receive_for(central, variant, 2)
    stock_receive_for(norte, variant, 2)
    lead_time(norte, centro, 2)

    plan = pickup(variant, 5, centro)

    assert parts(plan) == [
        ("centro", 2, False, TODAY),  # the store's own units first
        ("central", 2, True, TOMORROW),
        ("norte", 1, True, TODAY + timedelta(days=2)),
    ]
    assert plan.ready_date == TODAY + timedelta(days=2)  # when the last part arrives
    assert plan.is_complete


def test_pickup_split_takes_the_rest_from_one_location_when_one_can() -> None:
    variant = VariantFactory.create()
    centro, norte, central = store("centro"), store("norte"), warehouse("central")
    stock_receive_for(centro, variant, 2)
    stock_receive_for(central, variant, 2)
    stock_receive_for(norte, variant, 3)

    assert parts(pickup(variant, 5, centro)) == [("centro", 2, False, TODAY), ("norte", 3, True, TOMORROW)]


def test_pickup_does_not_split_when_one_location_has_the_whole_line() -> None:
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, variant, 2)
    stock_receive_for(central, variant, 5)

    assert parts(pickup(variant, 5, centro)) == [("central", 5, True, TOMORROW)]


# --- Rule 4: ship ----------------------------------------------------------------------------------


def test_ship_draws_from_a_warehouse_before_a_store() -> None:
    variant = VariantFactory.create()
    shop, central = store("a-shop", can_ship=True), warehouse("z-central")
    stock_receive_for(shop, variant, 50)
    stock_receive_for(central, variant, 5)

    plan = ship(variant, 5)

    assert plan.lines == [PlannedLine(variant, 5, central, False, None, TODAY)]
    assert plan.ready_date == TODAY


def test_ship_uses_only_locations_that_ship() -> None:
    variant = VariantFactory.create()
    no_ship, shop = store("a-no-ship"), store("b-shop", can_ship=True)
    stock_receive_for(no_ship, variant, 50)
    stock_receive_for(shop, variant, 2)

    assert parts(ship(variant, 2)) == [("b-shop", 2, False, TODAY)]


def test_ship_a_single_location_with_the_whole_line_wins_over_a_split() -> None:
    variant = VariantFactory.create()
    shop, central = store("shop", can_ship=True), warehouse("central")
    stock_receive_for(central, variant, 3)
    stock_receive_for(shop, variant, 5)

    assert parts(ship(variant, 5)) == [("shop", 5, False, TODAY)]


def test_ship_splits_only_when_no_single_location_can_fill_the_line() -> None:
    variant = VariantFactory.create()
    shop, small, big = store("shop", can_ship=True), warehouse("w-small"), warehouse("w-big")
    stock_receive_for(shop, variant, 10)
    stock_receive_for(small, variant, 4)
    stock_receive_for(big, variant, 6)

    plan = ship(variant, 12)

    assert parts(plan) == [("w-big", 6, False, TODAY), ("w-small", 4, False, TODAY), ("shop", 2, False, TODAY)]
    assert all(line.destination is None for line in plan.lines)


# --- Rule 5: lockers -------------------------------------------------------------------------------


def test_locker_pickup_is_always_served_by_transfer() -> None:
    variant = VariantFactory.create()
    box, norte, central = locker("box"), store("norte"), warehouse("central")
    stock_receive_for(box, variant, 5)  # e.g. a return left in the locker: not sellable from there
    stock_receive_for(norte, variant, 5)
    stock_receive_for(central, variant, 5)

    plan = pickup(variant, 2, box, FulfilmentType.LOCKER)

    assert plan.lines == [PlannedLine(variant, 2, central, True, box, TOMORROW)]


def test_locker_pickup_splits_across_warehouse_then_store() -> None:
    variant = VariantFactory.create()
    box, norte, central = locker("box"), store("norte"), warehouse("central")
    stock_receive_for(norte, variant, 3)
    stock_receive_for(central, variant, 2)

    assert parts(pickup(variant, 4, box, "locker")) == [("central", 2, True, TOMORROW), ("norte", 2, True, TOMORROW)]


def test_lockers_never_source_other_orders() -> None:
    variant = VariantFactory.create()
    centro, box = store("centro"), locker("box", can_ship=True)
    stock_receive_for(box, variant, 5)

    with pytest.raises(OutOfStock):
        pickup(variant, 1, centro)
    with pytest.raises(OutOfStock):
        ship(variant, 1)


# --- Rule 6: inactive locations --------------------------------------------------------------------


def test_inactive_locations_never_source_anything() -> None:
    variant = VariantFactory.create()
    centro, norte = store("centro"), store("norte")
    closed_store = store("a-closed", is_active=False, can_ship=True)
    closed_warehouse = warehouse("a-closed-w", is_active=False)
    stock_receive_for(closed_store, variant, 50)
    stock_receive_for(closed_warehouse, variant, 50)
    stock_receive_for(norte, variant, 5)

    assert parts(pickup(variant, 2, centro)) == [("norte", 2, True, TOMORROW)]
    with pytest.raises(OutOfStock):
        ship(variant, 1)


# --- Rule 7: lines are independent -----------------------------------------------------------------


def test_lines_are_independent() -> None:
    shirt, jeans = VariantFactory.create(), VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, shirt, 1)
    stock_receive_for(central, jeans, 1)

    plan = sourcing_plan(lines=[(shirt, 1), (jeans, 1)], fulfilment="pickup", pickup_location=centro, today=TODAY)

    assert plan.lines == [
        PlannedLine(shirt, 1, centro, False, None, TODAY),
        PlannedLine(jeans, 1, central, True, centro, TOMORROW),
    ]
    assert plan.ready_date == TOMORROW  # the latest line


def test_two_lines_of_the_same_variant_share_its_stock() -> None:
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, variant, 2)
    stock_receive_for(central, variant, 2)

    plan = sourcing_plan(lines=[(variant, 2), (variant, 2)], fulfilment="pickup", pickup_location=centro, today=TODAY)

    assert parts(plan) == [("centro", 2, False, TODAY), ("central", 2, True, TOMORROW)]
    assert plan.is_complete


# --- Out of stock, bad input, a pure read, queries -------------------------------------------------


def test_out_of_stock_lists_every_unservable_line() -> None:
    ok, short, missing = (VariantFactory.create(sku=sku) for sku in ("OK-1", "SHORT-1", "NONE-1"))
    centro, norte, central = store("centro"), store("norte", can_ship=True), warehouse("central")
    stock_receive_for(centro, ok, 5)
    stock_receive_for(centro, short, 2)  # does not ship
    stock_receive_for(central, short, 1)
    stock_receive_for(norte, short, 1)

    with pytest.raises(OutOfStock) as shipped:
        sourcing_plan(lines=[(short, 3), (ok, 1), (missing, 1)], fulfilment="ship", today=TODAY)
    with pytest.raises(OutOfStock) as picked_up:
        sourcing_plan(lines=[(short, 5), (ok, 1)], fulfilment="pickup", pickup_location=centro, today=TODAY)

    assert shipped.value.code == "out_of_stock"
    assert shipped.value.extra["lines"] == [
        {"sku": "SHORT-1", "requested": 3, "available": 2},
        {"sku": "OK-1", "requested": 1, "available": 0},
        {"sku": "NONE-1", "requested": 1, "available": 0},
    ]
    assert picked_up.value.extra["lines"] == [{"sku": "SHORT-1", "requested": 5, "available": 4}]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": 0}, "lines[0].quantity"),
        ({"quantity": -2}, "lines[0].quantity"),
        ({"fulfilment": "teleport"}, "fulfilment"),
        ({"at": None}, "pickup_location"),
        ({"at": "not-pickup"}, "pickup_location"),
        ({"at": "inactive"}, "pickup_location"),
        ({"at": "box"}, "pickup_location"),
        ({"fulfilment": "locker"}, "pickup_location"),
        ({"fulfilment": "ship"}, "pickup_location"),
    ],
)
def test_bad_input_is_a_validation_error_on_its_field(kwargs: dict[str, Any], field: str) -> None:
    variant = VariantFactory.create()
    locations = {
        "centro": store("centro"),
        "not-pickup": store("not-pickup", is_pickup_point=False),
        "inactive": store("inactive", is_active=False),
        "box": locker("box"),
    }
    at = kwargs.get("at", "centro")

    with pytest.raises(ValidationError) as error:
        sourcing_plan(
            lines=[(variant, kwargs.get("quantity", 1))],
            fulfilment=kwargs.get("fulfilment", "pickup"),
            pickup_location=locations[at] if at else None,
            today=TODAY,
        )

    assert list(error.value.message_dict) == [field]


def test_no_lines_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as error:
        sourcing_plan(lines=[], fulfilment="ship", today=TODAY)

    assert list(error.value.message_dict) == ["lines"]


def test_the_plan_reserves_nothing_and_its_lines_can_be_reserved() -> None:
    variant = VariantFactory.create()
    centro, central = store("centro"), warehouse("central")
    stock_receive_for(centro, variant, 2)
    stock_receive_for(central, variant, 5)

    plan = pickup(variant, 4, centro)

    assert set(StockLevel.objects.values_list("reserved", flat=True)) == {0}
    stock_reserve(lines=plan.stock_lines(), reference="ORD-1")
    assert StockLevel.objects.get(location=central).reserved == 4


def test_today_defaults_to_the_local_date() -> None:
    variant = VariantFactory.create()
    centro = store("centro")
    stock_receive_for(centro, variant, 1)

    plan = sourcing_plan(lines=[(variant, 1)], fulfilment="pickup", pickup_location=centro)

    assert plan.ready_date == timezone.localdate()


@pytest.mark.parametrize("fulfilment", ["ship", "pickup"])
def test_the_planner_reads_stock_in_constant_queries(fulfilment: str, django_assert_max_num_queries: Any) -> None:
    centro = store("centro", can_ship=True)
    others = [store(f"s-{i}", can_ship=True) for i in range(3)] + [warehouse(f"w-{i}") for i in range(2)]
    variants = [VariantFactory.create() for _ in range(20)]
    for i, variant in enumerate(variants):
        for j, location in enumerate([centro, *others]):
            if (i + j) % 3:
                stock_receive_for(location, variant, 1 + j)
    lead_time(others[0], centro, 2)
    at = centro if fulfilment == "pickup" else None

    for count in (1, 20):
        with django_assert_max_num_queries(2):
            plan = sourcing_plan(
                lines=[(v, 3) for v in variants[:count]], fulfilment=fulfilment, pickup_location=at, today=TODAY
            )
        assert plan.is_complete
