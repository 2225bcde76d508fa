from config.exceptions import ApplicationError, ConflictError


class InsufficientPoints(ConflictError):
    code = "insufficient_points"


class CustomerErased(ApplicationError):
    code = "customer_erased"


class MergeRefused(ApplicationError):
    code = "merge_refused"
