"""The shared test scenario: a small shop with a warehouse that ships, two stores, a locker, stock, a seller.

Any app's tests may use it: the `shop` fixture is registered for every test directory by
tests/conftest.py, and the helpers below walk an order through its life the way a channel
would (`place`, `pay`, `ship`, `deliver`), calling the services directly.

Its credentials are bound where they work (`Location.channel_clients`), as the access rules
want (orders.services.access): the till to the Sol store, the locker client to its locker, and
the web shop's integration to the central warehouse, whose parcels it ships. The other store has
no till: what happens there is done by its staff.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Variant
from config.channels import Channel
from config.idempotency import idempotency_fingerprint
from config.roles import Role
from customers.models import Customer
from inventory.models import Location
from invoicing.models import Seller
from orders.models import Order, Refund, RefundStatus
from orders.services import (
    Actor,
    LineRequest,
    OrderRequest,
    order_deliver,
    order_payment_add,
    order_place,
    order_ship,
)
from orders.services.placing import Address
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    LocationFactory,
    SellerFactory,
    TaxCategoryFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)


@dataclass
class Shop:
    seller: Seller
    warehouse: Location
    store: Location
    other_store: Location
    locker: Location
    shirt: Variant  # 19.95, 21 %
    book: Variant  # 10.00, 4 %
    customer: Customer
    web: Actor  # the web shop; also ships the warehouse's parcels (bound to it)
    web_token: str
    store_actor: Actor  # the till of the Sol store (bound to it)
    store_token: str
    locker_actor: Actor  # the locker's own credential (bound to it)
    locker_token: str


ADDRESS = Address(name="Ana García", street="Calle Luna 3", city="Sevilla", postal_code="41001", country="ES")


@pytest.fixture
def shop(db: Any) -> Shop:
    seller = SellerFactory.create()
    warehouse = LocationFactory.create(
        code="wh-central", name="Almacén central", kind="warehouse", can_ship=True, is_pickup_point=False
    )
    store = LocationFactory.create(code="madrid-sol", name="Tienda Sol", kind="store", can_ship=False)
    other_store = LocationFactory.create(code="bcn-diagonal", name="Tienda Diagonal", kind="store", can_ship=False)
    locker = LocationFactory.create(code="locker-atocha", name="Taquilla Atocha", kind="locker")
    shirt = VariantFactory.create(price=Decimal("19.95"))
    book = VariantFactory.create(
        price=Decimal("10.00"),
        product__tax_category=TaxCategoryFactory.create(code="reduced", name="Reducido", rate=Decimal("4")),
    )
    stock_receive_for(warehouse, shirt, 50)
    stock_receive_for(warehouse, book, 50)
    stock_receive_for(store, shirt, 5)
    customer = CustomerFactory.create(name="Ana García")
    ContactPointFactory.create(customer=customer, kind="email", value="ana@example.com")
    web_client, web_token = channel_client(Channel.WEB, name="Web shop", locations=[warehouse])
    store_client, store_token = channel_client(Channel.STORE, name="Till Sol", locations=[store])
    locker_client, locker_token = channel_client(Channel.LOCKER, name="Lockers", locations=[locker])
    return Shop(
        seller=seller,
        warehouse=warehouse,
        store=store,
        other_store=other_store,
        locker=locker,
        shirt=shirt,
        book=book,
        customer=customer,
        web=Actor(channel=Channel.WEB, client=web_client),
        web_token=web_token,
        store_actor=Actor(channel=Channel.STORE, client=store_client),
        store_token=store_token,
        locker_actor=Actor(channel=Channel.LOCKER, client=locker_client),
        locker_token=locker_token,
    )


def place(
    shop: Shop,
    *,
    lines: list[tuple[Variant, int]] | None = None,
    fulfilment: str = "ship",
    pickup: Location | None = None,
    payment_mode: str = "now",
    actor: Actor | None = None,
    key: str | None = None,
    **request: Any,
) -> Order:
    """Place an order through the service (the API tests go through HTTP instead)."""
    lines = lines or [(shop.shirt, 1)]
    order_request = OrderRequest(
        customer=shop.customer,
        lines=[LineRequest(sku=v.sku, quantity=q) for v, q in lines],
        fulfilment_type=fulfilment,
        pickup_location=pickup,
        shipping=ADDRESS if fulfilment == "ship" else None,
        payment_mode=payment_mode,
        email=request.pop("email", "ana@example.com"),
        phone=request.pop("phone", "+34 600 000 001"),
        name="Ana García",
        language="es",
        **request,
    )
    key = key or f"key-{Order.objects.count()}-{fulfilment}-{id(order_request)}"
    return order_place(
        actor=actor or shop.web,
        idempotency_key=key,
        fingerprint=idempotency_fingerprint({"key": key}),
        request=order_request,
    ).order


def pay(
    shop: Shop,
    order: Order,
    *,
    method: str = "card",
    amount: Decimal | None = None,
    reference: str | None = None,
    actor: Actor | None = None,
) -> Order:
    """Pay what the order still owes (or `amount`), by card through the web shop unless told otherwise.

    A card (or another provider's method) needs the provider's capture reference: one is made
    up from the order's number unless given; the till's methods (cash...) take none.
    """
    if reference is None:
        reference = f"{method}-{order.number}" if method in ("card", "paypal", "store_card") else ""
    return order_payment_add(
        order=order,
        actor=actor or shop.web,
        method=method,
        amount=order.amount_due if amount is None else amount,
        provider_reference=reference,
    )


def ship(shop: Shop, order: Order, *, actor: Actor | None = None, tracking_number: str = "T1") -> Order:
    """Send a paid order to its address, by the web shop (it ships the warehouse's parcels)."""
    return order_ship(order=order, actor=actor or shop.web, carrier="SEUR", tracking_number=tracking_number)


def deliver(shop: Shop, order: Order, *, actor: Actor | None = None) -> Order:
    """The carrier reports a shipped parcel delivered, through the web shop that placed it."""
    return order_deliver(order=order, actor=actor or shop.web)


def owed_back(order: Order) -> Decimal:
    """What the order gives back: its refunds pending (owed until confirmed) and succeeded."""
    refunds = Refund.objects.filter(order=order, status__in=(RefundStatus.PENDING, RefundStatus.SUCCEEDED))
    return sum((refund.amount for refund in refunds), Decimal(0))


def staff_actor(role: Role, *locations: Location) -> Actor:
    """A staff member in a role, working at these locations, acting as the store (as in the admin)."""
    return Actor(channel=Channel.STORE, user=staff_with_role(role, *locations))
