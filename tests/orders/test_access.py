"""Who may do what to which order through the API (issue 15: findings 2, 4 and 5, and the rules).

Each operation declares the scope a credential needs and the permission staff need (as in the
admin); the order is looked up among those the caller reaches (another's is a 404 like a missing
one); the services then say whether this caller may do this to this order (403). One test per
finding, then who may and who may not for each operation.
"""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant
from config.channels import Channel
from config.roles import Role
from customers.models import BroughtCustomer
from inventory.models import Location
from inventory.services import transfer_ship
from orders import codes
from orders.models import Order, OrderStatus
from orders.services import Actor, order_make_ready, order_payment_add, order_ship, order_transfers_receive
from tests.api import staff_api, token_api
from tests.factories import (
    LocationFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)
from tests.orders.test_admin import staff_of
from tests.orders.test_api import ORDERS, error, order_body, post_order
from tests.scenarios import Shop, pay, place, ship

REDEEM = "/api/v1/pickups/redeem/"
CONTACT_KEYS = {"customer", "email", "phone", "customer_name", "payments", "history", "total", "invoice"}


# --- The shop's other places and goods ----------------------------------------------------------


def only_at(location: Location, units: int = 5) -> Variant:
    """A variant stocked at this location alone: whatever orders it is supplied from there."""
    variant = VariantFactory.create(price=Decimal("12.00"))
    stock_receive_for(location, variant, units)
    return variant


def outlet(shop: Shop) -> Location:
    """A store that also ships parcels: a ship order may be supplied from it."""
    return LocationFactory.create(code="outlet-getafe", name="Outlet Getafe", kind="store", can_ship=True)


def ready_at_store(shop: Shop) -> Order:
    return order_make_ready(
        order=pay(shop, place(shop, fulfilment="pickup", pickup=shop.store)), actor=shop.store_actor
    )


def locker_order_supplied_by_store(shop: Shop) -> Order:
    """Picked up at the locker, its goods sent from the Sol store."""
    return pay(shop, place(shop, fulfilment="locker", pickup=shop.locker, lines=[(only_at(shop.store), 1)]))


def code_of(order: Order) -> str:
    return codes.pickup_code(number=order.number, secret=order.pickup_secret)


def status_of(order: Order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def client_api(channel: str, *locations: Location, **fields: Any) -> tuple[Any, Any]:
    """A new credential of this channel (bound to these locations) and an API client carrying it."""
    client, token = channel_client(channel, locations=locations, **fields)
    return client, token_api(token)


def missing_order_body(api: Any, path: str = "", method: str = "get") -> Any:
    """What the API answers for an order number that does not exist."""
    return getattr(api, method)(f"{ORDERS}ZZZZ-ZZZZ/{path}", format="json").json()


# --- Finding 2: the API's hand-over skipped the permission the admin requires ------------------


def test_finding_2_staff_without_the_hand_over_permission_cannot_hand_over_through_the_api(shop: Shop) -> None:
    clerk = staff_of(shop.store, username="sin-entrega", permissions=("view_order", "change_order"))
    order = ready_at_store(shop)

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/hand-over/", {"code": code_of(order)}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.READY


# --- Finding 4: a store that only supplies an order read its code, cancelled and shipped it -----


def test_finding_4_staff_of_a_supplying_store_cannot_read_the_pickup_code(shop: Shop) -> None:
    order = locker_order_supplied_by_store(shop)
    # Even one who may read codes (to re-send them) does not get a supplied order's.
    supplier = staff_with_role(Role.STORE_MANAGER, shop.store)
    supplier.user_permissions.add(Permission.objects.get(codename="view_pickup_code"))
    api = staff_api(supplier)

    code = api.get(f"{ORDERS}{order.number}/pickup-code/")
    qr = api.get(f"{ORDERS}{order.number}/pickup-qr/")

    assert (code.status_code, qr.status_code) == (404, 404)
    assert code.json() == qr.json() == missing_order_body(api, "pickup-code/")


def test_finding_4_staff_of_a_supplying_store_cannot_cancel_a_ship_order_it_supplies(shop: Shop) -> None:
    supplier = outlet(shop)
    order = pay(shop, place(shop, lines=[(only_at(supplier), 1)]))
    api = staff_api(staff_with_role(Role.STORE_MANAGER, supplier))  # even with cancel_order

    response = api.post(f"{ORDERS}{order.number}/cancel/", {"reason": "x"}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


def test_finding_4_staff_of_a_store_supplying_part_of_a_parcel_cannot_ship_it(shop: Shop) -> None:
    supplier = outlet(shop)
    order = pay(shop, place(shop, lines=[(only_at(supplier), 1), (shop.book, 1)]))
    body = {"carrier": "SEUR", "tracking_number": "T1"}

    by_outlet = staff_api(staff_with_role(Role.STORE_STAFF, supplier)).post(
        f"{ORDERS}{order.number}/ship/", body, format="json"
    )
    by_warehouse = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)).post(
        f"{ORDERS}{order.number}/ship/", body, format="json"
    )

    assert (by_outlet.status_code, by_warehouse.status_code) == (403, 403)
    assert status_of(order) == OrderStatus.PAID


def test_finding_4_the_picking_view_shows_what_to_pick_and_nothing_of_the_customer(shop: Shop) -> None:
    supplier = outlet(shop)
    order = pay(shop, place(shop, lines=[(only_at(supplier), 2), (shop.book, 1)]))

    body = staff_api(staff_with_role(Role.STORE_STAFF, supplier)).get(f"{ORDERS}{order.number}/").json()

    assert body["view"] == "picking"
    assert not CONTACT_KEYS & set(body)
    assert [(line["source_location"], line["quantity"]) for line in body["lines"]] == [("outlet-getafe", 2)]
    assert "unit_price" not in body["lines"][0]
    assert body["shipping_address"]["street"] == "Calle Luna 3"  # the parcel's label
    assert "ana@example.com" not in str(body)
    assert "600 000 001" not in str(body)


def test_finding_4_the_picking_view_of_a_pickup_order_has_no_address(shop: Shop) -> None:
    order = locker_order_supplied_by_store(shop)

    body = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).get(f"{ORDERS}{order.number}/").json()

    assert (body["view"], body["pickup_location"], body["shipping_address"]) == ("picking", "locker-atocha", None)
    assert len(body["lines"]) == 1


def test_finding_4_the_list_shows_supplied_orders_in_the_picking_view(shop: Shop) -> None:
    supplied = locker_order_supplied_by_store(shop)
    picked_up_here = place(shop, fulfilment="pickup", pickup=shop.store)

    rows = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).get(ORDERS).json()["results"]

    views = {row["number"]: row for row in rows}
    assert views[picked_up_here.number]["view"] == "full"
    assert views[picked_up_here.number]["customer"] == shop.customer.pk
    assert views[supplied.number]["view"] == "picking"
    assert not CONTACT_KEYS & set(views[supplied.number])


def test_finding_4_filtering_by_customer_does_not_tell_a_supplier_whose_an_order_is(shop: Shop) -> None:
    supplied = locker_order_supplied_by_store(shop)
    here = place(shop, fulfilment="pickup", pickup=shop.store)
    api = staff_api(staff_with_role(Role.STORE_STAFF, shop.store))

    rows = api.get(ORDERS, {"customer": shop.customer.pk}).json()["results"]

    assert [row["number"] for row in rows] == [here.number]
    assert supplied.number in {row["number"] for row in api.get(ORDERS).json()["results"]}


# --- Finding 5: any channel acted as the store; a locker was not bound to its lockers -----------


def test_finding_5_the_web_shop_cannot_make_its_own_pickup_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = token_api(shop.web_token).post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 403
    assert (error(response)["code"], error(response)["scope"]) == ("missing_scope", "orders:fulfil")
    assert status_of(order) == OrderStatus.PAID


def test_finding_5_the_web_shop_cannot_hand_its_own_pickup_over(shop: Shop) -> None:
    order = ready_at_store(shop)

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/hand-over/", {"code": code_of(order)}, format="json"
    )

    assert response.status_code == 403
    assert error(response)["code"] == "missing_scope"
    assert status_of(order) == OrderStatus.READY


def test_finding_5_a_credential_with_the_fulfil_scope_is_no_store_where_it_is_not_bound(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    _client, api = client_api(Channel.WEB, scopes=["orders:read", "orders:fulfil"])

    response = api.post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    assert status_of(order) == OrderStatus.PAID


def test_finding_5_a_locker_credential_cannot_redeem_at_a_locker_it_is_not_bound_to(shop: Shop) -> None:
    sants = LocationFactory.create(code="locker-sants", kind="locker")
    order = pay(shop, place(shop, fulfilment="locker", pickup=sants))
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
    sants_client, _token = channel_client(Channel.LOCKER, name="Lockers Sants", locations=[sants])
    order_transfers_receive(order=order, actor=Actor(channel=Channel.LOCKER, client=sants_client))

    response = token_api(shop.locker_token).post(
        REDEEM, {"code": code_of(order), "location": "locker-sants"}, format="json"
    )

    assert response.status_code == 403
    assert error(response)["code"] == "location_not_bound"
    assert status_of(order) == OrderStatus.READY


# --- Reading: list and detail -----------------------------------------------------------------


def test_another_clients_order_answers_exactly_like_a_missing_one(shop: Shop) -> None:
    order = place(shop)
    _client, api = client_api(Channel.MARKETPLACE)

    response = api.get(f"{ORDERS}{order.number}/")

    assert response.status_code == 404
    assert response.json() == missing_order_body(api)


def test_a_first_party_client_narrowed_to_its_own_does_not_see_other_orders(shop: Shop) -> None:
    order = place(shop)
    _client, api = client_api(Channel.APP, reach="own")

    assert api.get(f"{ORDERS}{order.number}/").status_code == 404
    assert api.get(ORDERS).json()["count"] == 0


def test_a_first_party_client_reaching_everyone_reads_every_order(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/")

    assert response.status_code == 200
    assert response.json()["view"] == "full"


def test_a_credential_without_the_read_scope_cannot_list_orders(shop: Shop) -> None:
    response = token_api(shop.locker_token).get(ORDERS)

    assert response.status_code == 403
    assert (error(response)["code"], error(response)["scope"]) == ("missing_scope", "orders:read")


def test_staff_without_the_view_permission_cannot_list_orders(shop: Shop) -> None:
    place(shop, fulfilment="pickup", pickup=shop.store)
    clerk = staff_of(shop.store, username="sin-permisos", permissions=())

    assert staff_api(clerk).get(ORDERS).status_code == 403


@pytest.mark.parametrize("role", [Role.AGENT, Role.ACCOUNTANT, Role.MANAGER])
def test_staff_reaching_every_order_see_it_whole(shop: Shop, role: Role) -> None:
    order = locker_order_supplied_by_store(shop)

    body = staff_api(staff_with_role(role)).get(f"{ORDERS}{order.number}/").json()

    assert body["view"] == "full"
    assert body["customer"] == shop.customer.pk


def test_staff_see_whole_an_order_they_placed_wherever_it_goes(shop: Shop) -> None:
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)
    response = post_order(staff_api(clerk), order_body(shop))  # shipped home from the warehouse

    body = staff_api(clerk).get(f"{ORDERS}{response.json()['number']}/").json()

    assert (response.json()["view"], body["view"]) == ("full", "full")


def test_staff_of_an_unrelated_store_do_not_see_the_order(shop: Shop) -> None:
    order = locker_order_supplied_by_store(shop)
    api = staff_api(staff_with_role(Role.STORE_STAFF, shop.other_store))

    assert api.get(f"{ORDERS}{order.number}/").status_code == 404
    assert api.get(ORDERS).json()["count"] == 0


def test_an_order_with_many_lines_from_the_store_is_listed_once(shop: Shop) -> None:
    variants = [only_at(shop.store) for _n in range(3)]
    order = place(shop, fulfilment="locker", pickup=shop.locker, lines=[(variant, 1) for variant in variants])

    rows = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).get(ORDERS).json()["results"]

    assert [row["number"] for row in rows] == [order.number]


# --- Placing ------------------------------------------------------------------------------------


def test_a_new_customer_ordering_through_a_third_party_is_brought_by_it(shop: Shop) -> None:
    marketplace, api = client_api(Channel.MARKETPLACE)
    body = order_body(shop, customer={"identities": [{"kind": "email", "value": "luis@example.com"}], "name": "Luis"})

    response = post_order(api, body)

    customer = Order.objects.get(number=response.json()["number"]).customer
    assert BroughtCustomer.objects.filter(client=marketplace, customer=customer).exists()


def test_a_known_customer_ordering_through_a_third_party_is_not_brought_by_it(shop: Shop) -> None:
    marketplace, api = client_api(Channel.MARKETPLACE)

    response = post_order(api, order_body(shop))  # Ana, known to the shop

    assert response.json()["customer"] == shop.customer.pk
    assert not BroughtCustomer.objects.filter(client=marketplace).exists()


def test_a_credential_without_the_write_scope_cannot_place_orders(shop: Shop) -> None:
    response = post_order(token_api(shop.locker_token), order_body(shop))

    assert response.status_code == 403
    assert error(response)["scope"] == "orders:write"
    assert not Order.objects.exists()


def test_staff_without_the_add_permission_cannot_place_orders(shop: Shop) -> None:
    response = post_order(staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)), order_body(shop))

    assert response.status_code == 403
    assert not Order.objects.exists()


# --- Payments -----------------------------------------------------------------------------------


def test_store_staff_take_payment_at_their_pickup_location(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    api = staff_api(staff_with_role(Role.STORE_STAFF, shop.store))

    response = api.post(f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "19.95"}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "paid"


def test_staff_without_the_payment_permission_cannot_take_payments(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    response = staff_api(staff_with_role(Role.AGENT)).post(
        f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "19.95"}, format="json"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PLACED


def test_staff_of_a_supplying_store_cannot_take_payments(shop: Shop) -> None:
    order = place(shop, fulfilment="locker", pickup=shop.locker, lines=[(only_at(shop.store), 1)])

    response = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).post(
        f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "12.00"}, format="json"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PLACED


def test_paying_another_clients_order_is_not_found(shop: Shop) -> None:
    order = place(shop)
    _client, api = client_api(Channel.MARKETPLACE)

    response = api.post(
        f"{ORDERS}{order.number}/payments/",
        {"method": "card", "amount": "19.95", "provider_reference": "m"},
        format="json",
    )

    assert response.status_code == 404
    assert status_of(order) == OrderStatus.PLACED


def test_a_till_reaching_every_order_cannot_record_a_payment_for_a_parcel_placed_online(shop: Shop) -> None:
    # It sees the order (a first party reaches every one), but the customer pays nothing at its counter.
    order = place(shop)

    response = token_api(shop.store_token).post(
        f"{ORDERS}{order.number}/payments/", {"method": "card_at_till", "amount": "19.95"}, format="json"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PLACED


def test_the_till_of_the_pickup_store_records_the_payment_at_the_counter(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    response = token_api(shop.store_token).post(
        f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "19.95"}, format="json"
    )

    assert response.status_code == 201
    assert status_of(order) == OrderStatus.PAID


# --- Cancelling ---------------------------------------------------------------------------------


def test_a_store_manager_cancels_an_order_picked_up_at_their_store(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = staff_api(staff_with_role(Role.STORE_MANAGER, shop.store)).post(
        f"{ORDERS}{order.number}/cancel/", {"reason": "no vendrá"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_store_staff_without_the_cancel_permission_cannot_cancel(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).post(
        f"{ORDERS}{order.number}/cancel/", {}, format="json"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


@pytest.mark.parametrize(("role", "answer"), [(Role.AGENT, 200), (Role.ACCOUNTANT, 403)])
def test_staff_reaching_every_order_cancel_only_with_the_permission(shop: Shop, role: Role, answer: int) -> None:
    order = pay(shop, place(shop))

    response = staff_api(staff_with_role(role)).post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert response.status_code == answer


def test_a_client_reaching_an_order_it_did_not_place_cannot_cancel_it(shop: Shop) -> None:
    marketplace, _token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    order = place(shop, actor=Actor(channel=Channel.MARKETPLACE, client=marketplace))

    response = token_api(shop.web_token).post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PLACED


def test_the_till_of_the_pickup_store_cancels_an_order_placed_online(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = token_api(shop.store_token).post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert response.status_code == 200
    assert status_of(order) == OrderStatus.CANCELLED


def test_the_till_of_another_store_cannot_cancel_an_order_placed_online(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    _client, api = client_api(Channel.STORE, shop.other_store)

    response = api.post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PLACED


# --- Ready, goods received, hand-over -----------------------------------------------------------


def test_the_till_bound_to_the_store_makes_a_pickup_ready_and_hands_it_over(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    api = token_api(shop.store_token)

    ready = api.post(f"{ORDERS}{order.number}/ready/")
    handed = api.post(f"{ORDERS}{order.number}/hand-over/", {"code": code_of(order)}, format="json")

    assert (ready.status_code, handed.status_code) == (200, 200)
    assert handed.json()["status"] == "picked_up"


def test_a_till_bound_to_another_store_cannot_make_the_pickup_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    _client, api = client_api(Channel.STORE, shop.other_store)

    response = api.post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


def test_a_till_bound_to_another_store_cannot_hand_the_pickup_over(shop: Shop) -> None:
    order = ready_at_store(shop)
    _client, api = client_api(Channel.STORE, shop.other_store)

    response = api.post(f"{ORDERS}{order.number}/hand-over/", {"code": code_of(order)}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.READY


def test_the_till_bound_to_the_store_receives_the_goods_sent_there(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)]))
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]

    response = token_api(shop.store_token).post(f"{ORDERS}{order.number}/transfers-received/")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_staff_without_the_change_permission_cannot_make_an_order_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    agent = staff_with_role(Role.AGENT)

    response = staff_api(agent).post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


def test_staff_of_a_supplying_store_cannot_receive_the_goods_at_the_locker(shop: Shop) -> None:
    order = locker_order_supplied_by_store(shop)
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]

    response = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).post(
        f"{ORDERS}{order.number}/transfers-received/"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


# --- Shipping and delivery ----------------------------------------------------------------------


def test_warehouse_staff_ship_what_the_warehouse_supplies_and_see_the_picking_view(shop: Shop) -> None:
    order = pay(shop, place(shop))

    response = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "T1"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["view"], body["status"], [p["tracking_number"] for p in body["parcels"]]) == (
        "picking",
        "shipped",
        ["T1"],
    )
    assert not CONTACT_KEYS & set(response.json())


def test_staff_of_a_store_that_supplies_nothing_do_not_see_a_parcel(shop: Shop) -> None:
    order = pay(shop, place(shop))

    response = staff_api(staff_with_role(Role.STORE_STAFF, shop.store)).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "T1"}, format="json"
    )

    assert response.status_code == 404


def test_a_credential_bound_to_every_source_ships(shop: Shop) -> None:
    order = pay(shop, place(shop))
    _client, api = client_api(Channel.STORE, shop.warehouse, name="Almacén (SGA)")

    response = api.post(f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "T1"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "shipped"


def test_a_credential_not_bound_to_every_source_cannot_ship(shop: Shop) -> None:
    order = pay(shop, place(shop))

    response = token_api(shop.store_token).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "T1"}, format="json"
    )

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


def test_a_credential_without_the_fulfil_scope_cannot_ship(shop: Shop) -> None:
    order = pay(shop, place(shop))

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "T1"}, format="json"
    )

    assert response.status_code == 403
    assert error(response)["scope"] == "orders:fulfil"


def test_a_client_with_the_fulfil_scope_reports_its_own_parcel_delivered(shop: Shop) -> None:
    marketplace, api = client_api(Channel.MARKETPLACE, scopes=["orders:read", "orders:fulfil"])
    through_it = Actor(channel=Channel.MARKETPLACE, client=marketplace)
    order = place(shop, actor=through_it)
    order_payment_add(order=order, actor=through_it, method="card", amount=order.total, provider_reference="mkt-1")
    order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")
    someone_elses = ship(shop, pay(shop, place(shop)), tracking_number="T2")

    mine = api.post(f"{ORDERS}{order.number}/deliver/")
    theirs = api.post(f"{ORDERS}{someone_elses.number}/deliver/")

    assert (mine.status_code, theirs.status_code) == (200, 404)
    assert status_of(someone_elses) == OrderStatus.SHIPPED


def test_a_till_with_the_fulfil_scope_cannot_report_delivered_a_parcel_it_neither_placed_nor_sent(
    shop: Shop,
) -> None:
    order = ship(shop, pay(shop, place(shop)))

    response = token_api(shop.store_token).post(f"{ORDERS}{order.number}/deliver/")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.SHIPPED


def test_staff_who_placed_a_parcel_cannot_report_it_delivered_unless_they_work_where_it_left(shop: Shop) -> None:
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)
    order = place(shop, actor=Actor(channel=Channel.STORE, user=clerk))  # sent from the warehouse
    order = order_payment_add(
        order=order, actor=Actor(channel=Channel.STORE, user=clerk), method="cash", amount=order.total
    )
    order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/deliver/")
    by_the_warehouse = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)).post(
        f"{ORDERS}{order.number}/deliver/"
    )

    assert (response.status_code, by_the_warehouse.status_code) == (403, 200)
    assert status_of(order) == OrderStatus.DELIVERED


def test_staff_without_the_change_permission_cannot_report_a_delivery(shop: Shop) -> None:
    order = ship(shop, pay(shop, place(shop)))

    response = staff_api(staff_with_role(Role.ACCOUNTANT)).post(f"{ORDERS}{order.number}/deliver/")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.SHIPPED


# --- The pickup code ----------------------------------------------------------------------------


def test_a_credential_without_the_read_scope_cannot_read_the_pickup_code(shop: Shop) -> None:
    order = place(shop, fulfilment="locker", pickup=shop.locker)

    response = token_api(shop.locker_token).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_staff_reaching_every_order_read_the_pickup_code(shop: Shop, role: Role) -> None:
    order = place(shop, fulfilment="locker", pickup=shop.locker)

    response = staff_api(staff_with_role(role)).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.json()["code"] == code_of(order)


# --- Lockers: bound where they redeem -----------------------------------------------------------


def ready_in_locker(shop: Shop, locker: Location | None = None) -> Order:
    locker = locker or shop.locker
    order = pay(shop, place(shop, fulfilment="locker", pickup=locker))
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
    order = order_transfers_receive(order=order, actor=Actor(channel=Channel.LOCKER))
    assert order.status == OrderStatus.READY
    return order


def test_a_locker_bound_to_one_locker_redeems_without_naming_it(shop: Shop) -> None:
    order = ready_in_locker(shop)

    response = token_api(shop.locker_token).post(REDEEM, {"code": code_of(order)}, format="json")

    assert response.status_code == 200
    assert status_of(order) == OrderStatus.PICKED_UP


def test_a_locker_bound_to_several_lockers_must_say_which_one_scanned(shop: Shop) -> None:
    sants = LocationFactory.create(code="locker-sants", kind="locker")
    order = ready_in_locker(shop, sants)
    _client, api = client_api(Channel.LOCKER, shop.locker, sants)

    unnamed = api.post(REDEEM, {"code": code_of(order)}, format="json")
    named = api.post(REDEEM, {"code": code_of(order), "location": "locker-sants"}, format="json")

    assert unnamed.status_code == 400
    assert error(unnamed)["code"] == "location_required"
    assert set(error(unnamed)["fields"]) == {"location"}
    assert named.status_code == 200


def test_a_locker_bound_to_nothing_cannot_redeem(shop: Shop) -> None:
    order = ready_in_locker(shop)
    _client, api = client_api(Channel.LOCKER)

    response = api.post(REDEEM, {"code": code_of(order), "location": "locker-atocha"}, format="json")

    assert response.status_code == 403
    assert error(response)["code"] == "location_not_bound"
    assert status_of(order) == OrderStatus.READY


def test_an_unknown_locker_is_refused_like_one_not_bound(shop: Shop) -> None:
    order = ready_in_locker(shop)
    api = token_api(shop.locker_token)

    unknown = api.post(REDEEM, {"code": code_of(order), "location": "nowhere"}, format="json")

    assert unknown.status_code == 403
    assert error(unknown)["code"] == "location_not_bound"


# --- Queries: the same whatever the number of rows ----------------------------------------------


def test_a_staff_list_of_mixed_views_costs_the_same_queries_with_more_orders(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    api = staff_api(staff_with_role(Role.STORE_STAFF, shop.store))
    place(shop, fulfilment="pickup", pickup=shop.store)
    locker_order_supplied_by_store(shop)
    api.get(ORDERS)
    with CaptureQueriesContext(connection) as two:
        assert api.get(ORDERS).json()["count"] == 2
    stock_receive_for(shop.store, shop.shirt, 20)
    for _n in range(5):
        place(shop, fulfilment="pickup", pickup=shop.store)
        locker_order_supplied_by_store(shop)

    with django_assert_max_num_queries(len(two)):
        assert {row["view"] for row in api.get(ORDERS).json()["results"]} == {"full", "picking"}


def test_the_picking_view_of_many_lines_costs_the_same_queries_as_one(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    supplier = outlet(shop)
    api = staff_api(staff_with_role(Role.STORE_STAFF, supplier))
    small = place(shop, lines=[(only_at(supplier), 1)])
    large = place(shop, lines=[(only_at(supplier), 1) for _n in range(8)])
    api.get(f"{ORDERS}{small.number}/")
    with CaptureQueriesContext(connection) as one:
        assert api.get(f"{ORDERS}{small.number}/").json()["view"] == "picking"

    with django_assert_max_num_queries(len(one)):
        assert len(api.get(f"{ORDERS}{large.number}/").json()["lines"]) == 8
