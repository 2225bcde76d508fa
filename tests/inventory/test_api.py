"""Channels read live stock; staff change their own locations' stock through the API.

Who may call each endpoint is in tests/inventory/test_access.py.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import Role
from inventory.models import StockLevel, TransferLeadTime
from inventory.services import StockLine, stock_reserve
from tests.factories import LocationFactory, ProductFactory, VariantFactory, staff_with_role, stock_receive_for

pytestmark = pytest.mark.django_db
AVAILABILITY = "/api/v1/inventory/availability/"


@pytest.fixture
def network() -> dict[str, Any]:
    """A store, a warehouse and a locker, as the pickup rules need them."""
    return {
        "store": LocationFactory.create(code="MAD", kind="store", is_pickup_point=True),
        "other_store": LocationFactory.create(code="BCN", kind="store", is_pickup_point=True),
        "warehouse": LocationFactory.create(code="ALM", kind="warehouse", is_pickup_point=False, can_ship=True),
        "locker": LocationFactory.create(code="LOCK", kind="locker", is_pickup_point=True),
    }


def rows_by_code(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in item["locations"]}


def test_availability_shows_each_location_and_totals(api: APIClient, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 5)
    stock_receive_for(network["warehouse"], variant, 40)
    stock_reserve(lines=[StockLine(network["store"], variant, 2)], reference="O-1")

    item = api.get(AVAILABILITY, {"sku": "TEE-M"}).json()[0]

    rows = rows_by_code(item)
    assert (item["on_hand"], item["reserved"], item["available"]) == (45, 2, 43)
    assert (rows["MAD"]["on_hand"], rows["MAD"]["reserved"], rows["MAD"]["available"]) == (5, 2, 3)
    assert rows["MAD"]["kind"] == "store"
    assert rows["BCN"]["available"] == 0


def test_pickup_today_where_there_is_stock_and_a_transfer_date_elsewhere(
    api: APIClient, network: dict[str, Any]
) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 1)
    stock_receive_for(network["warehouse"], variant, 10)
    TransferLeadTime.objects.create(source=network["warehouse"], destination=network["locker"], days=2)
    today = timezone.localdate()

    rows = rows_by_code(api.get(AVAILABILITY, {"sku": "TEE-M"}).json()[0])

    assert rows["MAD"]["pickup_today"] is True
    assert rows["MAD"]["earliest_pickup"] == today.isoformat()
    assert rows["BCN"]["pickup_today"] is False
    assert rows["BCN"]["earliest_pickup"] == (today + timedelta(days=1)).isoformat()  # default lead time
    assert rows["LOCK"]["earliest_pickup"] == (today + timedelta(days=1)).isoformat()  # from MAD, default
    assert rows["ALM"]["earliest_pickup"] is None  # not a pickup point


def test_no_stock_anywhere_means_no_pickup_date(api: APIClient, network: dict[str, Any]) -> None:
    VariantFactory.create(sku="GONE")
    rows = rows_by_code(api.get(AVAILABILITY, {"sku": "GONE"}).json()[0])
    assert {row["earliest_pickup"] for row in rows.values()} == {None}


def test_several_skus_repeated_or_comma_separated(api: APIClient, network: dict[str, Any]) -> None:
    for sku in ("A", "B", "C"):
        VariantFactory.create(sku=sku)
    answer = api.get(f"{AVAILABILITY}?sku=A,B&sku=C").json()
    assert [item["sku"] for item in answer] == ["A", "B", "C"]


def test_unknown_sku_is_400_naming_it(api: APIClient, network: dict[str, Any]) -> None:
    VariantFactory.create(sku="A")
    response = api.get(AVAILABILITY, {"sku": "A,NOPE"})
    assert response.status_code == 400
    assert "NOPE" in response.json()["error"]["fields"]["sku"][0]


def test_availability_without_sku_is_400(api: APIClient) -> None:
    response = api.get(AVAILABILITY)
    assert response.status_code == 400
    assert "sku" in response.json()["error"]["fields"]


def test_availability_requires_a_token(anonymous_api: APIClient) -> None:
    assert anonymous_api.get(AVAILABILITY, {"sku": "A"}).status_code == 401


def test_availability_queries_do_not_grow_with_skus_or_locations(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    def build(locations: int, skus: int, prefix: str) -> str:
        places = [LocationFactory.create(code=f"{prefix}-L{i}", kind="store") for i in range(locations)]
        variants = [VariantFactory.create(sku=f"{prefix}-{i}") for i in range(skus)]
        for place in places:
            for variant in variants:
                stock_receive_for(place, variant, 3)
        return ",".join(v.sku for v in variants)

    few = build(2, 1, "few")
    with CaptureQueriesContext(connection) as small:
        api.get(AVAILABILITY, {"sku": few})
    many = build(6, 20, "many")
    with CaptureQueriesContext(connection) as large:
        api.get(AVAILABILITY, {"sku": many})

    assert len(large) == len(small)
    with django_assert_max_num_queries(6):
        api.get(AVAILABILITY, {"sku": many})


# Product list filters


def test_product_list_filters_in_stock_anywhere_and_at_a_location(api: APIClient, network: dict[str, Any]) -> None:
    at_store = VariantFactory.create(product=ProductFactory.create(name="En tienda"))
    at_warehouse = VariantFactory.create(product=ProductFactory.create(name="En almacén"))
    VariantFactory.create(product=ProductFactory.create(name="Agotado"))
    stock_receive_for(network["store"], at_store, 2)
    stock_receive_for(network["warehouse"], at_warehouse, 2)

    def names(query: dict[str, str]) -> set[str]:
        return {p["name"] for p in api.get("/api/v1/products/", query).json()["results"]}

    assert names({"in_stock": "true"}) == {"En tienda", "En almacén"}
    assert names({"in_stock": "false"}) == {"Agotado"}
    assert names({"in_stock_at": "MAD"}) == {"En tienda"}


def test_reserved_units_do_not_count_as_in_stock(api: APIClient, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(product=ProductFactory.create(name="Último"))
    stock_receive_for(network["store"], variant, 1)
    stock_reserve(lines=[StockLine(network["store"], variant, 1)], reference="O-1")

    assert api.get("/api/v1/products/", {"in_stock_at": "MAD"}).json()["count"] == 0


def test_product_list_in_stock_at_an_unknown_location_is_400(api: APIClient) -> None:
    response = api.get("/api/v1/products/", {"in_stock_at": "NOWHERE"})
    assert response.status_code == 400
    assert "in_stock_at" in response.json()["error"]["fields"]


# Staff endpoints


@pytest.fixture
def store_clerk(network: dict[str, Any]) -> Any:
    return staff_with_role(Role.STORE_STAFF, network["store"], username="clerk")


def staff_api(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_store_staff_list_only_their_locations_stock(store_clerk: Any, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 5)
    stock_receive_for(network["other_store"], variant, 7)

    rows = staff_api(store_clerk).get("/api/v1/inventory/stock/").json()["results"]

    assert [(row["location"], row["on_hand"]) for row in rows] == [("MAD", 5)]


def test_managers_list_every_location(staff_user: Any, network: dict[str, Any]) -> None:
    manager = staff_user
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 5)
    stock_receive_for(network["other_store"], variant, 7)

    rows = staff_api(manager).get("/api/v1/inventory/stock/").json()["results"]

    assert {row["location"] for row in rows} == {"MAD", "BCN"}


def test_store_staff_adjust_their_own_location(store_clerk: Any, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 5)

    response = staff_api(store_clerk).post(
        "/api/v1/inventory/adjustments/",
        {"location": "MAD", "sku": "TEE-M", "quantity": -2, "reason": "Dañado"},
        format="json",
    )

    assert response.status_code == 201
    assert StockLevel.objects.get(location=network["store"], variant=variant).on_hand == 3


def test_store_staff_cannot_adjust_another_location(store_clerk: Any, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["other_store"], variant, 5)

    response = staff_api(store_clerk).post(
        "/api/v1/inventory/adjustments/",
        {"location": "BCN", "sku": "TEE-M", "quantity": -2, "reason": "Dañado"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert StockLevel.objects.get(location=network["other_store"], variant=variant).on_hand == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location": "MAD", "sku": "TEE-M", "quantity": -1, "reason": ""}, "reason"),
        ({"location": "MAD", "sku": "TEE-M", "quantity": 0, "reason": "x"}, "quantity"),
        ({"location": "MAD", "sku": "NOPE", "quantity": 1, "reason": "x"}, "sku"),
        ({"location": "NOWHERE", "sku": "TEE-M", "quantity": 1, "reason": "x"}, "location"),
    ],
)
def test_bad_adjustments_are_400_and_change_nothing(
    store_clerk: Any, network: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 5)

    response = staff_api(store_clerk).post("/api/v1/inventory/adjustments/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert StockLevel.objects.get(location=network["store"], variant=variant).on_hand == 5


def test_adjusting_below_reserved_is_refused(store_clerk: Any, network: dict[str, Any]) -> None:
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(network["store"], variant, 3)
    stock_reserve(lines=[StockLine(network["store"], variant, 2)], reference="O-1")

    response = staff_api(store_clerk).post(
        "/api/v1/inventory/adjustments/",
        {"location": "MAD", "sku": "TEE-M", "quantity": -2, "reason": "Robo"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "stock_rule"
    assert StockLevel.objects.get(location=network["store"], variant=variant).on_hand == 3


def test_receipts_add_stock(store_clerk: Any, network: dict[str, Any]) -> None:
    a, b = VariantFactory.create(sku="A"), VariantFactory.create(sku="B")
    response = staff_api(store_clerk).post(
        "/api/v1/inventory/receipts/",
        {"location": "MAD", "reference": "ALB-1", "lines": [{"sku": "A", "quantity": 4}, {"sku": "B", "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201
    levels = dict(StockLevel.objects.filter(location=network["store"]).values_list("variant_id", "on_hand"))
    assert levels == {a.pk: 4, b.pk: 1}


def test_locations_list_for_channels(api: APIClient, network: dict[str, Any]) -> None:
    codes = [
        row["code"] for row in api.get("/api/v1/inventory/locations/", {"is_pickup_point": "true"}).json()["results"]
    ]
    assert set(codes) == {"MAD", "BCN", "LOCK"}


def test_stock_list_queries_do_not_grow_with_rows(
    store_clerk: Any, network: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    variants = VariantFactory.create_batch(20)  # a page
    for variant in variants[:3]:
        stock_receive_for(network["store"], variant, 2)
    api = staff_api(store_clerk)
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/inventory/stock/").status_code == 200
    for variant in variants[3:]:
        stock_receive_for(network["store"], variant, 2)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/inventory/stock/").json()["results"]) == 20

    assert len(many) == len(few)
    with django_assert_max_num_queries(8):
        api.get("/api/v1/inventory/stock/")
