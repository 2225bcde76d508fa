"""What each staff role may do with fiscal documents (config.roles; applied by `manage.py roles_sync`).

Documents are never edited (corrections are credit notes), so "change" here means the
operational actions: re-send the e-mail, issue a credit note, exchange a ticket.
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
