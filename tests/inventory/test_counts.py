"""Cycle counts: what staff counted replaces on_hand, through "count" movements for the differences."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.models import Variant
from inventory.exceptions import StockRuleBroken
from inventory.models import CycleCount, CycleCountStatus, Location, MovementKind, StockLevel, StockMovement
from inventory.services import StockLine, cycle_count_apply, cycle_count_create, stock_reserve
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db


def stock(location: Location, variant: Variant) -> tuple[int, int, int]:
    level = StockLevel.objects.get(location=location, variant=variant)
    return level.on_hand, level.reserved, level.available


def count_movements(location: Location) -> list[tuple[int, int, int]]:
    return list(
        StockMovement.objects.filter(location=location, kind=MovementKind.COUNT)
        .order_by("variant_id")
        .values_list("variant_id", "on_hand_delta", "reserved_delta")
    )


def test_create_records_the_count_and_changes_nothing() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)

    count = cycle_count_create(location=location, lines=[(variant, 3)])

    assert count.status == CycleCountStatus.OPEN
    assert list(count.lines.values_list("variant_id", "counted")) == [(variant.pk, 3)]
    assert stock(location, variant) == (5, 0, 5)
    assert count_movements(location) == []


def test_apply_sets_on_hand_to_the_counted_quantities() -> None:
    location = LocationFactory.create()
    fewer, more, same = VariantFactory.create(), VariantFactory.create(), VariantFactory.create()
    for variant in (fewer, more, same):
        stock_receive_for(location, variant, 5)
    count = cycle_count_create(location=location, lines=[(fewer, 2), (more, 9), (same, 5)])

    movements = cycle_count_apply(count=count)

    assert [stock(location, v) for v in (fewer, more, same)] == [(2, 0, 2), (9, 0, 9), (5, 0, 5)]
    assert sorted((m.variant_id, m.kind, m.on_hand_delta) for m in movements) == [
        (fewer.pk, MovementKind.COUNT, -3),
        (more.pk, MovementKind.COUNT, 4),
    ]
    assert count_movements(location) == sorted([(fewer.pk, -3, 0), (more.pk, 4, 0)])


def test_apply_marks_the_count_applied() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    count = cycle_count_create(location=location, lines=[(variant, 4)])

    cycle_count_apply(count=count)

    count.refresh_from_db()
    assert count.status == CycleCountStatus.APPLIED
    assert count.applied_at is not None


def test_apply_with_no_difference_appends_no_movement() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    count = cycle_count_create(location=location, lines=[(variant, 5)])

    assert cycle_count_apply(count=count) == []
    assert count_movements(location) == []
    assert CycleCount.objects.get(pk=count.pk).status == CycleCountStatus.APPLIED


def test_apply_of_a_variant_never_stocked_there_creates_its_level() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    count = cycle_count_create(location=location, lines=[(variant, 3)])

    cycle_count_apply(count=count)

    assert stock(location, variant) == (3, 0, 3)
    assert count_movements(location) == [(variant.pk, 3, 0)]


def test_apply_counts_only_the_counted_location() -> None:
    counted, elsewhere = LocationFactory.create(), LocationFactory.create()
    variant = VariantFactory.create()
    stock_receive_for(counted, variant, 5)
    stock_receive_for(elsewhere, variant, 5)

    cycle_count_apply(count=cycle_count_create(location=counted, lines=[(variant, 1)]))

    assert stock(counted, variant) == (1, 0, 1)
    assert stock(elsewhere, variant) == (5, 0, 5)


def test_apply_keeps_reservations() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    stock_reserve(lines=[StockLine(location, variant, 3)], reference="O-1")

    cycle_count_apply(count=cycle_count_create(location=location, lines=[(variant, 7)]))

    assert stock(location, variant) == (7, 3, 4)


def test_applying_twice_is_refused() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 5)
    count = cycle_count_create(location=location, lines=[(variant, 4)])
    cycle_count_apply(count=count)

    with pytest.raises(StockRuleBroken):
        cycle_count_apply(count=count)

    assert stock(location, variant) == (4, 0, 4)
    assert count_movements(location) == [(variant.pk, -1, 0)]


def test_counting_below_reserved_is_refused_and_changes_nothing() -> None:
    location = LocationFactory.create()
    fine, short = VariantFactory.create(), VariantFactory.create()
    stock_receive_for(location, fine, 5)
    stock_receive_for(location, short, 10)
    stock_reserve(lines=[StockLine(location, short, 6)], reference="O-1")
    count = cycle_count_create(location=location, lines=[(fine, 2), (short, 4)])

    with pytest.raises(StockRuleBroken):
        cycle_count_apply(count=count)

    assert stock(location, fine) == (5, 0, 5)
    assert stock(location, short) == (10, 6, 4)
    assert count_movements(location) == []
    assert CycleCount.objects.get(pk=count.pk).status == CycleCountStatus.OPEN


@pytest.mark.parametrize("counted", [-1, 1.5, "3"], ids=["negative", "float", "text"])
def test_create_refuses_a_counted_quantity_that_is_not_a_whole_number(counted: Any) -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    with pytest.raises(ValidationError):
        cycle_count_create(location=location, lines=[(variant, counted)])

    assert not CycleCount.objects.exists()


def test_create_of_no_lines_is_refused() -> None:
    with pytest.raises(ValidationError):
        cycle_count_create(location=LocationFactory.create(), lines=[])

    assert not CycleCount.objects.exists()


def test_staff_cannot_count_another_location() -> None:
    own, other = LocationFactory.create(), LocationFactory.create()
    user = UserFactory.create(is_staff=True)
    own.staff.add(user)
    variant = VariantFactory.create()

    with pytest.raises(PermissionDenied):
        cycle_count_create(location=other, lines=[(variant, 1)], user=user)

    assert not CycleCount.objects.exists()
