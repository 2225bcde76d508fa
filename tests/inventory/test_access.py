"""Who may use each inventory endpoint: channels by scope, staff by permission and location.

Channel credentials read locations, availability and the feed with `inventory:read`; only
staff see stock levels and change stock, each with the admin's permission and only at their
own locations (managers everywhere).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from inventory.models import Location, StockLevel
from tests.api import staff_api, token_api
from tests.factories import (
    LocationFactory,
    UserFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/inventory/locations/"
AVAILABILITY = "/api/v1/inventory/availability/"
CHANGES = "/api/v1/inventory/changes/"
STOCK = "/api/v1/inventory/stock/"
ADJUSTMENTS = "/api/v1/inventory/adjustments/"
RECEIPTS = "/api/v1/inventory/receipts/"


@dataclass
class Places:
    store: Location
    other_store: Location
    warehouse: Location
    locker: Location


@pytest.fixture
def places() -> Places:
    """Five T-shirts in the Madrid store."""
    places = Places(
        store=LocationFactory.create(code="MAD", kind="store"),
        other_store=LocationFactory.create(code="BCN", kind="store"),
        warehouse=LocationFactory.create(code="ALM", kind="warehouse", can_ship=True, is_pickup_point=False),
        locker=LocationFactory.create(code="LOCK", kind="locker"),
    )
    stock_receive_for(places.store, VariantFactory.create(sku="TEE-M"), 5)
    return places


def on_hand_at_the_store(places: Places) -> int:
    return StockLevel.objects.get(location=places.store, variant__sku="TEE-M").on_hand


# Every kind of caller, by name: channel credentials (their channel's default scopes) and staff.
CALLERS: dict[str, Callable[[Places], APIClient]] = {
    "anonymous": lambda places: APIClient(),
    "web": lambda places: token_api(channel_client(Channel.WEB)[1]),
    "marketplace": lambda places: token_api(channel_client(Channel.MARKETPLACE)[1]),
    "till": lambda places: token_api(channel_client(Channel.STORE, locations=[places.store])[1]),
    "locker": lambda places: token_api(channel_client(Channel.LOCKER, locations=[places.locker])[1]),
    "newsletter": lambda places: token_api(channel_client(Channel.EMAIL)[1]),
    "store_staff": lambda places: staff_api(staff_with_role(Role.STORE_STAFF, places.store)),
    "other_store_staff": lambda places: staff_api(staff_with_role(Role.STORE_STAFF, places.other_store)),
    "warehouse_staff": lambda places: staff_api(staff_with_role(Role.WAREHOUSE, places.warehouse)),
    "agent": lambda places: staff_api(staff_with_role(Role.AGENT)),
    "accountant": lambda places: staff_api(staff_with_role(Role.ACCOUNTANT)),
    "manager": lambda places: staff_api(staff_with_role(Role.MANAGER)),
    "staff_without_role": lambda places: staff_api(UserFactory.create(is_staff=True)),
    "signed_in_customer": lambda places: staff_api(UserFactory.create(is_staff=False)),
}


def answer(caller: str, places: Places, send: Callable[[APIClient], Any]) -> int:
    return int(send(CALLERS[caller](places)).status_code)


def adjust_at(code: str) -> Callable[[APIClient], Any]:
    body = {"location": code, "sku": "TEE-M", "quantity": 2, "reason": "Encontrado en el almacén"}
    return lambda api: api.post(ADJUSTMENTS, body, format="json")


def receive_at(code: str) -> Callable[[APIClient], Any]:
    body = {"location": code, "reference": "ALB-7", "lines": [{"sku": "TEE-M", "quantity": 3}]}
    return lambda api: api.post(RECEIPTS, body, format="json")


# --- Reading: locations, availability, the feed ----------------------------------------------

READERS_OF_LOCATIONS = {
    "web": 200,
    "marketplace": 200,
    "till": 200,
    "store_staff": 200,
    "warehouse_staff": 200,
    "agent": 200,
    "accountant": 200,  # view_location
    "manager": 200,
    "locker": 403,  # pickups:redeem only
    "newsletter": 403,
    "staff_without_role": 403,
    "signed_in_customer": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize(("caller", "status"), READERS_OF_LOCATIONS.items())
def test_locations_list_needs_inventory_read_or_view_location(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, lambda api: api.get(LOCATIONS)) == status


@pytest.mark.parametrize(("caller", "status"), READERS_OF_LOCATIONS.items())
def test_location_detail_needs_inventory_read_or_view_location(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, lambda api: api.get(f"{LOCATIONS}MAD/")) == status


@pytest.mark.parametrize(
    ("caller", "status"),
    {
        "web": 200,
        "marketplace": 200,
        "till": 200,
        "store_staff": 200,
        "other_store_staff": 200,  # availability is every location's, as channels see it
        "warehouse_staff": 200,
        "agent": 200,  # "is it in stock, where?"
        "manager": 200,
        "accountant": 403,  # no view_stocklevel
        "locker": 403,
        "newsletter": 403,
        "staff_without_role": 403,
        "anonymous": 401,
    }.items(),
)
def test_availability_needs_inventory_read_or_view_stocklevel(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, lambda api: api.get(AVAILABILITY, {"sku": "TEE-M"})) == status


@pytest.mark.parametrize(
    ("caller", "status"),
    {
        "web": 200,
        "marketplace": 200,
        "till": 200,
        "store_staff": 200,
        "warehouse_staff": 200,
        "manager": 200,
        "agent": 403,  # reads stock, not the ledger
        "accountant": 403,
        "locker": 403,
        "newsletter": 403,
        "staff_without_role": 403,
        "anonymous": 401,
    }.items(),
)
def test_change_feed_needs_inventory_read_or_view_stockmovement(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, lambda api: api.get(CHANGES, {"after": "0-0"})) == status


@pytest.mark.parametrize("url", [LOCATIONS, f"{AVAILABILITY}?sku=TEE-M", CHANGES])
def test_a_credential_without_inventory_read_is_told_the_scope_it_lacks(places: Places, url: str) -> None:
    response = CALLERS["locker"](places).get(url)

    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["scope"]) == ("missing_scope", "inventory:read")


# --- Stock levels: staff only, their own locations -------------------------------------------


@pytest.mark.parametrize(
    ("caller", "status"),
    {
        "store_staff": 200,
        "warehouse_staff": 200,
        "agent": 200,  # view_stocklevel; the list shows the locations they work at
        "manager": 200,
        "web": 403,
        "till": 403,
        "marketplace": 403,
        "accountant": 403,
        "staff_without_role": 403,
        "signed_in_customer": 403,
        "anonymous": 401,
    }.items(),
)
def test_stock_list_is_for_staff_who_view_stock_levels(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, lambda api: api.get(STOCK)) == status


def test_channel_credentials_are_refused_the_stock_list_whatever_their_scopes(places: Places) -> None:
    response = CALLERS["web"](places).get(STOCK)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_warehouse_staff_list_only_the_warehouse_stock(places: Places) -> None:
    stock_receive_for(places.warehouse, VariantFactory.create(sku="BOOT-42"), 30)

    rows = CALLERS["warehouse_staff"](places).get(STOCK).json()["results"]

    assert [(row["location"], row["sku"], row["on_hand"]) for row in rows] == [("ALM", "BOOT-42", 30)]


# --- Changing stock: staff with change_stocklevel, at their own locations --------------------

CHANGERS_AT_THE_STORE = {
    "store_staff": 201,
    "manager": 201,
    "other_store_staff": 403,  # the service: not their location
    "warehouse_staff": 403,  # the service: not their location
    "agent": 403,  # no change_stocklevel
    "accountant": 403,
    "staff_without_role": 403,
    "web": 403,
    "till": 403,
    "marketplace": 403,
    "signed_in_customer": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize(("caller", "status"), CHANGERS_AT_THE_STORE.items())
def test_adjustments_need_change_stocklevel_at_the_location(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, adjust_at("MAD")) == status
    assert on_hand_at_the_store(places) == (5 + 2 if status == 201 else 5)


@pytest.mark.parametrize(("caller", "status"), CHANGERS_AT_THE_STORE.items())
def test_receipts_need_change_stocklevel_at_the_location(places: Places, caller: str, status: int) -> None:
    assert answer(caller, places, receive_at("MAD")) == status
    assert on_hand_at_the_store(places) == (5 + 3 if status == 201 else 5)


def test_warehouse_staff_receive_goods_at_the_warehouse(places: Places) -> None:
    assert answer("warehouse_staff", places, receive_at("ALM")) == 201
    assert StockLevel.objects.get(location=places.warehouse).on_hand == 3


@pytest.mark.parametrize("send", [adjust_at("MAD"), receive_at("MAD")], ids=["adjustment", "receipt"])
def test_channel_credentials_never_change_stock(places: Places, send: Callable[[APIClient], Any]) -> None:
    response = send(CALLERS["till"](places))  # even a till bound to the store

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert on_hand_at_the_store(places) == 5


@pytest.mark.parametrize("send", [adjust_at("MAD"), receive_at("MAD")], ids=["adjustment", "receipt"])
def test_another_stores_stock_is_refused_by_the_location_check(
    places: Places, send: Callable[[APIClient], Any]
) -> None:
    response = send(CALLERS["other_store_staff"](places))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert on_hand_at_the_store(places) == 5
