"""Transfers: requested (reserved at the source) → shipped (in transit) → received at the destination."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from catalog.models import Variant
from inventory.exceptions import OutOfStock, TransferStateError
from inventory.models import Location, MovementKind, StockLevel, StockMovement, Transfer, TransferLine, TransferStatus
from inventory.services import transfer_cancel, transfer_receive, transfer_request, transfer_ship
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> Location:
    return LocationFactory.create(code="alm", kind="warehouse", is_pickup_point=False, can_ship=True)


@pytest.fixture
def destination() -> Location:
    return LocationFactory.create(code="mad")


@pytest.fixture
def variant(source: Location) -> Variant:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(source, variant, 10)
    return variant


def stock(location: Location, variant: Variant) -> tuple[int, int, int]:
    level = StockLevel.objects.filter(location=location, variant=variant).first()
    return (level.on_hand, level.reserved, level.available) if level else (0, 0, 0)


def transfer_of(source: Location, destination: Location, variant: Variant, quantity: int = 4) -> Transfer:
    return transfer_request(source=source, destination=destination, lines=[(variant, quantity)], reference="O-1")


def test_request_reserves_at_the_source(source: Location, destination: Location, variant: Variant) -> None:
    transfer = transfer_of(source, destination, variant)

    assert transfer.status == TransferStatus.REQUESTED
    assert stock(source, variant) == (10, 4, 6)
    assert stock(destination, variant) == (0, 0, 0)
    assert list(transfer.lines.values_list("variant_id", "quantity")) == [(variant.pk, 4)]
    assert list(StockMovement.objects.filter(reference=f"T-{transfer.pk}").values_list("kind", "reserved_delta")) == [
        (MovementKind.RESERVATION, 4)
    ]


def test_request_merges_repeated_lines(source: Location, destination: Location, variant: Variant) -> None:
    transfer = transfer_request(source=source, destination=destination, lines=[(variant, 2), (variant, 3)])

    assert list(transfer.lines.values_list("quantity", flat=True)) == [5]
    assert stock(source, variant) == (10, 5, 5)


def test_ship_takes_the_goods_out_of_the_source(source: Location, destination: Location, variant: Variant) -> None:
    transfer = transfer_of(source, destination, variant)

    shipped = transfer_ship(transfer=transfer)

    assert shipped.status == TransferStatus.IN_TRANSIT
    assert shipped.shipped_at is not None
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.IN_TRANSIT
    assert stock(source, variant) == (6, 0, 6)
    assert stock(destination, variant) == (0, 0, 0)


def test_receive_puts_the_goods_into_the_destination(source: Location, destination: Location, variant: Variant) -> None:
    transfer = transfer_ship(transfer=transfer_of(source, destination, variant))

    received = transfer_receive(transfer=transfer)

    assert received.status == TransferStatus.RECEIVED
    assert received.received_at is not None
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.RECEIVED
    assert stock(source, variant) == (6, 0, 6)
    assert stock(destination, variant) == (4, 0, 4)
    assert list(
        StockMovement.objects.filter(reference=f"T-{transfer.pk}")
        .order_by("id")
        .values_list("kind", "location_id", "on_hand_delta", "reserved_delta")
    ) == [
        (MovementKind.RESERVATION, source.pk, 0, 4),
        (MovementKind.TRANSFER_OUT, source.pk, -4, -4),
        (MovementKind.TRANSFER_IN, destination.pk, 4, 0),
    ]


def test_cancel_of_a_requested_transfer_releases_the_reservation(
    source: Location, destination: Location, variant: Variant
) -> None:
    transfer = transfer_of(source, destination, variant)

    cancelled = transfer_cancel(transfer=transfer)

    assert cancelled.status == TransferStatus.CANCELLED
    assert Transfer.objects.get(pk=transfer.pk).status == TransferStatus.CANCELLED
    assert stock(source, variant) == (10, 0, 10)


def _ship(transfer: Transfer) -> Any:
    return transfer_ship(transfer=transfer)


def _receive(transfer: Transfer) -> Any:
    return transfer_receive(transfer=transfer)


def _cancel(transfer: Transfer) -> Any:
    return transfer_cancel(transfer=transfer)


@pytest.mark.parametrize(
    ("done", "move"),
    [
        ([], _receive),
        ([_ship], _ship),
        ([_ship], _cancel),
        ([_ship, _receive], _receive),
        ([_ship, _receive], _ship),
        ([_ship, _receive], _cancel),
        ([_cancel], _ship),
        ([_cancel], _cancel),
        ([_cancel], _receive),
    ],
    ids=[
        "receive_requested",
        "ship_in_transit",
        "cancel_in_transit",
        "receive_received",
        "ship_received",
        "cancel_received",
        "ship_cancelled",
        "cancel_cancelled",
        "receive_cancelled",
    ],
)
def test_a_move_from_the_wrong_state_is_refused_and_changes_nothing(
    done: list[Any], move: Any, source: Location, destination: Location, variant: Variant
) -> None:
    transfer = transfer_of(source, destination, variant)
    for step in done:
        step(transfer)
    status = Transfer.objects.get(pk=transfer.pk).status
    before = (stock(source, variant), stock(destination, variant), StockMovement.objects.count())

    with pytest.raises(TransferStateError) as caught:
        move(transfer)

    assert caught.value.extra["status"] == status
    assert Transfer.objects.get(pk=transfer.pk).status == status
    assert (stock(source, variant), stock(destination, variant), StockMovement.objects.count()) == before


def test_move_of_a_stale_copy_is_judged_on_the_current_state(
    source: Location, destination: Location, variant: Variant
) -> None:
    transfer = transfer_of(source, destination, variant)
    stale = Transfer.objects.get(pk=transfer.pk)
    transfer_ship(transfer=transfer)

    with pytest.raises(TransferStateError):
        transfer_ship(transfer=stale)

    assert stock(source, variant) == (6, 0, 6)


def test_transfer_to_the_same_location_is_refused(source: Location, variant: Variant) -> None:
    with pytest.raises(ValidationError) as caught:
        transfer_request(source=source, destination=source, lines=[(variant, 1)])

    assert "destination" in caught.value.message_dict
    assert not Transfer.objects.exists()
    assert stock(source, variant) == (10, 0, 10)


def test_request_of_more_than_available_is_out_of_stock_and_leaves_no_transfer(
    source: Location, destination: Location, variant: Variant
) -> None:
    other = VariantFactory.create(sku="TEE-L")
    stock_receive_for(source, other, 5)

    with pytest.raises(OutOfStock) as caught:
        transfer_request(source=source, destination=destination, lines=[(other, 2), (variant, 11)])

    assert caught.value.extra["lines"] == [{"sku": "TEE-M", "location": "alm", "requested": 11, "available": 10}]
    assert not Transfer.objects.exists()
    assert not TransferLine.objects.exists()
    assert stock(source, variant) == (10, 0, 10)
    assert stock(source, other) == (5, 0, 5)


@pytest.mark.parametrize("quantity", [0, -1, 1.5], ids=["zero", "negative", "float"])
def test_request_with_a_bad_quantity_is_refused_and_leaves_no_transfer(
    quantity: Any, source: Location, destination: Location, variant: Variant
) -> None:
    with pytest.raises(ValidationError):
        transfer_request(source=source, destination=destination, lines=[(variant, quantity)])

    assert not Transfer.objects.exists()


def test_request_of_no_lines_is_refused(source: Location, destination: Location) -> None:
    with pytest.raises(ValidationError):
        transfer_request(source=source, destination=destination, lines=[])

    assert not Transfer.objects.exists()


def test_reserved_goods_of_a_transfer_cannot_be_sold_elsewhere(
    source: Location, destination: Location, variant: Variant
) -> None:
    transfer_of(source, destination, variant, quantity=10)

    with pytest.raises(OutOfStock):
        transfer_of(source, LocationFactory.create(), variant, quantity=1)

    assert Transfer.objects.count() == 1


def test_staff_of_the_destination_cannot_request_from_a_source_they_do_not_manage(
    source: Location, destination: Location, variant: Variant
) -> None:
    user = UserFactory.create(is_staff=True)
    destination.staff.add(user)

    with pytest.raises(PermissionDenied):
        transfer_request(source=source, destination=destination, lines=[(variant, 1)], user=user)

    assert not Transfer.objects.exists()
    assert stock(source, variant) == (10, 0, 10)


def test_staff_of_the_source_ship_and_staff_of_the_destination_receive(
    source: Location, destination: Location, variant: Variant
) -> None:
    at_source, at_destination = UserFactory.create(is_staff=True), UserFactory.create(is_staff=True)
    source.staff.add(at_source)
    destination.staff.add(at_destination)
    transfer = transfer_of(source, destination, variant)

    with pytest.raises(PermissionDenied):
        transfer_ship(transfer=transfer, user=at_destination)
    transfer_ship(transfer=transfer, user=at_source)
    with pytest.raises(PermissionDenied):
        transfer_receive(transfer=transfer, user=at_source)
    transfer_receive(transfer=transfer, user=at_destination)

    assert stock(destination, variant) == (4, 0, 4)
