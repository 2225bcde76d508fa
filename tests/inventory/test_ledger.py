"""The stock ledger: every change appends a movement, and the movements explain every level."""

import pytest
from django.db.models import Sum

from config.channels import Channel
from config.models import AppendOnlyError
from inventory.exceptions import OutOfStock
from inventory.models import MovementKind, StockLevel, StockMovement
from inventory.services import (
    StockLine,
    cycle_count_apply,
    cycle_count_create,
    stock_adjust,
    stock_commit_sale,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_restock_return,
    transfer_cancel,
    transfer_receive,
    transfer_request,
    transfer_ship,
)
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db


def assert_ledger_explains_every_level() -> None:
    """For every stock level: on_hand and reserved are the sums of its movements."""
    levels = StockLevel.objects.annotate(
        on_hand_sum=Sum("movements__on_hand_delta", default=0), reserved_sum=Sum("movements__reserved_delta", default=0)
    )
    mismatched = [
        (level.location_id, level.variant_id, level.on_hand, level.on_hand_sum, level.reserved, level.reserved_sum)
        for level in levels
        if (level.on_hand, level.reserved) != (level.on_hand_sum, level.reserved_sum)
    ]
    assert mismatched == []


def test_receipt_appends_a_movement_with_reference_and_user() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    user = UserFactory.create(is_staff=True, is_superuser=True)

    stock_receive(location=location, lines=[(variant, 6)], reference="PO-7", user=user)

    movement = StockMovement.objects.get(variant=variant)
    assert (movement.kind, movement.on_hand_delta, movement.reserved_delta) == (MovementKind.RECEIPT, 6, 0)
    assert (movement.location_id, movement.reference, movement.user) == (location.pk, "PO-7", user)
    assert movement.stock_level == StockLevel.objects.get(location=location, variant=variant)
    assert movement.created_at is not None


def test_reservation_release_and_sale_append_movements_with_reference_and_channel() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 10)
    line = StockLine(location, variant, 2)

    stock_reserve(lines=[line], reference="O-1", channel=Channel.WHATSAPP)
    stock_release(lines=[StockLine(location, variant, 1)], reference="O-1", channel=Channel.WHATSAPP)
    stock_commit_sale(lines=[StockLine(location, variant, 1)], reference="O-1", channel=Channel.WHATSAPP)

    assert list(
        StockMovement.objects.filter(reference="O-1")
        .order_by("id")
        .values_list("kind", "on_hand_delta", "reserved_delta", "channel")
    ) == [
        (MovementKind.RESERVATION, 0, 2, Channel.WHATSAPP),
        (MovementKind.RELEASE, 0, -1, Channel.WHATSAPP),
        (MovementKind.SALE, -1, -1, Channel.WHATSAPP),
    ]


def test_adjustment_appends_a_movement_with_its_reason_and_user() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 4)
    user = UserFactory.create(is_staff=True, is_superuser=True)

    stock_adjust(location=location, variant=variant, quantity=-3, reason="  Water damage ", user=user)

    movement = StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).get()
    assert (movement.on_hand_delta, movement.reserved_delta, movement.reason, movement.user) == (
        -3,
        0,
        "Water damage",
        user,
    )


def test_return_appends_a_movement_with_its_reference_and_channel() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()

    stock_restock_return(location=location, lines=[(variant, 2)], reference="R-9", channel=Channel.STORE)

    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.reference, movement.channel) == (
        MovementKind.RETURN,
        2,
        "R-9",
        Channel.STORE,
    )


def test_refused_change_appends_no_movement() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 1)

    with pytest.raises(OutOfStock):
        stock_reserve(lines=[StockLine(location, variant, 2)], reference="O-1")

    assert list(StockMovement.objects.values_list("kind", flat=True)) == [MovementKind.RECEIPT]


def test_ledger_explains_every_level_after_a_mixed_day_across_locations() -> None:
    store = LocationFactory.create(code="mad")
    other_store = LocationFactory.create(code="bcn")
    warehouse = LocationFactory.create(code="alm", kind="warehouse", is_pickup_point=False, can_ship=True)
    shirt, trousers, socks = VariantFactory.create(), VariantFactory.create(), VariantFactory.create()
    manager = UserFactory.create(is_staff=True, is_superuser=True)

    # Receipts, several lines, repeated lines.
    stock_receive(location=warehouse, lines=[(shirt, 50), (trousers, 30), (shirt, 10)], reference="PO-1")
    stock_receive(location=store, lines=[(shirt, 5), (socks, 12)], reference="PO-2", user=manager)
    # Reservations across locations, released and sold.
    stock_reserve(
        lines=[StockLine(warehouse, shirt, 4), StockLine(store, socks, 3), StockLine(warehouse, trousers, 2)],
        reference="O-1",
        channel=Channel.WEB,
    )
    stock_release(lines=[StockLine(store, socks, 1)], reference="O-1", channel=Channel.WEB)
    stock_commit_sale(
        lines=[StockLine(warehouse, shirt, 4), StockLine(store, socks, 2), StockLine(warehouse, trousers, 1)],
        reference="O-1",
        channel=Channel.WEB,
    )
    stock_reserve(lines=[StockLine(store, shirt, 2)], reference="O-2", channel=Channel.STORE)
    # A refused reservation leaves no trace.
    with pytest.raises(OutOfStock):
        stock_reserve(lines=[StockLine(store, shirt, 1), StockLine(other_store, shirt, 1)], reference="O-3")
    # Returns into another location than the one that sold.
    stock_restock_return(location=other_store, lines=[(shirt, 1), (socks, 1)], reference="R-1", channel=Channel.STORE)
    # Adjustments both ways.
    stock_adjust(location=warehouse, variant=trousers, quantity=-3, reason="Damaged", user=manager)
    stock_adjust(location=store, variant=socks, quantity=4, reason="Found")
    # Transfers: received, in transit, cancelled.
    received = transfer_request(source=warehouse, destination=store, lines=[(shirt, 6), (trousers, 2)])
    transfer_ship(transfer=received)
    transfer_receive(transfer=received)
    in_transit = transfer_request(source=warehouse, destination=other_store, lines=[(trousers, 3)])
    transfer_ship(transfer=in_transit)
    cancelled = transfer_request(source=store, destination=other_store, lines=[(socks, 2)])
    transfer_cancel(transfer=cancelled)
    # Counts: one up, one down, one unchanged, one for a variant never stocked there.
    count = cycle_count_create(
        location=store, lines=[(shirt, 12), (socks, 10), (trousers, 2)], user=manager
    )  # shirt 11 → 12, socks 14 → 10, trousers 2 = 2
    cycle_count_apply(count=count, user=manager)
    cycle_count_apply(count=cycle_count_create(location=warehouse, lines=[(socks, 3)]))
    # More sales after all that.
    stock_reserve(lines=[StockLine(store, shirt, 3), StockLine(other_store, socks, 1)], reference="O-4")
    stock_commit_sale(lines=[StockLine(store, shirt, 1)], reference="O-4")

    assert StockLevel.objects.count() == 8
    assert set(StockMovement.objects.values_list("kind", flat=True)) == set(MovementKind.values)
    assert_ledger_explains_every_level()
    level = StockLevel.objects.get(location=store, variant=shirt)
    assert (level.on_hand, level.reserved, level.available) == (11, 4, 7)


def test_movement_cannot_be_edited() -> None:
    location, variant = LocationFactory.create(), VariantFactory.create()
    stock_receive_for(location, variant, 3)
    movement = StockMovement.objects.get()
    movement.on_hand_delta = 300

    with pytest.raises(AppendOnlyError):
        movement.save()

    assert StockMovement.objects.get().on_hand_delta == 3
