"""The order demo: orders from every channel, of every fulfilment type, in every status; loadable twice."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F, Sum

from catalog.models import Variant
from config.channels import Channel
from customers.models import Segment, StoreCreditEntry
from customers.segments import segment_members
from inventory.models import StockLevel, Transfer
from invoicing.models import DocumentKind, Invoice
from orders import demo as orders_demo
from orders.models import (
    PAID_STATUSES,
    DeliveryKind,
    DeliveryMethod,
    DeliveryZone,
    FulfilmentType,
    NotificationKind,
    Order,
    OrderNotification,
    OrderStatus,
    OrderStatusChange,
    ParcelStatus,
    Payment,
    PaymentKind,
    PaymentMode,
    Refund,
)
from orders.selectors import pickups_today

pytestmark = pytest.mark.django_db

ORDER_CHANNELS = {
    Channel.WEB,
    Channel.APP,
    Channel.STORE,
    Channel.CALL_CENTER,
    Channel.SOCIAL,
    Channel.WHATSAPP,
    Channel.MARKETPLACE,
}


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Order,
            Payment,
            OrderStatusChange,
            OrderNotification,
            StoreCreditEntry,
            Invoice,
            Transfer,
            StockLevel,
        )
    } | {"on_hand": StockLevel.objects.aggregate(s=Sum("on_hand"))["s"]}


# The lower demos take seconds to load: one test loads everything and checks what the order demo is for.
def test_order_demo_covers_every_channel_fulfilment_and_status_and_loads_once() -> None:
    call_command("load_demo", stdout=StringIO())
    first = counts()

    out = StringIO()
    call_command("load_demo", stdout=out)
    again = orders_demo.load()

    # Idempotent: later runs create nothing and move no stock.
    assert counts() == first
    assert set(again.values()) == {0}, again
    assert "orders: 0" in out.getvalue()

    orders = Order.objects.filter(idempotency_key__startswith="demo-")
    assert orders.count() == len(orders_demo.ORDERS) == first["Order"]
    assert set(orders.values_list("status", flat=True)) == set(OrderStatus.values)
    assert set(orders.values_list("fulfilment_type", flat=True)) == set(FulfilmentType.values)
    assert set(orders.values_list("channel", flat=True)) == ORDER_CHANNELS
    assert orders.filter(client__isnull=True).count() == 0  # every channel placed through its own credential

    # The states the staff screens are about.
    assert orders.filter(status=OrderStatus.READY, payment_mode=PaymentMode.AT_PICKUP, paid_at__isnull=True).exists()
    assert orders.filter(status=OrderStatus.READY, paid_at__isnull=False).exists()
    # A paid pickup near its hold's end, its customer reminded (orders.services.holds).
    assert orders.filter(
        status=OrderStatus.READY, paid_at__isnull=False, hold_reminded_at__isnull=False, hold_ends_at__isnull=False
    ).exists()
    assert OrderNotification.objects.filter(order__in=orders, kind=NotificationKind.HOLD_ENDING).exists()
    assert orders.filter(status=OrderStatus.PLACED, paid_at__isnull=True).exists()
    cancelled = orders.filter(status=OrderStatus.CANCELLED)
    credited = cancelled.filter(credit_note__isnull=False)
    assert credited.exists()
    assert all(order.credit_note.kind == DocumentKind.CREDIT_NOTE for order in credited)  # type: ignore[union-attr]
    # Issue 17: a cancelled paid order owes its total back; a card's refund waits for the integration.
    for order in credited:
        assert sum(r.amount for r in order.refunds.exclude(status="failed")) == order.total
        assert order.refunded_amount == sum(r.amount for r in order.refunds.filter(status="succeeded"))
    refunds = Refund.objects.filter(order__in=orders)
    assert refunds.filter(status="pending", method="card").exists()  # staff see it in Refunds
    assert refunds.filter(status="succeeded", method="card").exists()  # confirmed by the web shop
    assert cancelled.filter(cancel_reason="Not paid in time", paid_at__isnull=True).exists()  # expired
    assert not orders.filter(status__in=PAID_STATUSES, invoice__isnull=True).exists()
    picked_up = OrderStatusChange.objects.filter(event="picked_up", order__in=orders)
    assert picked_up.filter(user__username="tienda.madrid").exists()  # handed over at the counter
    assert picked_up.filter(channel=Channel.LOCKER).exists()  # opened by the locker
    assert orders.filter(payments__method="cash", status=OrderStatus.PICKED_UP).exists()  # paid at the till
    assert Payment.objects.filter(kind=PaymentKind.REFUND, method="store_credit").exists()
    assert StoreCreditEntry.objects.filter(amount__lt=0).exists()
    assert StoreCreditEntry.objects.filter(amount__gt=0)
    purchase_segment = Segment.objects.get(name=orders_demo.PURCHASE_SEGMENT[0])
    assert segment_members(rules=purchase_segment.rules).exists()  # the purchase rules work on the demo

    # Delivery: the price list is there, shipped orders are charged by it and invoiced with it.
    assert set(DeliveryMethod.objects.values_list("kind", flat=True)) == set(DeliveryKind.values)
    assert DeliveryZone.objects.filter(code__in=("peninsula", "baleares")).count() == 2
    assert not Variant.objects.filter(weight_grams=0).exists()
    shipped = orders.filter(fulfilment_type=FulfilmentType.SHIP)
    assert not shipped.filter(delivery_method__isnull=True).exists()
    assert shipped.filter(delivery_charge__gt=0).exists()
    assert not orders.exclude(fulfilment_type=FulfilmentType.SHIP).filter(delivery_charge__gt=0).exists()
    express = orders.get(delivery_method__code="urgente")
    assert express.invoice is not None
    assert express.delivery_charge > 0
    assert express.invoice.lines.filter(description="Envío urgente (24 h)", unit_price=express.delivery_charge).exists()
    # An order left from two warehouses in two parcels, each with its own tracking number (issue 17).
    split = orders.get(idempotency_key="demo-parcels")
    parcels = list(split.parcels.select_related("source").order_by("position"))
    assert [parcel.source.code for parcel in parcels] == ["ALM-GETAFE", "ALM-ZONA-FRANCA"]
    assert [parcel.status for parcel in parcels] == [ParcelStatus.DELIVERED, ParcelStatus.SHIPPED]
    assert len({parcel.tracking_number for parcel in parcels}) == 2
    # One parcel left, the other was cancelled: its lines refunded, the order shipped with what left.
    partly = orders.get(idempotency_key="demo-parcel-cancelled")
    assert list(partly.parcels.order_by("position").values_list("status", flat=True)) == [
        ParcelStatus.SHIPPED,
        ParcelStatus.CANCELLED,
    ]
    assert partly.status == OrderStatus.SHIPPED
    assert partly.refunds.count() == 1
    assert split.status == OrderStatus.SHIPPED

    # Stock: every order's units are reserved, moved or sold through the ledger.
    levels = StockLevel.objects.annotate(
        ledger_on_hand=Sum("movements__on_hand_delta"), ledger_reserved=Sum("movements__reserved_delta")
    )
    assert not levels.exclude(on_hand=F("ledger_on_hand"), reserved=F("ledger_reserved")).exists()

    # The store employee has today's pickups at Madrid Gran Vía and may hand them over.
    employee = get_user_model().objects.get(username="tienda.madrid")
    assert employee.has_perm("orders.hand_over_order")
    assert employee.has_perm("orders.change_order")
    mine = pickups_today(user=employee)
    assert set(mine.values_list("pickup_location__code", flat=True)) == {"MAD-CENTRO"}
    assert mine.filter(status=OrderStatus.READY).count() >= 2
    assert mine.exclude(status=OrderStatus.READY).exists()
    assert get_user_model().objects.get(username="encargado").has_perm("orders.hand_over_order")
