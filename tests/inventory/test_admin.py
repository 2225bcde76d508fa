"""Staff work stock in the admin: by location, adjustments with a reason, transfers, counts, history.

Store staff see and change their own locations only; managers see all. Every change goes
through the services, so the ledger explains it.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant
from config.channels import Channel
from config.roles import Role
from inventory import services
from inventory.models import (
    CycleCount,
    CycleCountStatus,
    Location,
    LowStockAlert,
    MovementKind,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from tests.factories import (
    LocationFactory,
    UserFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/inventory/"
ADJUST = f"{ADMIN}stocklevel/adjust/"
THRESHOLD = f"{ADMIN}stocklevel/threshold/"


@dataclass
class Shop:
    madrid: Location
    barcelona: Location
    warehouse: Location
    shirt: Variant  # in Madrid and in the warehouse
    boots: Variant  # in Barcelona only
    transfer_in: Transfer  # warehouse → Madrid, requested
    transfer_elsewhere: Transfer  # Barcelona → warehouse, requested


@pytest.fixture
def shop() -> Shop:
    madrid = LocationFactory.create(code="MAD-CENTRO", name="Tienda Madrid")
    barcelona = LocationFactory.create(code="BCN-PORTAL-ANGEL", name="Tienda Barcelona", city="Barcelona")
    warehouse = LocationFactory.create(
        code="ALM-GETAFE", name="Almacén Getafe", kind="warehouse", can_ship=True, is_pickup_point=False
    )
    shirt = VariantFactory.create(sku="CAM-MAD-M", product__name="Camiseta básica")
    boots = VariantFactory.create(sku="BOT-BCN-42", product__name="Botas chelsea")
    stock_receive_for(madrid, shirt, 10)
    stock_receive_for(warehouse, shirt, 50)
    stock_receive_for(barcelona, boots, 7)
    transfer_in = services.transfer_request(source=warehouse, destination=madrid, lines=[(shirt, 5)], reference="REP-1")
    transfer_elsewhere = services.transfer_request(
        source=barcelona, destination=warehouse, lines=[(boots, 2)], reference="DEV-BCN"
    )
    return Shop(madrid, barcelona, warehouse, shirt, boots, transfer_in, transfer_elsewhere)


def store_staff_of(*locations: Location, username: str = "tienda") -> Any:
    return staff_with_role(Role.STORE_STAFF, *locations, username=username)


@pytest.fixture
def madrid_client(client: Client, shop: Shop) -> Client:
    """Logged in as store staff of Madrid only."""
    client.force_login(store_staff_of(shop.madrid))
    return client


def level(location: Location, variant: Variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def page(response: Any) -> str:
    return response.content.decode()


def message_texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Pages -----------------------------------------------------------------------------------


def _change_pages(shop: Shop) -> list[str]:
    count = services.cycle_count_create(location=shop.madrid, lines=[(shop.shirt, 9)])
    services.low_stock_threshold_set(location=shop.barcelona, variant=shop.boots, threshold=20)
    alert = LowStockAlert.objects.get()
    return [
        f"{ADMIN}location/{shop.madrid.pk}/change/",
        f"{ADMIN}stocklevel/{level(shop.madrid, shop.shirt).pk}/change/",
        f"{ADMIN}stockmovement/{StockMovement.objects.first().pk}/change/",  # type: ignore[union-attr]
        f"{ADMIN}transfer/{shop.transfer_in.pk}/change/",
        f"{ADMIN}cyclecount/{count.pk}/change/",
        f"{ADMIN}lowstockalert/{alert.pk}/change/",
    ]


CHANGELISTS = [
    f"{ADMIN}location/",
    f"{ADMIN}stocklevel/",
    f"{ADMIN}stocklevel/?stock=low",
    f"{ADMIN}stocklevel/?stock=out",
    f"{ADMIN}stocklevel/?location__kind__exact=warehouse",
    f"{ADMIN}stockmovement/",
    f"{ADMIN}stockmovement/?kind__exact=receipt",
    f"{ADMIN}transfer/",
    f"{ADMIN}transfer/?status__exact=requested",
    f"{ADMIN}cyclecount/",
    f"{ADMIN}lowstockalert/",
    f"{ADMIN}lowstockalert/?state=open",
    ADJUST,
    THRESHOLD,
    f"{ADMIN}transfer/add/",
    f"{ADMIN}cyclecount/add/",
]


def test_every_inventory_page_renders_for_a_superuser(admin_client: Client, shop: Shop) -> None:
    for url in CHANGELISTS + _change_pages(shop):
        assert admin_client.get(url).status_code == 200, url


def test_stock_search_finds_a_sku_barcode_or_product_name(admin_client: Client, shop: Shop) -> None:
    for typed in ("CAM-MAD", str(shop.shirt.barcode), "camiseta"):
        found = page(admin_client.get(f"{ADMIN}stocklevel/", {"q": typed}))
        assert "CAM-MAD-M" in found, typed
        assert "BOT-BCN-42" not in found, typed


def test_movement_history_is_searchable_by_sku_and_reference(admin_client: Client, shop: Shop) -> None:
    by_sku = page(admin_client.get(f"{ADMIN}stockmovement/", {"q": "BOT-BCN-42"}))
    assert "BOT-BCN-42" in by_sku
    assert "CAM-MAD-M" not in by_sku
    by_reference = page(admin_client.get(f"{ADMIN}stockmovement/", {"q": f"T-{shop.transfer_in.pk}"}))
    assert "CAM-MAD-M" in by_reference
    assert "BOT-BCN-42" not in by_reference


def test_low_and_out_of_stock_filters(admin_client: Client, shop: Shop) -> None:
    services.low_stock_threshold_set(location=shop.madrid, variant=shop.shirt, threshold=20)
    services.stock_adjust(location=shop.barcelona, variant=shop.boots, quantity=-5, reason="Rotura")  # 2 reserved

    low = page(admin_client.get(f"{ADMIN}stocklevel/", {"stock": "low"}))
    out = page(admin_client.get(f"{ADMIN}stocklevel/", {"stock": "out"}))

    assert "CAM-MAD-M" in low
    assert "BOT-BCN-42" not in low
    assert "BOT-BCN-42" in out
    assert "CAM-MAD-M" not in out


def test_open_alerts_are_listed_before_resolved_ones(admin_client: Client, shop: Shop) -> None:
    services.low_stock_threshold_set(location=shop.madrid, variant=shop.shirt, threshold=20)
    services.low_stock_threshold_set(location=shop.madrid, variant=shop.shirt, threshold=None)  # resolves it
    services.low_stock_threshold_set(location=shop.barcelona, variant=shop.boots, threshold=20)

    listed = page(admin_client.get(f"{ADMIN}lowstockalert/"))

    assert listed.index("BOT-BCN-42") < listed.index("CAM-MAD-M")


# --- Store staff see and change their own locations only ------------------------------------


def test_store_staff_see_only_their_locations_rows(madrid_client: Client, shop: Shop) -> None:
    levels = page(madrid_client.get(f"{ADMIN}stocklevel/"))
    movements = page(madrid_client.get(f"{ADMIN}stockmovement/"))
    transfers = page(madrid_client.get(f"{ADMIN}transfer/"))
    locations = page(madrid_client.get(f"{ADMIN}location/"))

    assert "CAM-MAD-M" in levels
    assert "BOT-BCN-42" not in levels
    assert "ALM-GETAFE" not in levels  # the warehouse's shirts are not theirs
    assert "CAM-MAD-M" in movements
    assert "BOT-BCN-42" not in movements
    assert f"T-{shop.transfer_in.pk}" in transfers  # coming to Madrid
    assert f"T-{shop.transfer_elsewhere.pk}" not in transfers
    assert "MAD-CENTRO" in locations
    assert "BCN-PORTAL-ANGEL" not in locations


def test_store_staff_filters_offer_only_their_locations(madrid_client: Client, shop: Shop) -> None:
    listed = page(madrid_client.get(f"{ADMIN}stocklevel/"))
    assert f"?location={shop.madrid.pk}" in listed
    assert f"?location={shop.barcelona.pk}" not in listed
    # Asking for another location's rows by URL shows nothing of them.
    assert "BOT-BCN-42" not in page(madrid_client.get(f"{ADMIN}stocklevel/", {"location": shop.barcelona.pk}))


def test_store_staff_cannot_open_another_locations_rows(madrid_client: Client, shop: Shop) -> None:
    other = level(shop.barcelona, shop.boots)
    response = madrid_client.get(f"{ADMIN}stocklevel/{other.pk}/change/")
    assert response.status_code == 302
    response = madrid_client.get(f"{ADMIN}transfer/{shop.transfer_elsewhere.pk}/change/")
    assert response.status_code == 302


def test_store_staff_cannot_adjust_stock_at_another_location(madrid_client: Client, shop: Shop) -> None:
    movements = StockMovement.objects.count()

    response = madrid_client.post(
        ADJUST, {"location": shop.barcelona.pk, "variant": "BOT-BCN-42", "quantity": -3, "reason": "Rotura"}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in page(response)
    assert level(shop.barcelona, shop.boots).on_hand == 7
    assert StockMovement.objects.count() == movements


def test_store_staff_adjust_form_does_not_prefill_another_locations_level(madrid_client: Client, shop: Shop) -> None:
    other = level(shop.barcelona, shop.boots)
    form = page(madrid_client.get(ADJUST, {"level": other.pk}))
    assert "BOT-BCN-42" not in form
    assert "BCN-PORTAL-ANGEL" not in form


def test_store_staff_adjust_their_own_stock(madrid_client: Client, shop: Shop) -> None:
    response = madrid_client.post(
        ADJUST, {"location": shop.madrid.pk, "variant": "CAM-MAD-M", "quantity": -2, "reason": "Rotura en probador"}
    )

    assert response.status_code == 302
    assert level(shop.madrid, shop.shirt).on_hand == 8
    movement = StockMovement.objects.select_related("user").get(kind=MovementKind.ADJUSTMENT)
    assert (movement.on_hand_delta, movement.reason) == (-2, "Rotura en probador")
    assert movement.user is not None
    assert movement.user.username == "tienda"


def test_store_staff_transfer_source_must_be_their_location(madrid_client: Client, shop: Shop) -> None:
    transfers = Transfer.objects.count()

    response = madrid_client.post(
        f"{ADMIN}transfer/add/",
        {"source": shop.barcelona.pk, "destination": shop.madrid.pk, "lines": "BOT-BCN-42 1"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in page(response)
    assert Transfer.objects.count() == transfers
    assert level(shop.barcelona, shop.boots).reserved == 2


def test_store_staff_cannot_ship_from_another_location_but_receive_at_theirs(
    madrid_client: Client, admin_client: Client, shop: Shop
) -> None:
    transfer = shop.transfer_in  # warehouse → Madrid: Madrid staff see it, the warehouse ships it

    response = madrid_client.post(
        f"{ADMIN}transfer/", {"action": "ship", "_selected_action": [transfer.pk], "index": 0}, follow=True
    )

    assert any("do not manage" in text for text in message_texts(response))
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REQUESTED
    assert level(shop.warehouse, shop.shirt).on_hand == 50

    admin_client.post(f"{ADMIN}transfer/", {"action": "ship", "_selected_action": [transfer.pk], "index": 0})
    response = madrid_client.post(
        f"{ADMIN}transfer/", {"action": "receive", "_selected_action": [transfer.pk], "index": 0}, follow=True
    )

    assert any("1 transfers received" in text for text in message_texts(response))
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert level(shop.madrid, shop.shirt).on_hand == 15


def test_store_staff_cannot_apply_another_locations_count(madrid_client: Client, shop: Shop) -> None:
    count = services.cycle_count_create(location=shop.barcelona, lines=[(shop.boots, 3)])

    madrid_client.post(f"{ADMIN}cyclecount/", {"action": "apply_count", "_selected_action": [count.pk], "index": 0})

    count.refresh_from_db()
    assert count.status == CycleCountStatus.OPEN
    assert level(shop.barcelona, shop.boots).on_hand == 7


def test_managers_see_every_location(client: Client, shop: Shop) -> None:
    client.force_login(staff_with_role(Role.MANAGER, username="encargado"))

    levels = page(client.get(f"{ADMIN}stocklevel/"))

    assert "CAM-MAD-M" in levels
    assert "BOT-BCN-42" in levels
    assert "ALM-GETAFE" in levels


# --- Devices and tills bound to a location ---------------------------------------------------


def location_form(location: Location, **changes: Any) -> dict[str, Any]:
    """The location's change form as the admin posts it, with `changes`."""
    data: dict[str, Any] = {
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "is_active": "on",
        "address": location.address,
        "city": location.city,
        "country": location.country,
        "latitude": "",
        "longitude": "",
        "is_pickup_point": "on",
        "staff": [user.pk for user in location.staff.all()],
        "channel_clients": [client.pk for client in location.channel_clients.all()],
    }
    return data | changes


def test_managers_bind_a_till_and_a_locker_to_a_location(client: Client, shop: Shop) -> None:
    till, _token = channel_client(Channel.STORE, name="TPV Gran Vía")
    lockers, _token = channel_client(Channel.LOCKER, name="Taquillas Correos")
    client.force_login(staff_with_role(Role.MANAGER, username="encargado"))
    url = f"{ADMIN}location/{shop.madrid.pk}/change/"

    response = client.post(url, location_form(shop.madrid, channel_clients=[till.pk, lockers.pk]))

    assert response.status_code == 302, page(response)
    assert set(shop.madrid.channel_clients.all()) == {till, lockers}
    assert "TPV Gran Vía" in page(client.get(url))


def test_only_tills_and_devices_are_offered_for_binding(client: Client, shop: Shop) -> None:
    channel_client(Channel.STORE, name="TPV Gran Vía")
    channel_client(Channel.LOCKER, name="Taquillas Correos")
    web, _token = channel_client(Channel.WEB, name="Tienda web")
    client.force_login(staff_with_role(Role.MANAGER, username="encargado"))
    url = f"{ADMIN}location/{shop.madrid.pk}/change/"

    form = page(client.get(url))
    response = client.post(url, location_form(shop.madrid, channel_clients=[web.pk]))

    assert "TPV Gran Vía" in form
    assert "Taquillas Correos" in form
    assert "Tienda web" not in form
    assert response.status_code == 200  # the form refuses the choice
    assert not shop.madrid.channel_clients.exists()


def test_who_works_a_location_is_read_only_without_managing_every_location(client: Client, shop: Shop) -> None:
    till, _token = channel_client(Channel.STORE, name="TPV Gran Vía")
    editor = store_staff_of(shop.madrid, username="editor")
    editor.user_permissions.add(Permission.objects.get(codename="change_location"))
    client.force_login(editor)

    response = client.post(
        f"{ADMIN}location/{shop.madrid.pk}/change/", location_form(shop.madrid, channel_clients=[till.pk])
    )

    assert response.status_code == 302
    assert not shop.madrid.channel_clients.exists()


# --- Adjustments and thresholds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "reason", "error"),
    [
        (-2, "", "This field is required."),
        (-2, "   ", "This field is required."),
        (0, "Recuento", "other than zero"),
        ("dos", "Recuento", "Enter a whole number."),
    ],
)
def test_adjust_with_bad_input_shows_errors_and_changes_nothing(
    admin_client: Client, shop: Shop, quantity: Any, reason: str, error: str
) -> None:
    movements = StockMovement.objects.count()

    response = admin_client.post(
        ADJUST, {"location": shop.madrid.pk, "variant": "CAM-MAD-M", "quantity": quantity, "reason": reason}
    )

    assert response.status_code == 200
    assert error in page(response)
    assert level(shop.madrid, shop.shirt).on_hand == 10
    assert StockMovement.objects.count() == movements


def test_adjust_of_an_unknown_sku_is_a_field_error(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(
        ADJUST, {"location": shop.madrid.pk, "variant": "NO-SUCH-SKU", "quantity": 1, "reason": "Encontrado"}
    )
    assert response.status_code == 200
    assert "No variant has the SKU or barcode NO-SUCH-SKU" in page(response)


def test_adjust_below_what_is_there_is_refused_with_the_available_stock(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(
        ADJUST, {"location": shop.madrid.pk, "variant": "CAM-MAD-M", "quantity": -11, "reason": "Robo"}
    )

    assert response.status_code == 200
    assert "10 available" in page(response)
    assert level(shop.madrid, shop.shirt).on_hand == 10


def test_adjust_by_barcode_from_a_levels_link(admin_client: Client, shop: Shop) -> None:
    shirt_level = level(shop.madrid, shop.shirt)
    form = page(admin_client.get(ADJUST, {"level": shirt_level.pk}))
    assert 'value="CAM-MAD-M"' in form

    response = admin_client.post(
        ADJUST, {"location": shop.madrid.pk, "variant": shop.shirt.barcode, "quantity": 3, "reason": "Encontrado"}
    )

    assert response.status_code == 302
    assert level(shop.madrid, shop.shirt).on_hand == 13


def test_stock_numbers_cannot_be_edited_directly(admin_client: Client, shop: Shop) -> None:
    shirt_level = level(shop.madrid, shop.shirt)

    response = admin_client.post(
        f"{ADMIN}stocklevel/{shirt_level.pk}/change/", {"on_hand": 99, "reserved": 0, "low_stock_threshold": 1}
    )

    assert response.status_code == 403
    assert admin_client.get(f"{ADMIN}stocklevel/add/").status_code == 403
    assert 'name="on_hand"' not in page(admin_client.get(f"{ADMIN}stocklevel/{shirt_level.pk}/change/"))
    shirt_level.refresh_from_db()
    assert (shirt_level.on_hand, shirt_level.low_stock_threshold) == (10, None)


def test_threshold_form_sets_it_and_raises_an_alert(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(THRESHOLD, {"location": shop.madrid.pk, "variant": "CAM-MAD-M", "threshold": 12})

    assert response.status_code == 302
    assert level(shop.madrid, shop.shirt).low_stock_threshold == 12
    assert LowStockAlert.objects.filter(stock_level__variant=shop.shirt, resolved_at=None).exists()


def test_threshold_action_asks_then_sets_it_on_every_selected_level(admin_client: Client, shop: Shop) -> None:
    levels = [level(shop.madrid, shop.shirt).pk, level(shop.barcelona, shop.boots).pk]
    selected = {"action": "set_threshold", "_selected_action": levels}

    asked = admin_client.post(f"{ADMIN}stocklevel/", {**selected, "index": 0})
    assert asked.status_code == 200
    assert 'name="threshold"' in page(asked)

    admin_client.post(f"{ADMIN}stocklevel/", {**selected, "threshold": "4", "apply": "Save"})

    assert set(StockLevel.objects.filter(pk__in=levels).values_list("low_stock_threshold", flat=True)) == {4}


def test_threshold_action_refuses_a_negative_threshold(admin_client: Client, shop: Shop) -> None:
    shirt_level = level(shop.madrid, shop.shirt)
    response = admin_client.post(
        f"{ADMIN}stocklevel/",
        {"action": "set_threshold", "_selected_action": [shirt_level.pk], "threshold": "-1", "apply": "Save"},
    )
    assert response.status_code == 200
    assert "greater than or equal to 0" in page(response)
    shirt_level.refresh_from_db()
    assert shirt_level.low_stock_threshold is None


# --- Transfers and counts --------------------------------------------------------------------


def transfer_action(client: Client, action: str, transfer: Transfer) -> list[str]:
    response = client.post(
        f"{ADMIN}transfer/", {"action": action, "_selected_action": [transfer.pk], "index": 0}, follow=True
    )
    transfer.refresh_from_db()
    return message_texts(response)


def test_transfer_requested_in_the_admin_then_shipped_and_received(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(
        f"{ADMIN}transfer/add/",
        {
            "source": shop.warehouse.pk,
            "destination": shop.barcelona.pk,
            "lines": f"CAM-MAD-M 4\n{shop.shirt.barcode}, 1\n",
            "reference": "Pedido 1001",
            "expected_at": "2026-12-01",
        },
    )
    transfer = Transfer.objects.get(reference="Pedido 1001")
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}transfer/{transfer.pk}/change/"
    assert list(transfer.lines.values_list("quantity", flat=True)) == [5]
    assert level(shop.warehouse, shop.shirt).reserved == 10  # 5 for Madrid, 5 for Barcelona

    assert any("1 transfers shipped" in text for text in transfer_action(admin_client, "ship", transfer))
    assert transfer.status == TransferStatus.IN_TRANSIT
    assert level(shop.warehouse, shop.shirt).on_hand == 45

    transfer_action(admin_client, "receive", transfer)
    assert transfer.status == TransferStatus.RECEIVED
    assert level(shop.barcelona, shop.shirt).on_hand == 5


def test_transfer_received_from_its_own_page(madrid_client: Client, admin_client: Client, shop: Shop) -> None:
    transfer_action(admin_client, "ship", shop.transfer_in)
    url = f"{ADMIN}transfer/{shop.transfer_in.pk}/change/"

    response = madrid_client.post(
        url, {"CHANGE_FORM-action": "receive", "_selected_action": shop.transfer_in.pk, "index": 0}, follow=True
    )

    assert any("1 transfers received" in text for text in message_texts(response))
    shop.transfer_in.refresh_from_db()
    assert shop.transfer_in.status == TransferStatus.RECEIVED
    assert level(shop.madrid, shop.shirt).on_hand == 15


def test_transfer_cancel_releases_the_reservation(admin_client: Client, shop: Shop) -> None:
    transfer_action(admin_client, "cancel", shop.transfer_in)

    assert shop.transfer_in.status == TransferStatus.CANCELLED
    assert level(shop.warehouse, shop.shirt).reserved == 0


def test_transfer_in_the_wrong_state_is_an_error_message(admin_client: Client, shop: Shop) -> None:
    texts = transfer_action(admin_client, "receive", shop.transfer_in)  # requested, not shipped yet

    assert any("not In transit" in text for text in texts)
    assert shop.transfer_in.status == TransferStatus.REQUESTED
    assert level(shop.madrid, shop.shirt).on_hand == 10


def test_transfer_request_beyond_the_available_stock_is_a_form_error(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(
        f"{ADMIN}transfer/add/",
        {"source": shop.barcelona.pk, "destination": shop.madrid.pk, "lines": "BOT-BCN-42 6"},
    )

    assert response.status_code == 200
    assert "5 available" in page(response)
    assert Transfer.objects.count() == 2


def test_transfer_lines_with_unknown_skus_or_bad_numbers_are_refused(admin_client: Client, shop: Shop) -> None:
    response = admin_client.post(
        f"{ADMIN}transfer/add/",
        {"source": shop.warehouse.pk, "destination": shop.madrid.pk, "lines": "NOPE 1\nCAM-MAD-M cero\nCAM-MAD-M 0"},
    )

    text = page(response)
    assert "Line 1: no variant has the SKU or barcode NOPE" in text
    assert "Line 2: write a SKU or barcode and a number" in text
    assert "Line 3: the number must be 1 or more" in text
    assert Transfer.objects.count() == 2


def test_transfer_page_is_read_only_and_shows_its_lines(admin_client: Client, shop: Shop) -> None:
    url = f"{ADMIN}transfer/{shop.transfer_in.pk}/change/"
    shown = page(admin_client.get(url))
    assert "CAM-MAD-M" in shown
    assert 'name="status"' not in shown
    assert admin_client.post(url, {"status": "received"}).status_code == 403
    shop.transfer_in.refresh_from_db()
    assert shop.transfer_in.status == TransferStatus.REQUESTED


def test_cycle_count_recorded_then_applied(madrid_client: Client, shop: Shop) -> None:
    response = madrid_client.post(
        f"{ADMIN}cyclecount/add/", {"location": shop.madrid.pk, "lines": "CAM-MAD-M 8"}, follow=True
    )
    count = CycleCount.objects.get()
    assert "-2" in page(response)  # counted 8, 10 on hand
    assert level(shop.madrid, shop.shirt).on_hand == 10

    madrid_client.post(f"{ADMIN}cyclecount/", {"action": "apply_count", "_selected_action": [count.pk], "index": 0})

    count.refresh_from_db()
    assert count.status == CycleCountStatus.APPLIED
    assert level(shop.madrid, shop.shirt).on_hand == 8
    assert StockMovement.objects.filter(kind=MovementKind.COUNT, reference=f"C-{count.pk}").exists()


def test_cycle_count_for_another_location_is_refused_in_the_form(madrid_client: Client, shop: Shop) -> None:
    response = madrid_client.post(f"{ADMIN}cyclecount/add/", {"location": shop.barcelona.pk, "lines": "BOT-BCN-42 1"})
    assert response.status_code == 200
    assert not CycleCount.objects.exists()


# --- Cost of the stock list ------------------------------------------------------------------


def _changelist_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("as_store_staff", [False, True])
def test_stock_list_queries_do_not_grow_with_rows(client: Client, as_store_staff: bool) -> None:
    store = LocationFactory.create(code="MAD-CENTRO")
    user = (
        store_staff_of(store)
        if as_store_staff
        else UserFactory.create(username="root", is_staff=True, is_superuser=True)
    )
    client.force_login(user)
    url = f"{ADMIN}stocklevel/"
    variants = VariantFactory.create_batch(50)
    services.stock_receive(location=store, lines=[(variant, 3) for variant in variants[:5]])
    few = _changelist_queries(client, url)
    services.stock_receive(location=store, lines=[(variant, 3) for variant in variants[5:]])
    many = _changelist_queries(client, url)

    assert StockLevel.objects.count() == 50
    assert many == few


def test_movement_list_queries_do_not_grow_with_rows(admin_client: Client) -> None:
    store = LocationFactory.create(code="MAD-CENTRO")
    variants = VariantFactory.create_batch(50)
    services.stock_receive(location=store, lines=[(variant, 3) for variant in variants[:5]])
    few = _changelist_queries(admin_client, f"{ADMIN}stockmovement/")
    services.stock_receive(location=store, lines=[(variant, 3) for variant in variants[5:]])
    assert _changelist_queries(admin_client, f"{ADMIN}stockmovement/") == few


# --- A service guard the admin relies on -----------------------------------------------------


def test_transfer_request_refuses_a_user_who_manages_neither_location(shop: Shop) -> None:
    """Every stock write checks the user's locations; requesting a transfer reserves at the source.

    The admin form offers only the user's locations as the source; the service must refuse on
    its own too (the API and other callers pass `user=`).
    """
    staff = store_staff_of(shop.madrid)

    with pytest.raises(PermissionDenied):
        services.transfer_request(
            source=shop.barcelona, destination=shop.warehouse, lines=[(shop.boots, 1)], user=staff
        )
    assert level(shop.barcelona, shop.boots).reserved == 2
