"""Pickups through the API: ready, hand-over, transfers received, the pickup code and its QR, lockers."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from inventory.models import StockLevel
from inventory.services import transfer_ship
from orders import codes
from orders.models import Order, OrderStatus
from orders.services import order_cancel, order_make_ready, order_transfers_receive
from tests.api import staff_api, token_api
from tests.factories import LocationFactory, UserFactory, channel_client, staff_with_role
from tests.orders.test_api import ORDERS, error
from tests.scenarios import Shop, pay, place

REDEEM = "/api/v1/pickups/redeem/"


@pytest.fixture
def clerk(shop: Shop) -> Any:
    """Store staff of the Sol store."""
    return staff_with_role(Role.STORE_STAFF, shop.store)


def ready_locker_order(shop: Shop) -> Order:
    """A paid locker order whose goods arrived: waiting in the locker."""
    order = pay(shop, place(shop, fulfilment="locker", pickup=shop.locker))
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
    order = order_transfers_receive(order=order, actor=shop.locker_actor)
    assert order.status == OrderStatus.READY
    return order


def code_of(order: Order) -> str:
    return codes.pickup_code(number=order.number, secret=order.pickup_secret)


def status_of(order: Order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


# --- Ready and hand-over ------------------------------------------------------------------------


def test_staff_of_the_store_make_a_paid_pickup_order_ready(shop: Shop, clerk: Any) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["history"][-1]["event"] == "ready"


def test_staff_of_another_store_do_not_even_see_the_order(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    stranger = staff_with_role(Role.STORE_STAFF, shop.other_store)

    response = staff_api(stranger).post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 404
    assert status_of(order) == OrderStatus.PAID


def test_staff_who_see_an_order_but_do_not_work_at_its_pickup_point_are_refused(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.other_store, lines=[(shop.shirt, 1)]))
    # Sent from the warehouse: the warehouse's clerk sees the order (to pick it)...
    clerk = staff_with_role(Role.WAREHOUSE, shop.warehouse)
    assert order.lines.get().source == shop.warehouse
    assert staff_api(clerk).get(f"{ORDERS}{order.number}/").status_code == 200

    # ...but may not act for the Diagonal store, where it is picked up.
    response = staff_api(clerk).post(f"{ORDERS}{order.number}/transfers-received/")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.PAID


def test_an_unpaid_pay_now_order_is_not_made_ready(shop: Shop, clerk: Any) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/ready/")

    assert response.status_code == 409
    assert error(response)["code"] == "order_not_paid"
    assert status_of(order) == OrderStatus.PLACED


def test_pay_at_pickup_order_is_paid_at_the_till_and_handed_over_with_the_short_code(shop: Shop, clerk: Any) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    api = staff_api(clerk)
    assert api.post(f"{ORDERS}{order.number}/ready/").json()["status"] == "ready"

    payment = api.post(f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "19.95"}, format="json")
    short = codes.pickup_short_code(secret=order.pickup_secret)
    handed = api.post(f"{ORDERS}{order.number}/hand-over/", {"code": f"{short[:4]}-{short[4:]}"}, format="json")

    assert payment.status_code == 201
    assert payment.json()["invoice"]
    assert payment.json()["payments"][0]["channel"] == "store"
    assert handed.status_code == 200
    assert handed.json()["status"] == "picked_up"
    assert StockLevel.objects.get(location=shop.store, variant=shop.shirt).on_hand == 4


def test_hand_over_of_an_unpaid_order_is_refused(shop: Shop, clerk: Any) -> None:
    order = order_make_ready(
        order=place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup"), actor=shop.store_actor
    )

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/hand-over/", {"code": code_of(order)}, format="json")

    assert response.status_code == 409
    assert error(response)["code"] == "order_not_paid"
    assert status_of(order) == OrderStatus.READY


def test_hand_over_with_a_wrong_code_is_refused(shop: Shop, clerk: Any) -> None:
    order = order_make_ready(
        order=pay(shop, place(shop, fulfilment="pickup", pickup=shop.store)), actor=shop.store_actor
    )

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/hand-over/", {"code": "AAAAAAAA"}, format="json")

    assert response.status_code == 400
    assert error(response)["code"] == "invalid_pickup_code"
    assert status_of(order) == OrderStatus.READY


def test_goods_sent_to_the_store_are_received_and_the_order_is_ready(shop: Shop, clerk: Any) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)]))
    assert order.fulfilment_type == "ship_to_store"
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/transfers-received/")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["lines"][0]["needs_transfer"] is True
    assert response.json()["lines"][0]["arrived_at"]
    level = StockLevel.objects.get(location=shop.store, variant=shop.book)
    assert (level.on_hand, level.reserved) == (2, 2)


def test_goods_not_yet_sent_cannot_be_received(shop: Shop, clerk: Any) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)]))

    response = staff_api(clerk).post(f"{ORDERS}{order.number}/transfers-received/")

    assert response.status_code == 409
    assert error(response)["code"] == "transfer_not_shipped"
    assert status_of(order) == OrderStatus.PAID


# --- The pickup code and its QR -----------------------------------------------------------------


def test_the_placing_client_gets_the_pickup_code_and_qr_links(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == code_of(order)
    assert body["short_code"] == codes.pickup_short_code(secret=order.pickup_secret)
    assert body["qr_svg_url"] == f"http://testserver{ORDERS}{order.number}/pickup-qr/?image=svg"
    assert body["qr_png_url"] == f"http://testserver{ORDERS}{order.number}/pickup-qr/?image=png"


def test_staff_of_the_store_check_codes_but_do_not_read_them(shop: Shop, clerk: Any) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = staff_api(clerk).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.status_code == 403
    assert "code" not in response.json()


def test_an_accountant_does_not_read_pickup_codes(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = staff_api(staff_with_role(Role.ACCOUNTANT)).get(f"{ORDERS}{order.number}/pickup-qr/")

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("image", "media_type", "start"), [("svg", "image/svg+xml", b"<?xml"), ("png", "image/png", b"\x89PNG")]
)
def test_the_pickup_qr_is_an_image_of_the_code(shop: Shop, image: str, media_type: str, start: bytes) -> None:
    order = place(shop, fulfilment="locker", pickup=shop.locker)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-qr/", {"image": image})

    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert response.content.startswith(start)
    assert response.content == codes.pickup_qr(code=code_of(order), kind=image)


def test_the_pickup_qr_is_served_to_a_client_asking_for_an_image(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-qr/?image=png", HTTP_ACCEPT="image/png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_the_pickup_qr_refuses_an_unknown_image_kind(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-qr/", {"image": "gif"})

    assert response.status_code == 400
    assert "image" in error(response)["fields"]


def test_a_shipped_order_has_no_pickup_code(shop: Shop) -> None:
    order = place(shop)
    api = token_api(shop.web_token)

    code = api.get(f"{ORDERS}{order.number}/pickup-code/")
    qr = api.get(f"{ORDERS}{order.number}/pickup-qr/")

    assert (code.status_code, qr.status_code) == (409, 409)
    assert error(code)["code"] == "order_state"


def test_a_cancelled_order_has_no_pickup_code(shop: Shop) -> None:
    order = order_cancel(order=place(shop, fulfilment="pickup", pickup=shop.store), actor=shop.web)

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.status_code == 409
    assert "code" not in response.json()


def test_a_picked_up_order_has_no_pickup_code(shop: Shop) -> None:
    order = ready_locker_order(shop)
    token_api(shop.locker_token).post(REDEEM, {"code": code_of(order), "location": "locker-atocha"}, format="json")

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/pickup-qr/?image=png")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"


def test_another_client_cannot_see_the_pickup_code(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    _client, token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    api = token_api(token)

    assert api.get(f"{ORDERS}{order.number}/pickup-code/").status_code == 404
    assert api.get(f"{ORDERS}{order.number}/pickup-qr/").status_code == 404


def test_a_till_reaching_every_order_does_not_read_the_pickup_code_of_an_order_it_did_not_place(shop: Shop) -> None:
    # Placed online, picked up at the till's own store: the till checks the customer's code, it
    # never reads it (whoever holds the code collects the goods).
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    api = token_api(shop.store_token)
    assert api.get(f"{ORDERS}{order.number}/").status_code == 200  # it reaches the order

    code = api.get(f"{ORDERS}{order.number}/pickup-code/")
    qr = api.get(f"{ORDERS}{order.number}/pickup-qr/")

    assert (code.status_code, qr.status_code) == (404, 404)
    assert code.json() == qr.json() == api.get(f"{ORDERS}ZZZZ-ZZZZ/pickup-code/").json()


def test_a_till_reads_the_pickup_code_of_an_order_it_placed(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, actor=shop.store_actor)

    response = token_api(shop.store_token).get(f"{ORDERS}{order.number}/pickup-code/")

    assert response.status_code == 200
    assert response.json()["code"] == code_of(order)


def test_anonymous_callers_cannot_see_the_pickup_code(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    assert APIClient().get(f"{ORDERS}{order.number}/pickup-code/").status_code == 401


# --- Lockers redeem codes -----------------------------------------------------------------------


def test_the_locker_redeems_the_code_and_the_order_is_picked_up(shop: Shop) -> None:
    order = ready_locker_order(shop)

    response = token_api(shop.locker_token).post(
        REDEEM, {"code": code_of(order), "location": "locker-atocha"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"number": order.number, "status": "picked_up"}
    assert status_of(order) == OrderStatus.PICKED_UP


def test_a_used_code_is_refused_the_second_time(shop: Shop) -> None:
    order = ready_locker_order(shop)
    api = token_api(shop.locker_token)
    body = {"code": code_of(order), "location": "locker-atocha"}
    assert api.post(REDEEM, body, format="json").status_code == 200

    response = api.post(REDEEM, body, format="json")

    assert response.status_code == 409
    assert error(response)["code"] == "pickup_code_used"


@pytest.mark.parametrize("forge", ["tamper", "garbage", "unknown-order"])
def test_a_forged_or_unknown_code_is_not_found(shop: Shop, forge: str) -> None:
    order = ready_locker_order(shop)
    code = {
        "tamper": code_of(order)[:-2] + ("AA" if not code_of(order).endswith("AA") else "BB"),
        "garbage": "hello",
        "unknown-order": codes.pickup_code(number="ZZZZ-ZZZZ", secret=order.pickup_secret),
    }[forge]

    response = token_api(shop.locker_token).post(REDEEM, {"code": code, "location": "locker-atocha"}, format="json")

    assert response.status_code == 404
    assert error(response)["code"] == "order_not_found"
    assert status_of(order) == OrderStatus.READY


def test_a_code_for_another_locker_is_not_found(shop: Shop) -> None:
    order = ready_locker_order(shop)
    sol = LocationFactory.create(code="locker-sol", kind="locker")
    _client, token = channel_client(Channel.LOCKER, name="Lockers Sol", locations=[sol])

    response = token_api(token).post(REDEEM, {"code": code_of(order), "location": "locker-sol"}, format="json")

    assert response.status_code == 404
    assert response.json() == token_api(token).post(REDEEM, {"code": "forged"}, format="json").json()
    assert status_of(order) == OrderStatus.READY


@pytest.mark.parametrize("who", ["web", "store", "staff"])
def test_only_a_locker_may_redeem_codes(shop: Shop, who: str) -> None:
    order = ready_locker_order(shop)
    api = {
        "web": lambda: token_api(shop.web_token),
        "store": lambda: token_api(shop.store_token),
        "staff": lambda: staff_api(UserFactory.create(is_staff=True, is_superuser=True)),
    }[who]()

    response = api.post(REDEEM, {"code": code_of(order), "location": "locker-atocha"}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.READY


def test_anonymous_callers_cannot_redeem_codes(shop: Shop) -> None:
    order = ready_locker_order(shop)

    response = APIClient().post(REDEEM, {"code": code_of(order), "location": "locker-atocha"}, format="json")

    assert response.status_code == 401
    assert status_of(order) == OrderStatus.READY
