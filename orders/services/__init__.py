"""Every write to orders goes through these services (see each module's docstring)."""

from orders.services.billing import BillingDetails
from orders.services.cancelling import order_cancel, order_expire
from orders.services.common import Actor
from orders.services.fulfilment import (
    order_hand_over,
    order_make_ready,
    order_pickup_redeem,
    order_transfers_receive,
)
from orders.services.holds import order_hold_end, order_hold_remind
from orders.services.parcel_cancelling import parcel_cancel
from orders.services.parcels import ParcelLineRequest, order_deliver, order_ship, parcel_deliver, parcel_ship
from orders.services.payments import order_payment_add
from orders.services.placing import (
    Address,
    LineRequest,
    OrderRequest,
    Placement,
    order_place,
)
from orders.services.refunds import (
    RefundLine,
    order_refund_all,
    order_refunds_hand_over,
    order_refunds_plan,
    order_refunds_record,
    refund_confirm,
    refund_retry,
    refund_settle,
)

__all__ = [
    "Actor",
    "Address",
    "BillingDetails",
    "LineRequest",
    "OrderRequest",
    "ParcelLineRequest",
    "Placement",
    "RefundLine",
    "order_cancel",
    "order_deliver",
    "order_expire",
    "order_hand_over",
    "order_hold_end",
    "order_hold_remind",
    "order_make_ready",
    "order_payment_add",
    "order_pickup_redeem",
    "order_place",
    "order_refund_all",
    "order_refunds_hand_over",
    "order_refunds_plan",
    "order_refunds_record",
    "order_ship",
    "order_transfers_receive",
    "parcel_cancel",
    "parcel_deliver",
    "parcel_ship",
    "refund_confirm",
    "refund_retry",
    "refund_settle",
]
