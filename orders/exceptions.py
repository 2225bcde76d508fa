from typing import ClassVar

from config.exceptions import ApplicationError, ConflictError, NotFoundError


class OrderInputError(ApplicationError):
    """Lines, destination or payment data an order cannot be placed or paid with."""

    code = "invalid_order"


class OrderNotFound(NotFoundError):
    code = "order_not_found"


class IdempotencyKeyReused(ConflictError):
    """The same Idempotency-Key came with a different body."""

    code = "idempotency_key_reused"


class OrderStateError(ConflictError):
    """The order is not in a state that allows this (e.g. cancelling a shipped order)."""

    code = "order_state"


class OrderNotPaid(ConflictError):
    """Goods never leave, nor wait ready, before the order is paid and invoiced."""

    code = "order_not_paid"


class PaymentMethodNotAllowed(ApplicationError):
    code = "payment_method_not_allowed"
    status_code: ClassVar[int] = 403


class InsufficientStoreCredit(ConflictError):
    code = "insufficient_store_credit"


class InvalidPickupCode(ApplicationError):
    code = "invalid_pickup_code"


class PickupCodeUsed(ConflictError):
    code = "pickup_code_used"


class LocationNotBound(ApplicationError):
    """A device acted for a location it is not bound to (`Location.channel_clients`)."""

    code = "location_not_bound"
    status_code: ClassVar[int] = 403
