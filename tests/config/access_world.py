"""The world of the permission matrix: one retailer, every kind of credential and role, a few objects.

Two stores (X: Madrid Sol, Y: Barcelona Diagonal), a warehouse, two lockers (A, B); a web shop
(first party, reaches everyone), a marketplace (third party, its own), a locker client bound to
each locker; staff of each store, of the warehouse, an agent, an accountant, a manager and a
superuser. Orders and customers are made through the API, as channels make them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from catalog.models import Variant
from config.channels import Channel
from config.models import ChannelClient
from config.roles import Role
from customers.models import Customer, Segment
from inventory.models import Location
from invoicing.delivery import invoice_render
from invoicing.models import Invoice
from orders.models import Order, Refund
from tests.api import staff_api, token_api
from tests.factories import (
    LocationFactory,
    SellerFactory,
    UserFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)

# The roles of the matrix, in the order of its columns.
ROLES = ("anon", "web", "mkt", "lkA", "lkB", "tlX", "stX", "stY", "wh", "agt", "acc", "mgr", "su")
CLIENT_ROLES = ("web", "mkt", "lkA", "lkB", "tlX")
STAFF_ROLES = ("stX", "stY", "wh", "agt", "acc", "mgr", "su")


@dataclass
class World:
    store_x: Location
    store_y: Location
    warehouse: Location
    locker_a: Location
    locker_b: Location
    shirt: Variant
    clients: dict[str, ChannelClient]
    tokens: dict[str, str]
    users: dict[str, Any]
    customers: dict[str, Customer]
    orders: dict[str, Order]
    invoices: dict[str, Invoice]
    segment: Segment
    callers: dict[str, Client] = field(default_factory=dict)
    # The refunds `cancelled_x` owes: "card" (the web shop gives it back), "cash" (the till of X).
    refunds: dict[str, Refund] = field(default_factory=dict)

    def caller(self, role: str) -> Client:
        """A logged-in browser for staff, a token-carrying client for channels, nothing for anon."""
        if role not in self.callers:
            caller = APIClient()
            if role in self.tokens:
                caller.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
            elif role in self.users:
                caller.force_login(self.users[role])
            self.callers[role] = caller
        return self.callers[role]


def _place(token: str, key: str, body: dict[str, Any]) -> Order:
    response = token_api(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def _pay(token: str, order: Order, amount: Decimal | None = None) -> Order:
    response = token_api(token).post(
        f"/api/v1/orders/{order.number}/payments/",
        {"method": "card", "amount": str(amount or order.total), "provider_reference": f"cap-{order.number}"},
        format="json",
    )
    assert response.status_code == 201, response.content
    order.refresh_from_db()
    return order


def world_create() -> World:
    SellerFactory.create()
    store_x = LocationFactory.create(code="madrid-sol", name="Tienda Sol", kind="store")
    store_y = LocationFactory.create(code="bcn-diagonal", name="Tienda Diagonal", kind="store")
    warehouse = LocationFactory.create(
        code="wh-central", name="Almacén central", kind="warehouse", can_ship=True, is_pickup_point=False
    )
    locker_a = LocationFactory.create(code="locker-atocha", name="Taquilla Atocha", kind="locker")
    locker_b = LocationFactory.create(code="locker-sants", name="Taquilla Sants", kind="locker")
    shirt = VariantFactory.create(price=Decimal("19.95"))
    stock_receive_for(warehouse, shirt, 50)
    stock_receive_for(store_x, shirt, 5)

    web, web_token = channel_client(Channel.WEB, name="Web shop")
    mkt, mkt_token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    lka, lka_token = channel_client(Channel.LOCKER, name="Lockers Atocha", locations=[locker_a])
    lkb, lkb_token = channel_client(Channel.LOCKER, name="Lockers Sants", locations=[locker_b])
    tlx, tlx_token = channel_client(Channel.STORE, name="Till Sol", locations=[store_x])
    clients = {"web": web, "mkt": mkt, "lkA": lka, "lkB": lkb, "tlX": tlx}
    tokens = {"web": web_token, "mkt": mkt_token, "lkA": lka_token, "lkB": lkb_token, "tlX": tlx_token}

    users = {
        "stX": staff_with_role(Role.STORE_STAFF, store_x, username="staff-x"),
        "stY": staff_with_role(Role.STORE_STAFF, store_y, username="staff-y"),
        "wh": staff_with_role(Role.WAREHOUSE, warehouse, username="warehouse"),
        "agt": staff_with_role(Role.AGENT, username="agent"),
        "acc": staff_with_role(Role.ACCOUNTANT, username="accountant"),
        "mgr": staff_with_role(Role.MANAGER, username="manager"),
        "su": UserFactory.create(username="root", is_staff=True, is_superuser=True),
    }

    line = [{"sku": shirt.sku, "quantity": 1}]
    address = {
        "name": "Ana García",
        "street": "Calle Luna 3",
        "city": "Sevilla",
        "postal_code": "41001",
        "country": "ES",
    }
    pickup_x = _pay(
        web_token,
        _place(
            web_token,
            "w-pickup",
            {"email": "ana@example.com", "lines": line, "fulfilment_type": "pickup", "pickup_location": store_x.code},
        ),
    )
    # Ready on the shelf at store X: the hand-over's rules run (then the code is judged).
    ready = staff_api(users["stX"]).post(f"/api/v1/orders/{pickup_x.number}/ready/")
    assert ready.status_code == 200, ready.content
    pickup_x.refresh_from_db()
    # Paid, not put aside yet: making it ready runs the rules.
    paid_x = _pay(
        web_token,
        _place(
            web_token,
            "w-paid",
            {"email": "ana@example.com", "lines": line, "fulfilment_type": "pickup", "pickup_location": store_x.code},
        ),
    )
    # Placed, not paid yet: the payment's rules run.
    unpaid_x = _place(
        web_token,
        "w-unpaid",
        {"email": "ana@example.com", "lines": line, "fulfilment_type": "pickup", "pickup_location": store_x.code},
    )
    ship_w = _pay(
        web_token,
        _place(
            web_token,
            "w-ship",
            {"email": "ana@example.com", "lines": line, "fulfilment_type": "ship", "shipping_address": address},
        ),
    )
    locker_order = _pay(
        web_token,
        _place(
            web_token,
            "w-locker",
            {"email": "ana@example.com", "lines": line, "fulfilment_type": "locker", "pickup_location": locker_a.code},
        ),
    )
    mkt_order = _pay(
        mkt_token,
        _place(
            mkt_token,
            "m-ship",
            {"email": "luis@example.com", "lines": line, "fulfilment_type": "ship", "shipping_address": address},
        ),
    )
    # Paid 5.00 in cash at the till of X and the rest by card through the web shop, then cancelled:
    # both refunds are pending, each for whoever took its money to confirm.
    cancelled_x = _place(
        web_token,
        "w-cancelled",
        {"email": "ana@example.com", "lines": line, "fulfilment_type": "pickup", "pickup_location": store_x.code},
    )
    cash = token_api(tlx_token).post(
        f"/api/v1/orders/{cancelled_x.number}/payments/", {"method": "cash", "amount": "5.00"}, format="json"
    )
    assert cash.status_code == 201, cash.content
    cancelled_x = _pay(web_token, cancelled_x, amount=cancelled_x.total - Decimal("5.00"))
    cancelled = token_api(web_token).post(f"/api/v1/orders/{cancelled_x.number}/cancel/", {}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    refunds = {refund.method: refund for refund in Refund.objects.filter(order=cancelled_x)}
    customers = {
        "web": Customer.objects.get(contact_points__normalised_value="ana@example.com"),
        "mkt": Customer.objects.get(contact_points__normalised_value="luis@example.com"),
    }
    assert pickup_x.invoice is not None
    assert mkt_order.invoice is not None
    invoice_render(invoice_id=pickup_x.invoice.pk)  # its PDF and XML, for the downloads
    segment = Segment.objects.create(name="Sevilla", rules={"city": ["Sevilla"]})
    return World(
        store_x=store_x,
        store_y=store_y,
        warehouse=warehouse,
        locker_a=locker_a,
        locker_b=locker_b,
        shirt=shirt,
        clients=clients,
        tokens=tokens,
        users=users,
        customers=customers,
        orders={
            "pickup_x": pickup_x,
            "paid_x": paid_x,
            "unpaid_x": unpaid_x,
            "ship_w": ship_w,
            "locker_a": locker_order,
            "mkt": mkt_order,
            "cancelled_x": cancelled_x,
        },
        invoices={"web": pickup_x.invoice, "mkt": mkt_order.invoice},
        segment=segment,
        refunds=refunds,
    )


# --- Every page of the project, by name


def url_names() -> dict[str, str]:
    """Every URL pattern of the project: {name: its path pattern}.

    Unnamed patterns are named after their place: the admin's last pattern (`admin:catch_all`)
    answers every other address under /admin/.
    """
    names: dict[str, str] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            path = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, path, namespace + (f"{pattern.namespace}:" if pattern.namespace else ""))
            elif isinstance(pattern, URLPattern):
                names.setdefault(namespace + (pattern.name or "catch_all"), path)

    walk(get_resolver(), "", "")
    return names


def admin_url_names() -> set[str]:
    return {name for name, path in url_names().items() if path.startswith("admin/")}


def site_url_names() -> set[str]:
    """The API and every other page that is not the admin's."""
    return {name for name, path in url_names().items() if not path.startswith("admin/")}


# --- Answers, as the matrix writes them

LOGIN_REDIRECT = re.compile(r"/admin/login/")


def answer_of(response: Any) -> str:
    """The cell a response fills: `ok` for a 2xx, the status otherwise, or what a redirect means.

    `login` is the admin's redirect to sign in, `gone` its redirect to its index when the
    object is not among those this person may see, `moved` any other redirect.
    """
    status = int(response.status_code)
    if status in (301, 302):
        location = response.headers.get("Location", "")
        if LOGIN_REDIRECT.search(location):
            return "login"
        return "gone" if location == "/admin/" else "moved"
    if 200 <= status < 300:
        return "ok"
    return str(status)


def cell_response(world: World, role: str, send: Callable[[Client], Any]) -> Any:
    """One request as one role, rolled back: no cell sees another's changes.

    A bare savepoint, not an atomic block: the use cases the request runs open their own
    durable transaction (config.transactions), which no atomic block of ours may enclose.
    """
    caller = world.caller(role)  # signed in outside the rollback, so the session stays
    savepoint = transaction.savepoint_create()
    try:
        return send(caller)
    finally:
        transaction.savepoint_rollback(savepoint)


def cell(world: World, role: str, send: Callable[[Client], Any]) -> str:
    """The answer to one request as one role, rolled back (`cell_response`)."""
    return answer_of(cell_response(world, role, send))
