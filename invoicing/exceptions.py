from config.exceptions import ApplicationError, ConflictError, NotFoundError


class InvoiceInputError(ApplicationError):
    """Lines, buyer or seller data a document cannot be issued with."""

    code = "invalid_invoice"


class InvoiceNotFound(NotFoundError):
    code = "invoice_not_found"


class IssuedDocumentImmutable(ConflictError):
    """An issued document was about to change: corrections are credit notes."""

    code = "document_issued"


class CreditExceedsRemaining(ConflictError):
    code = "credit_exceeds_remaining"


class TicketAlreadyReplaced(ConflictError):
    code = "ticket_already_replaced"


class InvoiceFormatInvalid(ApplicationError):
    """The structured XML broke the schema or the EN 16931 rules; `extra["findings"]` lists them."""

    code = "invalid_e_invoice"
