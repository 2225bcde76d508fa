"""Stock services: receive, adjust, reserve, release, sell, restock; the rules the database keeps."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from pytest_django import DjangoAssertNumQueries

from catalog.models import Variant
from config.channels import Channel
from inventory.exceptions import OutOfStock, StockRuleBroken
from inventory.models import Location, MovementKind, StockLevel, StockMovement
from inventory.services import (
    StockLine,
    stock_adjust,
    stock_commit_sale,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_restock_return,
)
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db


def stock(location: Location, variant: Variant) -> tuple[int, int, int]:
    """(on_hand, reserved, available) as the database has them now."""
    level = StockLevel.objects.get(location=location, variant=variant)
    return level.on_hand, level.reserved, level.available


def movement_count() -> int:
    return StockMovement.objects.count()


# --- Receive ---


def test_receive_creates_the_stock_level() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    stock_receive(location=location, lines=[(variant, 7)], reference="PO-1")

    assert stock(location, variant) == (7, 0, 7)


def test_receive_adds_to_on_hand() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    stock_receive(location=location, lines=[(variant, 3)], reference="PO-2")

    assert stock(location, variant) == (8, 0, 8)
    assert StockLevel.objects.filter(location=location, variant=variant).count() == 1


def test_receive_merges_repeated_lines_into_one_movement() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    movements = stock_receive(location=location, lines=[(variant, 2), (variant, 3)], reference="PO-3")

    assert stock(location, variant) == (5, 0, 5)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta) for m in movements] == [(MovementKind.RECEIPT, 5, 0)]
    assert StockMovement.objects.filter(variant=variant).count() == 1


def test_receive_of_several_variants_creates_a_level_for_each() -> None:
    location = LocationFactory.create()
    shirt, trousers = VariantFactory.create(), VariantFactory.create()

    stock_receive(location=location, lines=[(shirt, 4), (trousers, 6)], reference="PO-4")

    assert stock(location, shirt) == (4, 0, 4)
    assert stock(location, trousers) == (6, 0, 6)


# --- Available is a generated column ---


def test_available_is_on_hand_minus_reserved_read_from_the_database() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 3)], reference="O-1")

    level = StockLevel.objects.get(location=location, variant=variant)

    assert (level.on_hand, level.reserved, level.available) == (10, 3, 7)
    assert StockLevel.objects.filter(pk=level.pk, available=F("on_hand") - F("reserved")).exists()
    assert StockLevel.objects.filter(variant=variant, available=7).exists()


# --- Adjust ---


def test_adjust_adds_stock_with_a_positive_quantity() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    movement = stock_adjust(location=location, variant=variant, quantity=2, reason="Found in the back room")

    assert stock(location, variant) == (7, 0, 7)
    assert (movement.kind, movement.on_hand_delta, movement.reason) == (
        MovementKind.ADJUSTMENT,
        2,
        "Found in the back room",
    )


def test_adjust_removes_stock_with_a_negative_quantity() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    movement = stock_adjust(location=location, variant=variant, quantity=-2, reason="Damaged")

    assert stock(location, variant) == (3, 0, 3)
    assert movement.on_hand_delta == -2


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_adjust_without_a_reason_is_refused_and_changes_nothing(reason: str) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    before = movement_count()

    with pytest.raises(ValidationError) as caught:
        stock_adjust(location=location, variant=variant, quantity=-1, reason=reason)

    assert "reason" in caught.value.message_dict
    assert stock(location, variant) == (5, 0, 5)
    assert movement_count() == before


def test_adjust_cannot_take_on_hand_below_reserved() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    stock_reserve(lines=[StockLine(location, variant, 4)], reference="O-1")
    before = movement_count()

    with pytest.raises(StockRuleBroken):
        stock_adjust(location=location, variant=variant, quantity=-2, reason="Stolen")

    assert stock(location, variant) == (5, 4, 1)
    assert movement_count() == before


def test_adjust_cannot_take_on_hand_below_zero() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 3)

    with pytest.raises(StockRuleBroken):
        stock_adjust(location=location, variant=variant, quantity=-4, reason="Lost")

    assert stock(location, variant) == (3, 0, 3)


@pytest.mark.parametrize("quantity", [0, 1.5, "3", True, None], ids=["zero", "float", "text", "bool", "none"])
def test_adjust_refuses_a_quantity_that_is_not_a_non_zero_whole_number(quantity: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    before = movement_count()

    with pytest.raises(ValidationError) as caught:
        stock_adjust(location=location, variant=variant, quantity=quantity, reason="Recount")

    assert "quantity" in caught.value.message_dict
    assert stock(location, variant) == (5, 0, 5)
    assert movement_count() == before


# --- Reserve ---


def test_reserve_moves_units_from_available_to_reserved() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)

    movements = stock_reserve(lines=[StockLine(location, variant, 4)], reference="O-1", channel=Channel.WEB)

    assert stock(location, variant) == (10, 4, 6)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta, m.reference, m.channel) for m in movements] == [
        (MovementKind.RESERVATION, 0, 4, "O-1", Channel.WEB)
    ]


def test_reserve_of_the_last_units_leaves_nothing_available() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 3)

    stock_reserve(lines=[StockLine(location, variant, 3)], reference="O-1")

    assert stock(location, variant) == (3, 3, 0)


def test_reserve_is_all_or_nothing_when_one_line_is_short() -> None:
    store, warehouse = LocationFactory.create(code="mad"), LocationFactory.create(code="alm", kind="warehouse")
    plenty, scarce = VariantFactory.create(sku="TEE-M"), VariantFactory.create(sku="TEE-L")
    stock_receive_for(store, plenty, 10)
    stock_receive_for(warehouse, scarce, 2)
    before = movement_count()

    with pytest.raises(OutOfStock) as caught:
        stock_reserve(
            lines=[StockLine(store, plenty, 3), StockLine(warehouse, scarce, 5)], reference="O-1", channel=Channel.APP
        )

    assert caught.value.extra["lines"] == [{"sku": "TEE-L", "location": "alm", "requested": 5, "available": 2}]
    assert stock(store, plenty) == (10, 0, 10)
    assert stock(warehouse, scarce) == (2, 0, 2)
    assert movement_count() == before


def test_reserve_lists_every_short_line() -> None:
    location = LocationFactory.create(code="mad")
    first, second = VariantFactory.create(sku="A-1"), VariantFactory.create(sku="B-1")
    stock_receive_for(location, first, 1)
    stock_receive_for(location, second, 1)

    with pytest.raises(OutOfStock) as caught:
        stock_reserve(lines=[StockLine(location, second, 2), StockLine(location, first, 3)], reference="O-1")

    assert sorted(caught.value.extra["lines"], key=lambda line: line["sku"]) == [
        {"sku": "A-1", "location": "mad", "requested": 3, "available": 1},
        {"sku": "B-1", "location": "mad", "requested": 2, "available": 1},
    ]


def test_reserve_where_there_is_no_stock_level_is_out_of_stock_and_leaves_no_level() -> None:
    location, variant = LocationFactory.create(code="mad"), VariantFactory.create(sku="NEW-1")

    with pytest.raises(OutOfStock) as caught:
        stock_reserve(lines=[StockLine(location, variant, 1)], reference="O-1")

    assert caught.value.extra["lines"] == [{"sku": "NEW-1", "location": "mad", "requested": 1, "available": 0}]
    assert not StockLevel.objects.filter(location=location, variant=variant).exists()


def test_reserve_counts_units_already_reserved() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    stock_reserve(lines=[StockLine(location, variant, 4)], reference="O-1")

    with pytest.raises(OutOfStock):
        stock_reserve(lines=[StockLine(location, variant, 2)], reference="O-2")

    assert stock(location, variant) == (5, 4, 1)


def test_reserve_merges_repeated_lines_before_checking() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    with pytest.raises(OutOfStock) as caught:
        stock_reserve(lines=[StockLine(location, variant, 3), StockLine(location, variant, 3)], reference="O-1")

    assert caught.value.extra["lines"][0]["requested"] == 6
    assert stock(location, variant) == (5, 0, 5)


# --- Release ---


def test_release_gives_reserved_units_back_to_sale() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 4)], reference="O-1")

    movements = stock_release(lines=[StockLine(location, variant, 3)], reference="O-1")

    assert stock(location, variant) == (10, 1, 9)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta) for m in movements] == [(MovementKind.RELEASE, 0, -3)]


def test_release_of_more_than_reserved_is_refused_and_changes_nothing() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 2)], reference="O-1")

    with pytest.raises(StockRuleBroken):
        stock_release(lines=[StockLine(location, variant, 3)], reference="O-1")

    assert stock(location, variant) == (10, 2, 8)


# --- Commit a sale ---


def test_commit_sale_takes_units_from_on_hand_and_reserved() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 4)], reference="O-1")

    movements = stock_commit_sale(lines=[StockLine(location, variant, 4)], reference="O-1", channel=Channel.STORE)

    assert stock(location, variant) == (6, 0, 6)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta, m.channel) for m in movements] == [
        (MovementKind.SALE, -4, -4, Channel.STORE)
    ]


def test_commit_sale_of_units_not_reserved_is_refused_and_changes_nothing() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 1)], reference="O-1")

    with pytest.raises(StockRuleBroken):
        stock_commit_sale(lines=[StockLine(location, variant, 2)], reference="O-1")

    assert stock(location, variant) == (10, 1, 9)


# --- Restock a return ---


def test_restock_return_puts_units_back_at_the_receiving_location() -> None:
    online, store = LocationFactory.create(kind="warehouse"), LocationFactory.create()
    variant = VariantFactory.create()
    stock_receive_for(online, variant, 5)
    stock_reserve(lines=[StockLine(online, variant, 1)], reference="O-1")
    stock_commit_sale(lines=[StockLine(online, variant, 1)], reference="O-1")

    movements = stock_restock_return(location=store, lines=[(variant, 1)], reference="R-1", channel=Channel.STORE)

    assert stock(store, variant) == (1, 0, 1)
    assert stock(online, variant) == (4, 0, 4)
    assert [(m.kind, m.location_id, m.on_hand_delta, m.reference) for m in movements] == [
        (MovementKind.RETURN, store.pk, 1, "R-1")
    ]


# --- Bad input ---

QUANTITY_CASES = pytest.mark.parametrize(
    "quantity", [0, -1, 1.5, "2", True, None], ids=["zero", "negative", "float", "text", "bool", "none"]
)


@QUANTITY_CASES
def test_receive_refuses_a_quantity_that_is_not_positive_whole(quantity: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    with pytest.raises(ValidationError) as caught:
        stock_receive(location=location, lines=[(variant, quantity)], reference="PO-1")

    assert "lines[0].quantity" in caught.value.message_dict
    assert not StockLevel.objects.filter(variant=variant).exists()
    assert movement_count() == 0


@QUANTITY_CASES
def test_reserve_refuses_a_quantity_that_is_not_positive_whole(quantity: Any) -> None:
    location, good, bad = LocationFactory.create(), VariantFactory.create(), VariantFactory.create()
    stock_receive_for(location, good, 5)
    stock_receive_for(location, bad, 5)
    before = movement_count()

    with pytest.raises(ValidationError) as caught:
        stock_reserve(lines=[StockLine(location, good, 1), StockLine(location, bad, quantity)], reference="O-1")

    assert "lines[1].quantity" in caught.value.message_dict
    assert stock(location, good) == (5, 0, 5)
    assert movement_count() == before


@QUANTITY_CASES
def test_release_refuses_a_quantity_that_is_not_positive_whole(quantity: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    stock_reserve(lines=[StockLine(location, variant, 2)], reference="O-1")

    with pytest.raises(ValidationError):
        stock_release(lines=[StockLine(location, variant, quantity)], reference="O-1")

    assert stock(location, variant) == (5, 2, 3)


@QUANTITY_CASES
def test_commit_sale_refuses_a_quantity_that_is_not_positive_whole(quantity: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    stock_reserve(lines=[StockLine(location, variant, 2)], reference="O-1")

    with pytest.raises(ValidationError):
        stock_commit_sale(lines=[StockLine(location, variant, quantity)], reference="O-1")

    assert stock(location, variant) == (5, 2, 3)


@QUANTITY_CASES
def test_restock_return_refuses_a_quantity_that_is_not_positive_whole(quantity: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    with pytest.raises(ValidationError):
        stock_restock_return(location=location, lines=[(variant, quantity)], reference="R-1")

    assert movement_count() == 0


def test_receive_of_no_lines_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        stock_receive(location=LocationFactory.create(), lines=[], reference="PO-1")

    assert "lines" in caught.value.message_dict


@pytest.mark.parametrize("service", [stock_reserve, stock_release, stock_commit_sale])
def test_an_empty_list_of_lines_is_refused(service: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        service(lines=[], reference="O-1")

    assert "lines" in caught.value.message_dict
    assert movement_count() == 0


def test_restock_return_of_no_lines_is_refused() -> None:
    with pytest.raises(ValidationError):
        stock_restock_return(location=LocationFactory.create(), lines=[], reference="R-1")


# --- The database keeps the rules even when a service does not ---


@pytest.mark.parametrize(
    "change",
    [
        {"on_hand": -1},
        {"reserved": -1},
        {"reserved": F("on_hand") + 1},
    ],
    ids=["on_hand_below_zero", "reserved_below_zero", "reserved_above_on_hand"],
)
def test_database_refuses_an_impossible_stock_level(change: dict[str, Any]) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 2)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(location=location, variant=variant).update(**change)

    assert stock(location, variant) == (2, 0, 2)


def test_database_refuses_on_hand_below_reserved() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    stock_reserve(lines=[StockLine(location, variant, 3)], reference="O-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(location=location, variant=variant).update(on_hand=2)

    assert stock(location, variant) == (5, 3, 2)


def test_database_refuses_a_second_level_for_the_same_location_and_variant() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 1)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(location=location, variant=variant)


# --- Staff change only their own locations' stock ---


@pytest.fixture
def two_locations() -> tuple[Location, Location]:
    return LocationFactory.create(code="own"), LocationFactory.create(code="other")


def staff_of(location: Location) -> Any:
    user = UserFactory.create(is_staff=True)
    location.staff.add(user)
    return user


def test_staff_may_receive_at_their_own_location(two_locations: tuple[Location, Location]) -> None:
    own, _other = two_locations
    variant = VariantFactory.create()
    user = staff_of(own)

    movements = stock_receive(location=own, lines=[(variant, 3)], reference="PO-1", user=user)

    assert stock(own, variant) == (3, 0, 3)
    assert movements[0].user == user


def test_staff_may_adjust_at_their_own_location(two_locations: tuple[Location, Location]) -> None:
    own, _other = two_locations
    variant = VariantFactory.create()
    stock_receive_for(own, variant, 3)
    user = staff_of(own)

    movement = stock_adjust(location=own, variant=variant, quantity=-1, reason="Damaged", user=user)

    assert stock(own, variant) == (2, 0, 2)
    assert movement.user == user


def test_staff_cannot_receive_at_another_location(two_locations: tuple[Location, Location]) -> None:
    own, other = two_locations
    variant = VariantFactory.create()

    with pytest.raises(PermissionDenied):
        stock_receive(location=other, lines=[(variant, 3)], reference="PO-1", user=staff_of(own))

    assert not StockLevel.objects.filter(variant=variant).exists()
    assert movement_count() == 0


def test_staff_cannot_adjust_at_another_location(two_locations: tuple[Location, Location]) -> None:
    own, other = two_locations
    variant = VariantFactory.create()
    stock_receive_for(other, variant, 3)
    before = movement_count()

    with pytest.raises(PermissionDenied):
        stock_adjust(location=other, variant=variant, quantity=-1, reason="Damaged", user=staff_of(own))

    assert stock(other, variant) == (3, 0, 3)
    assert movement_count() == before


def test_staff_cannot_restock_a_return_at_another_location(two_locations: tuple[Location, Location]) -> None:
    own, other = two_locations
    variant = VariantFactory.create()

    with pytest.raises(PermissionDenied):
        stock_restock_return(location=other, lines=[(variant, 1)], reference="R-1", user=staff_of(own))

    assert movement_count() == 0


def manager() -> Any:
    user = UserFactory.create(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_all_locations"))
    return user


def superuser() -> Any:
    return UserFactory.create(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("make_user", [manager, superuser], ids=["manager", "superuser"])
def test_managers_and_superusers_may_receive_and_adjust_anywhere(
    make_user: Any, two_locations: tuple[Location, Location]
) -> None:
    variant = VariantFactory.create()
    user = make_user()

    for location in two_locations:
        stock_receive(location=location, lines=[(variant, 4)], reference="PO-1", user=user)
        stock_adjust(location=location, variant=variant, quantity=-1, reason="Damaged", user=user)

    assert [stock(location, variant) for location in two_locations] == [(3, 0, 3), (3, 0, 3)]
    assert StockMovement.objects.filter(user=user).count() == 4


# --- Queries ---


def test_reserving_one_line_takes_a_handful_of_queries(django_assert_max_num_queries: DjangoAssertNumQueries) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    with django_assert_max_num_queries(8):
        stock_reserve(lines=[StockLine(location, variant, 1)], reference="O-1")


@pytest.mark.parametrize("line_count", [1, 10])
def test_reserving_adds_at_most_one_query_per_line(
    line_count: int, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    locations = [LocationFactory.create(), LocationFactory.create()]
    lines = []
    for i in range(line_count):
        variant, location = VariantFactory.create(), locations[i % 2]
        stock_receive_for(location, variant, 5)
        lines.append(StockLine(location, variant, 1))

    with django_assert_max_num_queries(7 + line_count):
        stock_reserve(lines=lines, reference="O-1")

    assert StockLevel.objects.filter(reserved=1).count() == line_count
