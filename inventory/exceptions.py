from config.exceptions import ApplicationError, ConflictError, NotFoundError


class OutOfStock(ConflictError):
    """Some lines cannot be served; `extra["lines"]` says which, with what is available."""

    code = "out_of_stock"


class StockRuleBroken(ApplicationError):
    code = "stock_rule"


class UnknownStockItem(NotFoundError):
    code = "unknown_item"


class TransferStateError(ConflictError):
    code = "transfer_state"
