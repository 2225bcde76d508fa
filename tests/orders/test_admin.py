"""Staff work orders in the admin: find them, move them on with actions, hand them over at the counter.

Every change goes through orders.services as the store (Actor(channel="store", user=...)), so
the services' refusals show as messages and leave the order as it was. Store staff see and
work the orders of their own locations only (those their locations only supply in the picking
view); managers see all. Staff are given their role's permissions (config.roles).
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin import site
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from catalog.models import Variant
from config.idempotency import idempotency_fingerprint
from config.roles import Role
from customers.models import Customer
from inventory.models import Location, StockLevel, Transfer
from inventory.services import transfer_ship
from invoicing.models import Seller
from orders.admin import OrderAdmin
from orders.codes import pickup_code, pickup_short_code
from orders.models import NotificationStatus, Order, OrderNotification, OrderStatus
from orders.services import (
    LineRequest,
    OrderRequest,
    order_make_ready,
    order_payment_add,
    order_place,
    order_transfers_receive,
)
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    UserFactory,
    VariantFactory,
    staff_with_role,
    stock_receive_for,
)
from tests.scenarios import ADDRESS, Shop, pay, place, ship, staff_actor

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
PICKUPS = f"{ORDERS}pickups/"


def staff_of(*locations: Location, username: str = "tienda", permissions: tuple[str, ...]) -> Any:
    """A staff member with exactly these orders permissions (no role), working at these locations."""
    user = UserFactory.create(username=username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=permissions))
    for location in locations:
        location.staff.add(user)
    return user


@pytest.fixture
def store_client(client: Client, shop: Shop) -> Client:
    """Logged in as store staff of the store (madrid-sol) only."""
    client.force_login(staff_with_role(Role.STORE_STAFF, shop.store, username="tienda"))
    return client


@pytest.fixture
def store_manager_client(client: Client, shop: Shop) -> Client:
    """Logged in as the manager of the store (madrid-sol): store staff who also cancel."""
    client.force_login(staff_with_role(Role.STORE_MANAGER, shop.store, username="tienda"))
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.status_code
    return {order.number for order in response.context["cl"].result_list}


def level(location: Location, variant: Variant) -> tuple[int, int]:
    stock = StockLevel.objects.get(location=location, variant=variant)
    return stock.on_hand, stock.reserved


def ready_at_store(shop: Shop, **kwargs: Any) -> Order:
    """Paid online, put aside at the store: waiting for the customer."""
    return order_make_ready(
        order=pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, **kwargs)), actor=shop.store_actor
    )


def ready_unpaid_at_store(shop: Shop) -> Order:
    """Pay at pickup, put aside at the store: the customer pays at the till."""
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    return order_make_ready(order=order, actor=shop.store_actor)


def received_at_other_store(shop: Shop, order: Order) -> Order:
    """The other store's staff receive the goods sent to them."""
    return order_transfers_receive(order=order, actor=staff_actor(Role.STORE_STAFF, shop.other_store))


def ready_at_other_store(shop: Shop) -> Order:
    """Sent from the warehouse to the other store and received there."""
    order = pay(shop, place(shop, lines=[(shop.book, 1)], fulfilment="pickup", pickup=shop.other_store))
    transfer_ship(transfer=transfer_of(order))
    return received_at_other_store(shop, order)


def sourced_from_store_for_other_store(shop: Shop) -> Order:
    """Picked up at the other store, its goods sent from the store: the store's staff see it, but do not hand it over."""
    hat = VariantFactory.create(price=Decimal("12.00"))
    stock_receive_for(shop.store, hat, 3)
    order = pay(shop, place(shop, lines=[(hat, 1)], fulfilment="pickup", pickup=shop.other_store))
    transfer_ship(transfer=transfer_of(order))
    return received_at_other_store(shop, order)


def other_customer(name: str = "Bruno Díaz", email: str = "bruno@example.com") -> Customer:
    customer = CustomerFactory.create(name=name)
    ContactPointFactory.create(customer=customer, kind="email", value=email)
    return customer


def place_for(shop: Shop, customer: Customer, *, email: str, phone: str) -> Order:
    key = f"other-{Order.objects.count()}"
    return order_place(
        actor=shop.web,
        idempotency_key=key,
        fingerprint=idempotency_fingerprint({"key": key}),
        request=OrderRequest(
            customer=customer,
            lines=[LineRequest(sku=shop.book.sku, quantity=1)],
            fulfilment_type="ship",
            shipping=ADDRESS,
            email=email,
            phone=phone,
            name=customer.name,
        ),
    ).order


def transfer_of(order: Order) -> Transfer:
    transfer = order.lines.get().transfer
    assert transfer is not None
    return transfer


def refresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


# --- Finding orders ---------------------------------------------------------------------------


def test_search_finds_an_order_by_its_number_however_typed(admin_client: Client, shop: Shop) -> None:
    order, other = place(shop), place(shop)

    assert listed(admin_client.get(ORDERS, {"q": order.number})) == {order.number}
    assert listed(admin_client.get(ORDERS, {"q": order.number.replace("-", "").lower()})) == {order.number}
    assert other.number not in listed(admin_client.get(ORDERS, {"q": order.number}))


def test_search_finds_orders_by_the_customers_email(admin_client: Client, shop: Shop) -> None:
    anas = place(shop)
    brunos = place_for(shop, other_customer(), email="bruno@example.com", phone="611 222 333")

    assert listed(admin_client.get(ORDERS, {"q": "ANA@example.com"})) == {anas.number}
    assert listed(admin_client.get(ORDERS, {"q": "bruno@example.com"})) == {brunos.number}


def test_search_finds_orders_by_the_customers_phone_in_any_format(admin_client: Client, shop: Shop) -> None:
    anas = place(shop, phone="+34 600 000 001")
    place_for(shop, other_customer(), email="bruno@example.com", phone="611 222 333")

    assert listed(admin_client.get(ORDERS, {"q": "600 00 00 01"})) == {anas.number}
    assert listed(admin_client.get(ORDERS, {"q": "+34600000001"})) == {anas.number}


def test_search_finds_orders_by_an_identity_the_order_does_not_carry(admin_client: Client, shop: Shop) -> None:
    anas = place(shop)
    ContactPointFactory.create(customer=shop.customer, kind="instagram", value="anagarcia")
    place_for(shop, other_customer(), email="bruno@example.com", phone="611 222 333")

    assert listed(admin_client.get(ORDERS, {"q": "anagarcia"})) == {anas.number}


def test_an_order_matching_several_identities_is_listed_once(admin_client: Client, shop: Shop) -> None:
    order = place(shop)
    ContactPointFactory.create(customer=shop.customer, kind="phone", value="+34600000001")
    ContactPointFactory.create(customer=shop.customer, kind="whatsapp", value="+34600000001")

    response = admin_client.get(ORDERS, {"q": "600 000 001"})

    assert [o.number for o in response.context["cl"].result_list] == [order.number]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "paid"}, "shipped_order"),
        ({"status__exact": "placed"}, "pickup_order"),
        ({"channel__exact": "store"}, "pickup_order"),
        ({"channel__exact": "web"}, "shipped_order"),
        ({"fulfilment_type__exact": "pickup"}, "pickup_order"),
        ({"fulfilment_type__exact": "ship"}, "shipped_order"),
        ({"payment_mode__exact": "at_pickup"}, "pickup_order"),
        ({"pickup_at": "store"}, "pickup_order"),
    ],
)
def test_changelist_filters(admin_client: Client, shop: Shop, query: dict[str, str], expected: str) -> None:
    orders = {
        "shipped_order": pay(shop, place(shop)),
        "pickup_order": place(
            shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup", actor=shop.store_actor
        ),
    }
    if query.get("pickup_at") == "store":
        query = {"pickup_at": str(shop.store.pk)}

    assert listed(admin_client.get(ORDERS, query)) == {orders[expected].number}


# --- Scoping ----------------------------------------------------------------------------------


def test_store_staff_see_only_the_orders_of_their_locations(store_client: Client, shop: Shop) -> None:
    at_store = place(shop, fulfilment="pickup", pickup=shop.store)
    sourced_from_store = sourced_from_store_for_other_store(shop)
    at_other_store = ready_at_other_store(shop)
    shipped_from_warehouse = place(shop)

    seen = listed(store_client.get(ORDERS))

    assert seen == {at_store.number, sourced_from_store.number}
    assert at_other_store.number not in seen
    assert shipped_from_warehouse.number not in seen
    assert store_client.get(f"{ORDERS}{at_other_store.pk}/change/").status_code == 302  # "does not exist"


def test_managers_see_every_order(client: Client, shop: Shop) -> None:
    client.force_login(staff_with_role(Role.MANAGER, username="encargado"))
    orders = {
        place(shop).number,
        ready_at_other_store(shop).number,
        place(shop, fulfilment="pickup", pickup=shop.store).number,
    }

    assert listed(client.get(ORDERS)) == orders


def test_a_supplying_stores_staff_see_the_order_page_without_the_customer(store_client: Client, shop: Shop) -> None:
    order = sourced_from_store_for_other_store(shop)

    page = store_client.get(f"{ORDERS}{order.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert order.lines.get().sku in html  # what to pick
    for hidden in ("ana@example.com", "600 000 001", "Ana García", "ch-", order.invoice.number):  # type: ignore[union-attr]
        assert hidden not in html, hidden
    assert "order_placed" not in html  # no notifications


def test_the_pickup_stores_staff_see_the_order_page_whole(store_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    html = store_client.get(f"{ORDERS}{order.pk}/change/").content.decode()

    assert "ana@example.com" in html
    assert order.invoice.number in html  # type: ignore[union-attr]


def test_a_supplying_stores_staff_see_no_customer_in_the_list(store_client: Client, shop: Shop) -> None:
    supplied = sourced_from_store_for_other_store(shop)
    here = place(shop, fulfilment="pickup", pickup=shop.store)

    rows = {order.number: order for order in store_client.get(ORDERS).context["cl"].result_list}

    admin_of_orders = OrderAdmin(Order, site)
    assert admin_of_orders.customer_column(rows[here.number]) == "Ana García"
    assert admin_of_orders.customer_column(rows[supplied.number]) == "—"


def test_a_supplying_stores_staff_do_not_find_an_order_by_the_customers_email(store_client: Client, shop: Shop) -> None:
    supplied = sourced_from_store_for_other_store(shop)
    here = place(shop, fulfilment="pickup", pickup=shop.store)

    assert listed(store_client.get(ORDERS, {"q": "ana@example.com"})) == {here.number}
    assert listed(store_client.get(ORDERS, {"q": supplied.number})) == {supplied.number}


def test_a_supplying_stores_staff_see_no_notifications_of_the_order(store_client: Client, shop: Shop) -> None:
    sourced_from_store_for_other_store(shop)
    here = place(shop, fulfilment="pickup", pickup=shop.store)

    response = store_client.get("/admin/orders/ordernotification/")

    assert {notification.order_id for notification in response.context["cl"].result_list} == {here.pk}


def test_store_staff_filter_offers_only_their_pickup_points(store_client: Client, shop: Shop) -> None:
    response = store_client.get(ORDERS)

    pickup_filter = next(
        s for s in response.context["cl"].filter_specs if getattr(s, "parameter_name", "") == "pickup_at"
    )
    assert [value for value, _label in pickup_filter.lookup_choices] == [str(shop.store.pk)]


# --- Read-only pages --------------------------------------------------------------------------


def test_an_order_page_is_read_only_and_orders_cannot_be_added_or_deleted(admin_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 2), (shop.book, 1)]))

    page = admin_client.get(f"{ORDERS}{order.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert 'name="number"' not in html
    assert 'name="status"' not in html
    assert html.count(shop.shirt.sku) >= 1
    assert shop.book.sku in html
    assert order.invoice is not None
    assert order.invoice.number in html
    assert f"card-{order.number}" in html  # the payment's capture reference
    assert admin_client.post(f"{ORDERS}{order.pk}/change/", {"status": "cancelled"}).status_code == 403
    assert refresh(order).status == OrderStatus.PAID
    assert admin_client.get(f"{ORDERS}add/").status_code == 403
    assert admin_client.get(f"{ORDERS}{order.pk}/delete/").status_code == 403


def test_the_changelist_links_to_todays_pickups(store_client: Client) -> None:
    assert PICKUPS in store_client.get(ORDERS).content.decode()


# --- Actions ----------------------------------------------------------------------------------


def act(client: Client, action: str, *orders: Order, **data: Any) -> Any:
    return client.post(ORDERS, {"action": action, "_selected_action": [o.pk for o in orders], **data}, follow=True)


def test_make_ready_action_puts_a_paid_pickup_order_aside(store_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = act(store_client, "make_ready", order)

    assert refresh(order).status == OrderStatus.READY
    assert "1 order is ready for pickup." in messages_of(response)
    change = refresh(order).history.get(event="ready")
    assert change.channel == "store"
    assert change.user is not None
    assert change.user.username == "tienda"


def test_make_ready_action_refuses_an_unpaid_order_and_leaves_it(store_client: Client, shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    response = act(store_client, "make_ready", order)

    assert refresh(order).status == OrderStatus.PLACED
    assert f"{order.number}: Not paid yet: 19.95 still due." in messages_of(response)
    assert not any("ready for pickup." in text for text in messages_of(response))


def test_make_ready_action_refuses_an_order_picked_up_at_another_location(store_client: Client, shop: Shop) -> None:
    hat = VariantFactory.create()
    stock_receive_for(shop.store, hat, 3)
    order = pay(shop, place(shop, lines=[(hat, 1)], fulfilment="pickup", pickup=shop.other_store))
    transfer_ship(transfer=transfer_of(order))

    response = act(store_client, "make_ready", order)

    assert refresh(order).status == OrderStatus.PAID
    assert f"{order.number}: You do not work at this order's pickup location." in messages_of(response)


def test_receive_transfers_action_readies_an_order_when_its_goods_arrive(store_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, lines=[(shop.book, 2)], fulfilment="pickup", pickup=shop.store))
    assert order.fulfilment_type == "ship_to_store"

    refused = act(store_client, "receive_transfers", order)
    assert refresh(order).status == OrderStatus.PAID
    assert any("have not left" in text for text in messages_of(refused)), messages_of(refused)

    transfer_ship(transfer=transfer_of(order))
    received = act(store_client, "receive_transfers", order)

    assert refresh(order).status == OrderStatus.READY
    assert level(shop.store, shop.book) == (2, 2)
    assert "Goods received for 1 order." in messages_of(received)


def test_mark_delivered_action_closes_a_shipped_order(admin_client: Client, shop: Shop) -> None:
    shipped = ship(shop, pay(shop, place(shop)))
    not_shipped = pay(shop, place(shop))

    response = act(admin_client, "mark_delivered", shipped, not_shipped)

    assert refresh(shipped).status == OrderStatus.DELIVERED
    assert refresh(not_shipped).status == OrderStatus.PAID
    assert "1 order delivered." in messages_of(response)
    assert any(text.startswith(not_shipped.number) for text in messages_of(response))


def test_cancel_action_asks_for_a_reason_first(store_manager_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = store_manager_client.post(ORDERS, {"action": "cancel_orders", "_selected_action": [order.pk]})

    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert refresh(order).status == OrderStatus.PAID


def test_cancel_action_cancels_refunds_and_credits_with_the_reason(store_manager_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = act(store_manager_client, "cancel_orders", order, apply="1", reason="Customer changed their mind")

    order = refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "Customer changed their mind"
    assert order.credit_note is not None
    # Issue 17: the card's money is owed back (pending) until the web shop's integration confirms it.
    assert [(r.method, r.amount, r.status) for r in order.refunds.all()] == [("card", order.total, "pending")]
    assert level(shop.store, shop.shirt) == (5, 0)
    assert "1 order cancelled." in messages_of(response)
    change = order.history.get(event="cancelled")
    assert (change.channel, change.user.username if change.user else None) == ("store", "tienda")


def test_the_cancel_action_needs_the_cancel_permission(store_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    changelist = store_client.get(ORDERS)
    act(store_client, "cancel_orders", order, apply="1", reason="no")

    assert "cancel_orders" not in changelist.content.decode()
    assert refresh(order).status == OrderStatus.PAID


def test_the_cancel_action_refuses_an_order_the_store_only_supplies(store_manager_client: Client, shop: Shop) -> None:
    order = sourced_from_store_for_other_store(shop)

    response = act(store_manager_client, "cancel_orders", order, apply="1", reason="no")

    assert refresh(order).status == OrderStatus.READY
    assert any(text.startswith(order.number) for text in messages_of(response)), messages_of(response)


# A supplier's staff see what to pick, never whose the order is nor what it cost (the picking view).
SUPPLIED_ORDER_SECRETS = ("Ana García", "12.00", "12,00")  # the customer; the hat's total and paid amount


def test_a_supplying_store_managers_cancel_page_does_not_name_the_customer_nor_the_total(
    store_manager_client: Client, shop: Shop
) -> None:
    order = sourced_from_store_for_other_store(shop)

    response = store_manager_client.post(ORDERS, {"action": "cancel_orders", "_selected_action": [order.pk]})

    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html
    for hidden in SUPPLIED_ORDER_SECRETS:
        assert hidden not in html, hidden


def test_the_pickup_store_managers_cancel_page_names_the_customer_and_the_total(
    store_manager_client: Client, shop: Shop
) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    html = store_manager_client.post(
        ORDERS, {"action": "cancel_orders", "_selected_action": [order.pk]}
    ).content.decode()

    assert f"{order.number} · Ana García · " in html
    assert f"{order.total} {order.currency}" in html


def test_a_supplying_store_managers_changelist_shows_neither_the_customer_nor_the_amounts(
    store_manager_client: Client, shop: Shop
) -> None:
    order = sourced_from_store_for_other_store(shop)

    response = store_manager_client.get(ORDERS)

    assert listed(response) == {order.number}
    html = response.content.decode()
    for hidden in SUPPLIED_ORDER_SECRETS:
        assert hidden not in html, hidden


def test_the_changelist_shows_the_amounts_of_an_order_seen_whole(store_client: Client, shop: Shop) -> None:
    supplied = sourced_from_store_for_other_store(shop)
    here = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    rows = {order.number: order for order in store_client.get(ORDERS).context["cl"].result_list}

    admin_of_orders = OrderAdmin(Order, site)
    assert (admin_of_orders.total_column(rows[here.number]), admin_of_orders.paid_column(rows[here.number])) == (
        here.total,
        here.paid_amount,
    )
    assert (
        admin_of_orders.total_column(rows[supplied.number]),
        admin_of_orders.paid_column(rows[supplied.number]),
    ) == ("—", "—")


def test_cancel_action_refuses_a_shipped_order_and_leaves_it(admin_client: Client, shop: Shop) -> None:
    order = ship(shop, pay(shop, place(shop)), tracking_number="T2")

    response = act(admin_client, "cancel_orders", order, apply="1", reason="Too late")

    order = refresh(order)
    assert order.status == OrderStatus.SHIPPED
    assert order.credit_note is None
    assert order.refunded_amount == 0
    assert any(text.startswith(order.number) and "Shipped" in text for text in messages_of(response))


def test_cancel_from_the_order_page_comes_back_to_the_order_page(admin_client: Client, shop: Shop) -> None:
    order = place(shop)
    url = f"{ORDERS}{order.pk}/change/"
    ask = admin_client.post(url, {"CHANGE_FORM-action": "cancel_orders", "_selected_action": [order.pk]})
    assert ask.status_code == 200
    assert 'name="CHANGE_FORM-action" value="cancel_orders"' in ask.content.decode()

    response = admin_client.post(
        url,
        {"CHANGE_FORM-action": "cancel_orders", "_selected_action": [order.pk], "apply": "1", "reason": "Duplicate"},
        follow=True,
    )

    assert refresh(order).status == OrderStatus.CANCELLED
    assert "1 order cancelled." in messages_of(response)


# --- Today's pickups: the counter ---------------------------------------------------------------


def hand_over(client: Client, order: Order, code: str, number: str | None = None) -> Any:
    data = {"op": "hand_over", "code": code, "number": order.number if number is None else number}
    return client.post(PICKUPS, data, follow=True)


def code_of(order: Order) -> str:
    return pickup_code(number=order.number, secret=order.pickup_secret)


def test_hand_over_with_the_right_code_picks_the_order_up_and_commits_the_sale(
    store_client: Client, shop: Shop
) -> None:
    order = ready_at_store(shop)
    assert level(shop.store, shop.shirt) == (5, 1)

    response = hand_over(store_client, order, code_of(order))

    order = refresh(order)
    assert order.status == OrderStatus.PICKED_UP
    assert order.pickup_code_used_at is not None
    assert level(shop.store, shop.shirt) == (4, 0)
    assert f"{order.number} handed over to Ana García." in messages_of(response)
    assert order.history.get(event="picked_up").user.username == "tienda"  # type: ignore[union-attr]


def test_hand_over_with_the_typed_short_code(store_client: Client, shop: Shop) -> None:
    order = ready_at_store(shop)
    short = pickup_short_code(secret=order.pickup_secret)

    hand_over(store_client, order, f"{short[:4]}-{short[4:].lower()}", number=order.number.replace("-", "").lower())

    assert refresh(order).status == OrderStatus.PICKED_UP


def test_a_scanned_code_alone_finds_its_order(store_client: Client, shop: Shop) -> None:
    order = ready_at_store(shop)

    hand_over(store_client, order, code_of(order), number="")

    assert refresh(order).status == OrderStatus.PICKED_UP


def test_hand_over_with_a_wrong_code_is_refused_and_changes_nothing(store_client: Client, shop: Shop) -> None:
    order = ready_at_store(shop)
    other = ready_at_store(shop)

    wrong = hand_over(store_client, order, "ABCD-EFGH")
    someone_elses = hand_over(store_client, order, code_of(other))

    order = refresh(order)
    assert order.status == OrderStatus.READY
    assert order.pickup_code_used_at is None
    assert level(shop.store, shop.shirt) == (5, 2)
    assert f"{order.number}: The pickup code does not match this order." in messages_of(wrong)
    assert f"{order.number}: The pickup code does not match this order." in messages_of(someone_elses)


def test_an_unpaid_pay_at_pickup_order_is_not_handed_over(store_client: Client, shop: Shop) -> None:
    order = ready_unpaid_at_store(shop)

    response = hand_over(store_client, order, code_of(order))

    assert refresh(order).status == OrderStatus.READY
    assert level(shop.store, shop.shirt) == (5, 1)
    assert f"{order.number}: Not paid yet: take the 19.95 still due at the till first." in messages_of(response)


def test_the_till_takes_the_payment_then_the_order_is_handed_over(store_client: Client, shop: Shop) -> None:
    order = ready_unpaid_at_store(shop)

    paid_response = store_client.post(
        PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "19.95"}, follow=True
    )

    paid_order = refresh(order)
    assert paid_order.is_paid
    assert paid_order.invoice is not None
    payment = paid_order.payments.get()
    assert (payment.method, payment.channel, payment.user.username) == ("cash", "store", "tienda")  # type: ignore[union-attr]
    assert any(text.startswith(f"{order.number} is paid") for text in messages_of(paid_response))
    hand_over(store_client, order, code_of(order))
    assert refresh(order).status == OrderStatus.PICKED_UP


def test_the_till_refuses_more_than_is_due(store_client: Client, shop: Shop) -> None:
    order = ready_unpaid_at_store(shop)

    response = store_client.post(
        PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "50.00"}, follow=True
    )

    assert not refresh(order).is_paid
    assert any(text.startswith(order.number) and "still due" in text for text in messages_of(response))


def test_staff_of_another_store_cannot_hand_an_order_over(client: Client, shop: Shop) -> None:
    client.force_login(staff_with_role(Role.STORE_STAFF, shop.other_store, username="tienda.bcn"))
    order = ready_at_store(shop)

    response = hand_over(client, order, code_of(order))

    assert refresh(order).status == OrderStatus.READY
    assert f"No order {order.number} among your orders." in messages_of(response)


def test_staff_who_see_an_order_they_only_source_cannot_hand_it_over(store_client: Client, shop: Shop) -> None:
    order = sourced_from_store_for_other_store(shop)
    assert order.status == OrderStatus.READY

    response = hand_over(store_client, order, code_of(order))

    assert refresh(order).status == OrderStatus.READY
    assert f"{order.number}: You do not work at this order's pickup location." in messages_of(response)


def test_handing_over_needs_the_permission(client: Client, shop: Shop) -> None:
    client.force_login(staff_of(shop.store, permissions=("view_order", "change_order")))
    order = ready_at_store(shop)

    response = client.post(PICKUPS, {"op": "hand_over", "number": order.number, "code": code_of(order)})

    assert response.status_code == 403
    assert refresh(order).status == OrderStatus.READY


def test_the_till_payment_needs_the_payment_permission(client: Client, shop: Shop) -> None:
    # As through the API (orders.add_payment): handing goods over is not taking money.
    client.force_login(staff_of(shop.store, permissions=("view_order", "change_order", "hand_over_order")))
    order = ready_unpaid_at_store(shop)

    response = client.post(PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "19.95"})

    assert response.status_code == 403
    assert not refresh(order).is_paid


def test_the_pickups_page_offers_the_till_only_to_who_may_take_payments(client: Client, shop: Shop) -> None:
    order = ready_unpaid_at_store(shop)
    client.force_login(staff_of(shop.store, permissions=("view_order", "change_order", "hand_over_order")))

    page = client.get(PICKUPS).content.decode()

    assert order.number in page
    assert 'value="pay"' not in page
    assert "You may not take payments." in page


def test_staff_with_the_payment_permission_take_the_payment_at_the_till(client: Client, shop: Shop) -> None:
    client.force_login(staff_of(shop.store, permissions=("view_order", "add_payment")))
    order = ready_unpaid_at_store(shop)

    response = client.post(
        PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "19.95"}, follow=True
    )

    assert refresh(order).is_paid
    assert any(text.startswith(f"{order.number} is paid") for text in messages_of(response))


def test_the_pickups_page_needs_the_view_permission(client: Client, shop: Shop) -> None:
    client.force_login(staff_of(shop.store, permissions=()))

    assert client.get(PICKUPS).status_code == 403


def groups_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200
    return {key: [order.number for order in orders] for key, _heading, orders in response.context["groups"]}


def test_the_pickups_page_groups_ready_waiting_and_overdue(store_client: Client, shop: Shop) -> None:
    ready = ready_at_store(shop)
    overdue = ready_unpaid_at_store(shop)
    Order.objects.filter(pk=overdue.pk).update(payment_due_by=timezone.now() - timedelta(hours=1))
    waiting = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    arriving = pay(shop, place(shop, lines=[(shop.book, 1)], fulfilment="pickup", pickup=shop.store))
    picked_up = ready_at_store(shop)
    hand_over(store_client, picked_up, code_of(picked_up))

    groups = groups_of(store_client.get(PICKUPS))

    assert groups["ready"] == [ready.number]
    assert groups["overdue"] == [overdue.number]
    assert sorted(groups["waiting"]) == sorted([waiting.number, arriving.number])


def test_the_pickups_page_shows_only_the_staff_members_pickup_points(store_client: Client, shop: Shop) -> None:
    at_store = ready_at_store(shop)
    ready_at_other_store(shop)
    sourced_from_store_for_other_store(shop)  # visible in the order list, but picked up elsewhere

    groups = groups_of(store_client.get(PICKUPS))

    assert groups == {"ready": [at_store.number], "overdue": [], "waiting": []}


def test_the_pickups_page_asks_for_payment_before_the_hand_over(store_client: Client, shop: Shop) -> None:
    unpaid = ready_unpaid_at_store(shop)
    ready = ready_at_store(shop)

    html = store_client.get(PICKUPS).content.decode()

    unpaid_row = html[html.index(f'data-order="{unpaid.number}"') :].split("</tr>")[0]
    ready_row = html[html.index(f'data-order="{ready.number}"') :].split("</tr>")[0]
    assert "Pay at pickup: 19.95 EUR due" in unpaid_row
    assert 'value="pay"' in unpaid_row
    assert 'value="hand_over"' not in unpaid_row
    assert 'value="hand_over"' in ready_row
    assert "due" not in ready_row


def test_the_pickups_page_puts_a_waiting_order_aside(store_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    response = store_client.post(PICKUPS, {"op": "make_ready", "number": order.number}, follow=True)

    assert refresh(order).status == OrderStatus.READY
    assert f"{order.number} is ready: the customer is told." in messages_of(response)


# --- Notifications ----------------------------------------------------------------------------


def test_notifications_are_filtered_by_status_and_kind(admin_client: Client, shop: Shop) -> None:
    first, second = place(shop), place(shop)
    OrderNotification.objects.filter(order=second).update(status=NotificationStatus.FAILED)
    ready = ready_at_store(shop)

    def shown(query: dict[str, str]) -> set[int]:
        response = admin_client.get("/admin/orders/ordernotification/", query)
        return {notification.order_id for notification in response.context["cl"].result_list}

    assert shown({"status__exact": "failed"}) == {second.pk}
    assert shown({"status__exact": "pending", "kind__exact": "order_placed"}) == {first.pk, ready.pk}
    assert shown({"kind__exact": "ready_for_pickup"}) == {ready.pk}


# --- Queries: the same whatever the number of rows ----------------------------------------------


CHANGELIST_QUERIES = 10
ORDER_PAGE_QUERIES = 10
PICKUPS_QUERIES = 6


def test_the_changelist_costs_the_same_queries_with_more_orders(
    store_client: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    place(shop, fulfilment="pickup", pickup=shop.store)
    with django_assert_max_num_queries(CHANGELIST_QUERIES) as few:
        assert len(listed(store_client.get(ORDERS, {"q": "ana@example.com"}))) == 1
    for _n in range(3):
        ready_at_store(shop)
        place(shop, lines=[(shop.book, 1)], fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
        sourced_from_store_for_other_store(shop)  # listed, but not found by the customer's e-mail
    with django_assert_max_num_queries(CHANGELIST_QUERIES) as many:
        assert len(listed(store_client.get(ORDERS, {"q": "ana@example.com"}))) == 7
    with django_assert_max_num_queries(CHANGELIST_QUERIES):
        assert len(listed(store_client.get(ORDERS))) == 10

    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_order_page_costs_the_same_queries_with_more_lines(
    admin_client: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    small = pay(shop, place(shop))
    big_lines = [(VariantFactory.create(), 1) for _n in range(6)]
    for variant, _quantity in big_lines:
        stock_receive_for(shop.warehouse, variant, 2)
    big = place(shop, lines=[*big_lines, (shop.book, 1)], fulfilment="pickup", pickup=shop.store)
    order_payment_add(order=big, actor=shop.web, method="card", amount=Decimal("1.00"), provider_reference="p1")
    big = pay(shop, refresh(big))
    for transfer in {line.transfer for line in big.lines.select_related("transfer") if line.transfer}:
        transfer_ship(transfer=transfer)
    order_transfers_receive(order=big, actor=shop.store_actor)
    assert big.lines.count() == 7
    assert big.payments.count() == 2
    assert big.history.count() > small.history.count()
    admin_client.get(f"{ORDERS}{small.pk}/change/")  # the admin caches its content types on the first page

    with django_assert_max_num_queries(ORDER_PAGE_QUERIES) as few:
        assert admin_client.get(f"{ORDERS}{small.pk}/change/").status_code == 200
    with django_assert_max_num_queries(ORDER_PAGE_QUERIES) as many:
        assert admin_client.get(f"{ORDERS}{big.pk}/change/").status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_pickups_page_costs_the_same_queries_with_more_orders(
    store_client: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    stock_receive_for(shop.store, shop.shirt, 10)
    ready_at_store(shop)
    with django_assert_max_num_queries(PICKUPS_QUERIES) as few:
        assert sum(map(len, groups_of(store_client.get(PICKUPS)).values())) == 1
    for _n in range(3):
        ready_at_store(shop)
        ready_unpaid_at_store(shop)
        pay(shop, place(shop, lines=[(shop.book, 1)], fulfilment="pickup", pickup=shop.store))
    with django_assert_max_num_queries(PICKUPS_QUERIES) as many:
        assert sum(map(len, groups_of(store_client.get(PICKUPS)).values())) == 10
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_till_suggests_the_sellers_country_for_the_invoice(client: Client, shop: Shop) -> None:
    Seller.objects.filter(pk=shop.seller.pk).update(country="PT")
    ready_unpaid_at_store(shop)
    client.force_login(staff_of(shop.store, permissions=("view_order", "add_payment")))

    page = client.get(PICKUPS).content.decode()

    assert 'name="billing_country" size="2" maxlength="2" value="PT"' in page
