"""Demo orders for the embedded default: every channel, every fulfilment type, every status.

Each order goes through orders.services as its channel would: placed with an Idempotency-Key
("demo-..."), paid (which issues its invoice), put aside in a store, sent to a store or a
locker by transfer, shipped and delivered, handed over with the customer's pickup code,
cancelled (refunds and a credit note) or expired, or left uncollected near its hold's end (the
customer reminded). Delivery is priced by the demo's price list (standard and express to the
peninsula and the Balearic Islands by weight band, free from a threshold; store and locker pickup
free): shipped orders carry a charge, and one goes express. The demo customers, locations, stock,
channel clients and staff come from the lower demos; channels with no client there (social,
WhatsApp, marketplace, call centre) get one here. Store staff's groups get the orders
permissions, so the store employee can work today's pickups at Madrid Gran Vía.

Deterministic (variants drawn with a fixed seed among those in stock) and idempotent: when the
first demo order exists the orders are skipped; clients and permissions are added when missing.
"""

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.models import TaxCategory, Variant
from config.channels import Channel
from config.demo import CHANNEL_CLIENTS
from config.idempotency import idempotency_fingerprint
from config.models import ChannelClient
from config.services import channel_client_create
from customers.identities import PHONE_KINDS, IdentityKind
from customers.models import ContactPoint, Customer, Segment, StoreCreditEntry
from customers.selectors import customer_find_by_identity
from customers.services import store_credit_grant
from inventory.models import Location, LocationKind, StockLevel
from inventory.services import transfer_ship
from orders.codes import pickup_code
from orders.models import (
    DeliveryKind,
    DeliveryMethod,
    DeliveryRate,
    DeliveryZone,
    DeliveryZoneArea,
    FulfilmentType,
    Order,
    OrderNotification,
    OrderStatusChange,
    ParcelStatus,
    Payment,
    PaymentMethod,
    PaymentMode,
    Refund,
    RefundStatus,
)
from orders.services import (
    Actor,
    Address,
    LineRequest,
    OrderRequest,
    order_cancel,
    order_deliver,
    order_expire,
    order_hand_over,
    order_hold_remind,
    order_make_ready,
    order_payment_add,
    order_pickup_redeem,
    order_place,
    order_ship,
    order_transfers_receive,
    parcel_cancel,
    parcel_deliver,
    parcel_ship,
    refund_confirm,
)

SEED = 20261126
# The inventory demo's locations and people, named by their codes and usernames as the rows
# hold them: a demo builds on the rows of the demos below it, never on their modules.
MADRID, BARCELONA, VALENCIA, WAREHOUSE = "MAD-CENTRO", "BCN-PORTAL-ANGEL", "VLC-COLON", "ALM-GETAFE"
WAREHOUSE_BCN = "ALM-ZONA-FRANCA"  # ships what Getafe lacks: a second parcel
ATOCHA, SANTS = "LOCKER-ATOCHA", "LOCKER-SANTS"
STORE_EMPLOYEE = "tienda.madrid"  # works at Madrid Gran Vía (inventory demo)
WAREHOUSE_EMPLOYEE = "almacen"  # works at the Getafe warehouse (inventory demo)
MANAGER = "encargado"  # works every location (inventory demo)

# The channels the platform demo has no client for: their integrations, as the orders see them.
ORDER_CHANNEL_CLIENTS = (
    ("Instagram Shopping", Channel.SOCIAL),
    ("WhatsApp Business", Channel.WHATSAPP),
    ("Marketplace Amazon.es", Channel.MARKETPLACE),
    ("Centralita (call centre)", Channel.CALL_CENTER),
)

# Where a shipped parcel goes in each customer's city: (street, postal code).
ADDRESSES = {
    "Madrid": ("Calle de Alcalá, 120, 3.º B", "28009"),
    "Barcelona": ("Carrer de Mallorca, 210, 1r 2a", "08008"),
    "Valencia": ("Avinguda del Regne de València, 45, 2.ª", "46005"),
    "Zaragoza": ("Paseo de la Independencia, 18, 4.º izq.", "50004"),
    "Sevilla": ("Calle Feria, 72, bajo", "41003"),
}
# Store credit for a late delivery, spent on a later order: (reference, amount, reason).
GOODWILL = ("DEMO-CORTESIA-1", Decimal("15.00"), "Cortesía: entrega con retraso")
# A segment on the purchase rules orders registers (orders/segments.py), beside the customers demo's.
PURCHASE_SEGMENT = (
    "Compradores recientes de más de 50 €",
    "Han comprado en los últimos 90 días y gastado más de 50 € (pedidos pagados y no cancelados).",
    {"recency_days": 90, "monetary": {"min": "50"}},
)


@dataclass(frozen=True)
class OrderSpec:
    """One demo order: who orders what through which channel, and what happens to it next.

    `stock` says where its variants are: "shelf" (on the pickup store's own shelf) or
    "warehouse" (only in the warehouse: shipped from there, or sent to the pickup point).
    `steps` run in order after placing: pay, ready, ship, deliver, transfer_ship, receive,
    pay_at_till, hand_over, redeem, cancel, confirm_refunds (the channel's integration confirms
    its pending refunds: without it they stay pending, for staff to see), expire, hold_ending;
    ship_parcels (each parcel by its own source's staff, with its own tracking number),
    deliver_first_parcel, ship_first_parcel, cancel_last_parcel (the web shop cancels a parcel not sent).
    """

    key: str
    channel: str
    customer: tuple[str, str]  # an identity of a demo customer
    fulfilment: str
    pickup: str = ""
    stock: str = "warehouse"
    lines: int = 1
    payment_mode: str = PaymentMode.NOW
    pay: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    full_invoice: bool = False
    note: str = ""
    delivery_method: str = ""  # empty: the default of the fulfilment's kind
    # Lines more from the second warehouse: the order leaves in two parcels, one from each.
    second_warehouse_lines: int = 0


EMAIL, HANDLE = IdentityKind.EMAIL, IdentityKind.INSTAGRAM
SHIP, PICKUP, LOCKER = FulfilmentType.SHIP, FulfilmentType.PICKUP, FulfilmentType.LOCKER
AT_PICKUP = PaymentMode.AT_PICKUP
CARD, PAYPAL, STORE_CARD = PaymentMethod.CARD, PaymentMethod.PAYPAL, PaymentMethod.STORE_CARD

ORDERS = (
    OrderSpec(
        "demo-01",
        Channel.WEB,
        (EMAIL, "lucia.fernandez.ruiz@gmail.com"),
        SHIP,
        lines=2,
        pay=(CARD,),
        steps=("pay", "ship", "deliver"),
    ),
    OrderSpec(
        "demo-02",
        Channel.APP,
        (EMAIL, "javier.moreno.gil@gmail.com"),
        SHIP,
        pay=(STORE_CARD,),
        steps=("pay", "ship"),
        full_invoice=True,
        delivery_method="urgente",
    ),
    # From two warehouses in two parcels, each with its own carrier; the first one delivered already.
    OrderSpec(
        "demo-parcels",
        Channel.WEB,
        (EMAIL, "lucia.fernandez.ruiz@gmail.com"),
        SHIP,
        lines=2,
        second_warehouse_lines=1,
        pay=(CARD,),
        steps=("pay", "ship_parcels", "deliver_first_parcel"),
    ),
    # From two warehouses: the first parcel left, the second was cancelled (out of stock there):
    # its lines refunded and credited, the order shipped with what left (issue 17).
    OrderSpec(
        "demo-parcel-cancelled",
        Channel.WEB,
        (EMAIL, "javier.moreno.gil@gmail.com"),
        SHIP,
        lines=1,
        second_warehouse_lines=1,
        pay=(CARD,),
        steps=("pay", "ship_first_parcel", "cancel_last_parcel"),
        note="Agotado en Zona Franca",
    ),
    OrderSpec("demo-03", Channel.MARKETPLACE, (EMAIL, "hugo.castro25@icloud.com"), SHIP, pay=(CARD,), steps=("pay",)),
    OrderSpec("demo-04", Channel.SOCIAL, (HANDLE, "@javimoreno"), SHIP, lines=2),
    OrderSpec(
        "demo-05",
        Channel.WHATSAPP,
        (EMAIL, "ivan.dominguez@hotmail.es"),
        PICKUP,
        pickup=MADRID,
        stock="shelf",
        payment_mode=AT_PICKUP,
        steps=("ready",),
    ),
    OrderSpec(
        "demo-06",
        Channel.WEB,
        (EMAIL, "raul.munoz48@gmail.com"),
        PICKUP,
        pickup=MADRID,
        stock="shelf",
        pay=(CARD,),
        steps=("pay", "ready"),
    ),
    OrderSpec(
        "demo-07",
        Channel.WEB,
        (EMAIL, "pilar.castro@icloud.com"),
        PICKUP,
        pickup=MADRID,
        stock="shelf",
        pay=(CARD,),
        steps=("pay", "ready", "hand_over"),
    ),
    OrderSpec(
        "demo-08",
        Channel.STORE,
        (EMAIL, "lucia.fr.91@hotmail.com"),
        PICKUP,
        pickup=MADRID,
        stock="shelf",
        payment_mode=AT_PICKUP,
        steps=("ready", "pay_at_till", "hand_over"),
    ),
    OrderSpec(
        "demo-09",
        Channel.APP,
        (EMAIL, "rocio.serrano@outlook.es"),
        PICKUP,
        pickup=MADRID,
        pay=(PAYPAL,),
        steps=("pay", "transfer_ship"),
        note="on its way to Madrid: staff receive it from today's pickups",
    ),
    OrderSpec(
        "demo-10",
        Channel.CALL_CENTER,
        (EMAIL, "maria.alvarez23@yahoo.es"),
        PICKUP,
        pickup=BARCELONA,
        pay=(CARD,),
        steps=("pay", "transfer_ship", "receive"),
    ),
    OrderSpec(
        "demo-11",
        Channel.WEB,
        (EMAIL, "laura.garcia56@icloud.com"),
        PICKUP,
        pickup=VALENCIA,
        pay=(CARD,),
        steps=("pay",),
        note="transfer requested, the goods have not left the warehouse",
    ),
    OrderSpec(
        "demo-12",
        Channel.WEB,
        (EMAIL, "cristina.hernandez87@gmail.com"),
        LOCKER,
        pickup=ATOCHA,
        pay=(CARD,),
        steps=("pay", "transfer_ship", "receive", "redeem"),
    ),
    OrderSpec(
        "demo-13",
        Channel.APP,
        (EMAIL, "daniel.marin@icloud.com"),
        LOCKER,
        pickup=SANTS,
        pay=(PAYPAL,),
        steps=("pay", "transfer_ship"),
    ),
    OrderSpec(
        "demo-14",
        Channel.WHATSAPP,
        (EMAIL, "carmen.rubio@icloud.com"),
        PICKUP,
        pickup=BARCELONA,
        stock="shelf",
        payment_mode=AT_PICKUP,
    ),
    OrderSpec(
        "demo-15",
        Channel.CALL_CENTER,
        (EMAIL, "irene.navarro@outlook.es"),
        SHIP,
        pay=(CARD,),
        steps=("pay", "cancel"),
        note="Cliente: ya no lo necesita",
    ),
    OrderSpec(
        "demo-16",
        Channel.WEB,
        (EMAIL, "lucia.fernandez.ruiz@gmail.com"),
        SHIP,
        pay=(PaymentMethod.STORE_CREDIT, CARD),
        steps=("pay", "cancel", "confirm_refunds"),
        note="Cliente: pedido duplicado",
    ),
    OrderSpec("demo-17", Channel.WEB, (EMAIL, "sergio.castro82@hotmail.es"), SHIP, steps=("expire",)),
    OrderSpec(
        "demo-18",
        Channel.STORE,
        (EMAIL, "jorge.vazquez@gmail.com"),
        PICKUP,
        pickup=VALENCIA,
        stock="shelf",
        payment_mode=AT_PICKUP,
        steps=("cancel",),
        note="El cliente llamó: no vendrá a recogerlo",
    ),
    OrderSpec(
        "demo-19",
        Channel.MARKETPLACE,
        (EMAIL, "marta.ortega74@yahoo.es"),
        SHIP,
        lines=2,
        pay=(CARD,),
        steps=("pay", "ship", "deliver"),
    ),
    OrderSpec(
        "demo-20",
        Channel.WEB,
        (EMAIL, "raul.munoz48@gmail.com"),
        PICKUP,
        pickup=MADRID,
        stock="shelf",
        pay=(CARD,),
        steps=("pay", "ready", "hold_ending"),
        note="paid, not collected: its hold ends in a few hours and the customer was reminded",
    ),
)
# Each order is placed and walked through its steps in transactions of its own (they are use
# cases): the last one placed says the demo is complete, and a run cut short is completed by
# the next (an order already placed is a replay, its steps are not taken again).
MARKER_KEY = ORDERS[-1].key


# --- What the orders need from the lower demos --------------------------------------------------


class VariantPicker:
    """Variants in stock where an order needs them, drawn with a seed; each used once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[int] = set()
        self.stock: dict[int, dict[str, int]] = defaultdict(dict)
        rows = StockLevel.objects.filter(
            available__gt=0,
            location__is_active=True,
            location__kind__in=(LocationKind.STORE, LocationKind.WAREHOUSE),
            variant__is_active=True,
            variant__product__is_active=True,
        ).values_list("variant_id", "location__code", "available")
        for variant_id, code, available in rows:
            self.stock[variant_id][code] = available
        self.variants = {variant.pk: variant for variant in Variant.objects.filter(pk__in=self.stock).order_by("sku")}

    def pick(self, *, where: str, pickup: str) -> Variant:
        if where == "shelf":
            candidates = [pk for pk, stock in self.stock.items() if stock.get(pickup, 0) >= 2]
        else:
            # Only one warehouse has it: shipped from there, or sent from there to the pickup point.
            warehouse = WAREHOUSE_BCN if where == "second_warehouse" else WAREHOUSE
            candidates = [pk for pk, stock in self.stock.items() if set(stock) == {warehouse}]
            candidates = [pk for pk in candidates if self.stock[pk][warehouse] >= 5]
        candidates = sorted((pk for pk in candidates if pk not in self.used), key=lambda pk: self.variants[pk].sku)
        if not candidates:
            raise LookupError(f"No demo variant in stock for {where} {pickup}")
        chosen = self.rng.choice(candidates)
        self.used.add(chosen)
        return self.variants[chosen]


def _customer(identity: tuple[str, str], fallback: int) -> Customer:
    """The demo customer with this identity; another demo customer if the customer demo changed."""
    customer = customer_find_by_identity(kind=identity[0], value=identity[1])
    if customer is not None:
        return customer
    customers = list(Customer.objects.filter(country="ES", erased_at=None).order_by("name")[:40])
    return customers[fallback % len(customers)]


def _contact(customer: Customer) -> tuple[str, str]:
    """The e-mail and phone the customer gives with the order: their first of each."""
    points: dict[str, str] = {}
    rows = ContactPoint.objects.filter(customer=customer, kind__in=[IdentityKind.EMAIL, *PHONE_KINDS])
    for kind, value in rows.order_by("id").values_list("kind", "normalised_value"):
        points.setdefault(kind, value)
    phone = points.get(IdentityKind.PHONE) or points.get(IdentityKind.WHATSAPP, "")
    return points.get(IdentityKind.EMAIL, ""), phone


def _address(customer: Customer) -> Address:
    street, postal_code = ADDRESSES.get(customer.city, ADDRESSES["Madrid"])
    city = customer.city if customer.city in ADDRESSES else "Madrid"
    return Address(name=customer.name, street=street, city=city, postal_code=postal_code, country="ES")


def _clients_load() -> tuple[dict[str, ChannelClient], int]:
    created = 0
    for name, channel in ORDER_CHANNEL_CLIENTS:
        if not ChannelClient.objects.filter(name=name).exists():
            channel_client_create(name=name, channel=channel)
            created += 1
    names = [name for name, _channel, _token in CHANNEL_CLIENTS] + [name for name, _channel in ORDER_CHANNEL_CLIENTS]
    clients: dict[str, ChannelClient] = {}
    for client in ChannelClient.objects.filter(name__in=names, is_active=True).order_by("pk"):
        clients.setdefault(client.channel, client)
    return clients, created


# --- The orders, through the services ---------------------------------------------------------


@dataclass
class Context:
    clients: dict[str, ChannelClient]
    locations: dict[str, Any]
    picker: VariantPicker
    employee: Any
    warehouse_employee: Any
    manager: Any

    def actor(self, channel: str) -> Actor:
        return Actor(channel=channel, client=self.clients.get(channel))

    def staff_at(self, location_code: str) -> Actor:
        """Store staff at the counter: the Madrid employee in Madrid, the manager elsewhere."""
        user = self.employee if location_code == MADRID and self.employee else self.manager
        return self._staff(user)

    def shipper(self) -> Actor:
        """The parcels leave the warehouse: its employee ships them (the manager if there is none)."""
        return self._staff(self.warehouse_employee or self.manager)

    def shipper_at(self, location_code: str) -> Actor:
        """Each parcel leaves with its own source's staff: Getafe's employee, the manager elsewhere."""
        return self.shipper() if location_code == WAREHOUSE else self._staff(self.manager)

    def _staff(self, user: Any) -> Actor:
        # Without the inventory demo's people, the platform itself does the step.
        return Actor(channel=Channel.STORE, user=user) if user is not None else Actor(channel=Channel.STORE)


def _pay(order: Order, spec: OrderSpec, actor: Actor) -> Order:
    for number, method in enumerate(spec.pay, start=1):
        last = number == len(spec.pay)
        amount = order.amount_due if last else min(GOODWILL[1], order.amount_due - Decimal("0.01"))
        reference = f"{spec.key}-{method}-{number}" if method in (CARD, PAYPAL, STORE_CARD) else ""
        order = order_payment_add(order=order, actor=actor, method=method, amount=amount, provider_reference=reference)
    return order


def _step(order: Order, step: str, spec: OrderSpec, context: Context, actor: Actor) -> Order:
    counter = context.staff_at(spec.pickup)
    if step == "pay":
        return _pay(order, spec, actor)
    if step == "ready":
        return order_make_ready(order=order, actor=counter)
    if step == "ship":
        return order_ship(order=order, actor=context.shipper(), carrier="SEUR", tracking_number=f"SEUR{order.pk:08d}ES")
    if step == "deliver":
        # The carrier's report, entered where the parcel left.
        return order_deliver(order=order, actor=context.shipper())
    if step == "ship_parcels":
        for parcel in order.parcels.select_related("source").order_by("position"):
            carrier = "SEUR" if parcel.source.code == WAREHOUSE else "MRW"
            parcel_ship(
                order=order,
                position=parcel.position,
                actor=context.shipper_at(parcel.source.code),
                carrier=carrier,
                tracking_number=f"{carrier}{order.pk:06d}{parcel.position:02d}ES",
            )
        return Order.objects.get(pk=order.pk)
    if step == "ship_first_parcel":
        first = order.parcels.select_related("source").order_by("position").first()
        if first is not None:
            parcel_ship(
                order=order,
                position=first.position,
                actor=context.shipper_at(first.source.code),
                carrier="SEUR",
                tracking_number=f"SEUR{order.pk:06d}{first.position:02d}ES",
            )
        return Order.objects.get(pk=order.pk)
    if step == "cancel_last_parcel":
        # The web shop calls off the box its second warehouse cannot send.
        last = order.parcels.filter(status=ParcelStatus.PENDING).order_by("-position").first()
        if last is not None:
            parcel_cancel(order=order, position=last.position, actor=actor, reason=spec.note)
        return Order.objects.get(pk=order.pk)
    if step == "deliver_first_parcel":
        # One box arrived, the other is still on its way: the order stays shipped.
        parcel_deliver(order=order, position=1, actor=context.shipper())
        return Order.objects.get(pk=order.pk)
    if step == "transfer_ship":
        for line in order.lines.filter(transfer__isnull=False).select_related("transfer"):
            if line.transfer is not None and line.transfer.status == "requested":
                transfer_ship(transfer=line.transfer)
        return order
    if step == "receive":
        return order_transfers_receive(order=order, actor=counter)
    if step == "pay_at_till":
        return order_payment_add(order=order, actor=counter, method=PaymentMethod.CASH, amount=order.amount_due)
    if step == "hand_over":
        code = pickup_code(number=order.number, secret=order.pickup_secret)
        return order_hand_over(order=order, actor=counter, code=code)
    if step == "redeem":
        code = pickup_code(number=order.number, secret=order.pickup_secret)
        # The locker client is bound to both locker banks (inventory demo): it says which one scanned.
        return order_pickup_redeem(code=code, location_code=spec.pickup, actor=context.actor(Channel.LOCKER))
    if step == "cancel":
        by = counter if spec.channel == Channel.STORE else actor
        return order_cancel(order=order, actor=by, reason=spec.note)
    if step == "confirm_refunds":
        for refund in order.refunds.filter(status=RefundStatus.PENDING, client__isnull=False).order_by("pk"):
            refund_confirm(
                order=order,
                refund_id=refund.pk,
                actor=actor,
                status=RefundStatus.SUCCEEDED,
                amount=refund.amount,
                provider_reference=f"{spec.key}-refund-{refund.pk}",
            )
        return Order.objects.get(pk=order.pk)
    if step == "expire":
        # The demo cannot wait for the payment deadline: it is moved to the past, as if the time had
        # gone by, and the expiry service does what the sweeper would do then.
        Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now() - timedelta(minutes=1))
        order_expire(order_id=order.pk)
        return Order.objects.get(pk=order.pk)
    if step == "hold_ending":
        # The demo cannot wait days either: the hold is moved to end in a few hours, and the
        # reminder the holds sweeper would send then is sent (orders.services.holds).
        ends = timezone.now() + settings.ORDER_HOLD_REMINDER_BEFORE / 4
        Order.objects.filter(pk=order.pk).update(hold_ends_at=ends)
        order_hold_remind(order_id=order.pk)
        return Order.objects.get(pk=order.pk)
    raise ValueError(f"Unknown demo step {step}")


def _order_load(spec: OrderSpec, index: int, context: Context) -> Order:
    customer = _customer(spec.customer, index)
    email, phone = _contact(customer)
    address = _address(customer)
    pickup = context.locations.get(spec.pickup) if spec.pickup else None
    lines = [context.picker.pick(where=spec.stock, pickup=spec.pickup) for _n in range(spec.lines)]
    lines += [context.picker.pick(where="second_warehouse", pickup="") for _n in range(spec.second_warehouse_lines)]
    request = OrderRequest(
        customer=customer,
        lines=[LineRequest(sku=variant.sku, quantity=1) for variant in lines],
        fulfilment_type=spec.fulfilment,
        pickup_location=pickup,
        shipping=address if spec.fulfilment == SHIP else None,
        payment_mode=spec.payment_mode,
        email=email,
        phone=phone,
        name=customer.name,
        language=customer.preferred_language,
        billing_tax_id=customer.tax_id if spec.full_invoice else "",
        billing=address if spec.full_invoice else None,
        delivery_method=spec.delivery_method,
    )
    actor = context.actor(spec.channel)
    placement = order_place(
        actor=actor,
        idempotency_key=spec.key,
        fingerprint=idempotency_fingerprint({"demo": spec.key}),
        request=request,
    )
    order = placement.order
    if not placement.created:
        return order
    for step in spec.steps:
        order = _step(order, step, spec, context, actor)
    return order


def _orders_load(clients: dict[str, ChannelClient]) -> None:
    if Order.objects.filter(idempotency_key=MARKER_KEY).exists():
        return
    usernames = (STORE_EMPLOYEE, WAREHOUSE_EMPLOYEE, MANAGER)
    users = {user.username: user for user in get_user_model().objects.filter(username__in=usernames)}
    context = Context(
        clients=clients,
        locations={location.code: location for location in Location.objects.all()},
        picker=VariantPicker(random.Random(SEED)),
        employee=users.get(STORE_EMPLOYEE),
        warehouse_employee=users.get(WAREHOUSE_EMPLOYEE),
        manager=users.get(MANAGER),
    )
    # The customer who spends store credit on an order was granted it first.
    index, spec = next((n, spec) for n, spec in enumerate(ORDERS) if PaymentMethod.STORE_CREDIT in spec.pay)
    goodwill_customer = _customer(spec.customer, index)
    if not StoreCreditEntry.objects.filter(reference=GOODWILL[0]).exists():
        store_credit_grant(
            customer=goodwill_customer,
            amount=GOODWILL[1],
            reference=GOODWILL[0],
            reason=GOODWILL[2],
            channel=Channel.CALL_CENTER,
        )
    for index, spec in enumerate(ORDERS):
        _order_load(spec, index, context)


# Delivery: the zones of Spain the shop ships to (the Canary Islands, Ceuta and Melilla are outside
# the VAT area and have no zone: orders to them are refused with `delivery_zone_unknown`).
DELIVERY_ZONES = (
    ("peninsula", "Península", (("ES", ""),)),
    ("baleares", "Islas Baleares", (("ES", "07"),)),
)
# (code, name, kind, default, position, rates: (zone, up to grams or None, price, free from or None))
DELIVERY_METHODS: tuple[tuple[str, str, str, bool, int, tuple[tuple[str, int | None, str, str | None], ...]], ...] = (
    (
        "estandar",
        "Envío estándar (48-72 h)",
        DeliveryKind.SHIP,
        True,
        1,
        (
            ("peninsula", 2000, "3.95", "50.00"),
            ("peninsula", 5000, "5.95", "50.00"),
            ("peninsula", 20000, "9.95", "150.00"),
            ("peninsula", None, "19.95", None),
            ("baleares", 2000, "7.95", "100.00"),
            ("baleares", 5000, "9.95", "100.00"),
            ("baleares", 20000, "14.95", None),
            ("baleares", None, "29.95", None),
        ),
    ),
    (
        "urgente",
        "Envío urgente (24 h)",
        DeliveryKind.SHIP,
        False,
        2,
        (("peninsula", 5000, "8.95", None), ("peninsula", 20000, "14.95", None), ("baleares", 5000, "14.95", None)),
    ),
    ("tienda", "Recogida en tienda", DeliveryKind.PICKUP, True, 1, ()),
    ("taquilla", "Recogida en taquilla", DeliveryKind.LOCKER, True, 1, ()),
)
DELIVERY_TAX_CODE = "general"  # the catalog demo's general VAT


def _delivery_load() -> int:
    """The demo's delivery price list (orders.services.delivery); existing codes are left as they are."""
    created = 0
    zones = {}
    for code, name, areas in DELIVERY_ZONES:
        zone, new = DeliveryZone.objects.get_or_create(code=code, defaults={"name": name})
        zones[code] = zone
        created += new
        if new:
            for country, prefix in areas:
                DeliveryZoneArea.objects.get_or_create(
                    country=country, postal_code_prefix=prefix, defaults={"zone": zone}
                )
    tax = TaxCategory.objects.filter(code=DELIVERY_TAX_CODE).first()
    if tax is None:  # the catalog demo was not loaded
        return created
    for code, name, kind, default, position, rates in DELIVERY_METHODS:
        if DeliveryMethod.objects.filter(code=code).exists():
            continue
        method = DeliveryMethod.objects.create(
            code=code,
            name=name,
            kind=kind,
            is_default=default and not DeliveryMethod.objects.filter(kind=kind, is_default=True).exists(),
            tax_category=tax,
            position=position,
        )
        created += 1
        DeliveryRate.objects.bulk_create(
            DeliveryRate(
                method=method,
                zone=zones[zone],
                max_weight_grams=grams,
                price=Decimal(price),
                free_over=Decimal(free) if free else None,
            )
            for zone, grams, price, free in rates
        )
    return created


# What load() reports, counted before and after: the services create the rows.
COUNTED = (
    (Order, gettext_noop("orders")),
    (Payment, gettext_noop("order payments")),
    (Refund, gettext_noop("refunds")),
    (OrderStatusChange, gettext_noop("order status changes")),
    (OrderNotification, gettext_noop("order notifications")),
    (StoreCreditEntry, gettext_noop("store credit entries")),
)


def _segment_load() -> int:
    name, description, rules = PURCHASE_SEGMENT
    _segment, created = Segment.objects.get_or_create(name=name, defaults={"description": description, "rules": rules})
    return int(created)


def load() -> dict[str, int]:
    """Load the demo orders; returns what was created, by label."""
    before = [model._default_manager.count() for model, _label in COUNTED]
    clients, clients_created = _clients_load()
    delivery_created = _delivery_load()
    _orders_load(clients)
    created = {
        _(label): model._default_manager.count() - count for (model, label), count in zip(COUNTED, before, strict=True)
    }
    return created | {
        _("order channel clients"): clients_created,
        _("delivery methods and zones"): delivery_created,
        _("purchase segments"): _segment_load(),
    }
