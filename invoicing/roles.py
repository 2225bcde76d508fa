"""What each staff role may do with fiscal documents (config.roles; applied by `manage.py roles_sync`).

Documents are never edited (corrections are credit notes): "change" lets staff issue a credit
note, "add" lets them exchange a ticket for a full invoice, and re-sending a document's e-mail
needs only "view" (an agent sends a customer a copy).
"""

from config.roles import Role

_READ = ("view_invoice", "view_invoiceline", "view_invoicetax", "view_invoicefile")
_BOOKS = (
    *_READ,
    "change_invoice",
    "add_invoice",
    "export_invoices",
    "view_seller",
    "view_invoiceseries",
    "view_billingrecord",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    # An agent sends a customer a copy of their invoice; the team lead also exchanges a ticket.
    Role.AGENT: _READ,
    Role.TEAM_LEAD: (*_READ, "add_invoice"),
    Role.ACCOUNTANT: _BOOKS,
    Role.MANAGER: (*_BOOKS, "add_seller", "change_seller", "add_invoiceseries", "change_invoiceseries"),
}
