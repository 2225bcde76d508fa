from enum import StrEnum

from config.exceptions import ApplicationError, ConflictError, NotFoundError


class InvoiceErrorCode(StrEnum):
    """Every code invoicing raises (config.exceptions)."""

    # Input a document cannot be issued with
    INVALID_INVOICE = "invalid_invoice"
    INVALID_BUYER = "invalid_buyer"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_LINES = "invalid_lines"
    INVALID_PAID_AMOUNT = "invalid_paid_amount"
    NO_LINES = "no_lines"
    NO_SELLER = "no_seller"
    NO_EMAIL = "no_email"
    SIMPLIFIED_OVER_LIMIT = "simplified_over_limit"  # a ticket above the seller country's limit
    # Corrections and exchanges
    CREDIT_OF_CREDIT_NOTE = "credit_of_credit_note"
    CREDIT_EXCEEDS_REMAINING = "credit_exceeds_remaining"
    NOT_A_TICKET = "not_a_ticket"
    TICKET_CREDITED = "ticket_credited"
    TICKET_REPLACED = "ticket_replaced"
    TICKET_ALREADY_REPLACED = "ticket_already_replaced"
    DOCUMENT_ISSUED = "document_issued"
    # Documents and their files
    INVOICE_NOT_FOUND = "invoice_not_found"
    NOT_RENDERED = "not_rendered"
    INVALID_E_INVOICE = "invalid_e_invoice"


class InvoiceInputError(ApplicationError):
    """Lines, buyer or seller data a document cannot be issued with."""

    code = InvoiceErrorCode.INVALID_INVOICE


class InvoiceNotFound(NotFoundError):
    code = InvoiceErrorCode.INVOICE_NOT_FOUND


class IssuedDocumentImmutable(ConflictError):
    """An issued document was about to change: corrections are credit notes."""

    code = InvoiceErrorCode.DOCUMENT_ISSUED


class CreditExceedsRemaining(ConflictError):
    code = InvoiceErrorCode.CREDIT_EXCEEDS_REMAINING


class TicketAlreadyReplaced(ConflictError):
    code = InvoiceErrorCode.TICKET_ALREADY_REPLACED


class InvoiceFormatInvalid(ApplicationError):
    """The structured XML broke the schema or the EN 16931 rules; `extra["findings"]` lists them."""

    code = InvoiceErrorCode.INVALID_E_INVOICE
