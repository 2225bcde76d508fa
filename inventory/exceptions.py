from enum import StrEnum

from config.exceptions import ApplicationError, ConflictError, NotFoundError


class InventoryErrorCode(StrEnum):
    """Every code inventory raises (config.exceptions)."""

    OUT_OF_STOCK = "out_of_stock"
    STOCK_RULE = "stock_rule"
    COUNT_APPLIED = "count_applied"
    UNKNOWN_ITEM = "unknown_item"
    TRANSFER_STATE = "transfer_state"


class OutOfStock(ConflictError):
    """Some lines cannot be served; `extra["lines"]` says which, with what is available."""

    code = InventoryErrorCode.OUT_OF_STOCK


class StockRuleBroken(ApplicationError):
    code = InventoryErrorCode.STOCK_RULE


class UnknownStockItem(NotFoundError):
    code = InventoryErrorCode.UNKNOWN_ITEM


class TransferStateError(ConflictError):
    code = InventoryErrorCode.TRANSFER_STATE
