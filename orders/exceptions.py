from enum import StrEnum
from typing import ClassVar

from config.exceptions import ApplicationError, ConflictError, NotFoundError


class OrderErrorCode(StrEnum):
    """Every code orders raises (config.exceptions)."""

    # Placing
    INVALID_ORDER = "invalid_order"
    INVALID_LINES = "invalid_lines"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    # Delivery (placing and quoting)
    DELIVERY_METHOD_UNKNOWN = "delivery_method_unknown"
    DELIVERY_ZONE_UNKNOWN = "delivery_zone_unknown"
    DELIVERY_UNAVAILABLE = "delivery_unavailable"
    # Paying
    INVALID_PAYMENT = "invalid_payment"
    PAYMENT_EXCEEDS_DUE = "payment_exceeds_due"
    DUPLICATE_CAPTURE = "duplicate_capture"
    PAYMENT_METHOD_NOT_ALLOWED = "payment_method_not_allowed"
    FULL_INVOICE_REQUIRED = "full_invoice_required"  # a ticket above the legal limit: send billing details
    # Refunding
    INVALID_REFUND = "invalid_refund"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    PARTIAL_POINTS_REFUND = "partial_points_refund"
    REFUND_NOT_FOUND = "refund_not_found"
    REFUND_AMOUNT_MISMATCH = "refund_amount_mismatch"
    REFUND_SETTLED = "refund_settled"
    REFUND_NOBODY_TO_HAND_OVER = "refund_nobody_to_hand_over"
    # The order's state and its fulfilment
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_STATE = "order_state"
    ORDER_NOT_PAID = "order_not_paid"
    WRONG_FULFILMENT = "wrong_fulfilment"
    GOODS_NOT_ARRIVED = "goods_not_arrived"
    TRANSFER_NOT_SHIPPED = "transfer_not_shipped"
    # Parcels
    PARCEL_NOT_FOUND = "parcel_not_found"
    PARCEL_STATE = "parcel_state"
    INVALID_PARCEL = "invalid_parcel"
    # Pickups
    INVALID_PICKUP_CODE = "invalid_pickup_code"
    PICKUP_CODE_USED = "pickup_code_used"
    LOCATION_REQUIRED = "location_required"
    LOCATION_NOT_BOUND = "location_not_bound"


class OrderInputError(ApplicationError):
    """Lines, destination or payment data an order cannot be placed or paid with."""

    code = OrderErrorCode.INVALID_ORDER


class OrderNotFound(NotFoundError):
    code = OrderErrorCode.ORDER_NOT_FOUND


class RefundNotFound(NotFoundError):
    """No such refund on this order, or not one this caller confirms: the same answer."""

    code = OrderErrorCode.REFUND_NOT_FOUND


class RefundSettled(ConflictError):
    """The refund already succeeded or failed: it does not change its outcome."""

    code = OrderErrorCode.REFUND_SETTLED


class OrderStateError(ConflictError):
    """The order is not in a state that allows this (e.g. cancelling a shipped order)."""

    code = OrderErrorCode.ORDER_STATE


class ParcelNotFound(NotFoundError):
    code = OrderErrorCode.PARCEL_NOT_FOUND


class ParcelStateError(ConflictError):
    """The parcel is not in a state that allows this (shipping it twice, delivering it before it left)."""

    code = OrderErrorCode.PARCEL_STATE


class ParcelInputError(ApplicationError):
    """A carrier, tracking number or lines a parcel cannot be shipped with."""

    code = OrderErrorCode.INVALID_PARCEL


class OrderNotPaid(ConflictError):
    """Goods never leave, nor wait ready, before the order is paid and invoiced."""

    code = OrderErrorCode.ORDER_NOT_PAID


class PaymentMethodNotAllowed(ApplicationError):
    code = OrderErrorCode.PAYMENT_METHOD_NOT_ALLOWED
    status_code: ClassVar[int] = 403


class InvalidPickupCode(ApplicationError):
    code = OrderErrorCode.INVALID_PICKUP_CODE


class PickupCodeUsed(ConflictError):
    code = OrderErrorCode.PICKUP_CODE_USED


class LocationNotBound(ApplicationError):
    """A device acted for a location it is not bound to (`Location.channel_clients`)."""

    code = OrderErrorCode.LOCATION_NOT_BOUND
    status_code: ClassVar[int] = 403
