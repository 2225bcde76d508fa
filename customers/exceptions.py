from enum import StrEnum

from config.exceptions import ApplicationError, ConflictError


class CustomerErrorCode(StrEnum):
    """Every code customers raises (config.exceptions)."""

    INSUFFICIENT_POINTS = "insufficient_points"
    INVALID_POINTS = "invalid_points"
    INVALID_ADJUSTMENT = "invalid_adjustment"
    CUSTOMER_ERASED = "customer_erased"
    MERGE_REFUSED = "merge_refused"
    CUSTOMER_MISSING = "customer_missing"
    CHANNEL_CLIENT_REQUIRED = "channel_client_required"
    INSUFFICIENT_STORE_CREDIT = "insufficient_store_credit"
    INVALID_AMOUNT = "invalid_amount"
    REVERSAL_EXCEEDS_EARNING = "reversal_exceeds_earning"


class InsufficientPoints(ConflictError):
    code = CustomerErrorCode.INSUFFICIENT_POINTS


class CustomerErased(ApplicationError):
    code = CustomerErrorCode.CUSTOMER_ERASED


class MergeRefused(ApplicationError):
    code = CustomerErrorCode.MERGE_REFUSED


class InsufficientStoreCredit(ConflictError):
    code = CustomerErrorCode.INSUFFICIENT_STORE_CREDIT


class InvalidStoreCreditAmount(ApplicationError):
    code = CustomerErrorCode.INVALID_AMOUNT


class ReversalExceedsEarning(ConflictError):
    """More loyalty points asked back than an earning has left."""

    code = CustomerErrorCode.REVERSAL_EXCEEDS_EARNING
