"""What each staff role may do with customers (config.roles; applied by `manage.py roles_sync`).

Store and warehouse staff do not browse customer profiles: the counter works with the order
in hand. Customer service reads and serves profiles; its team lead also merges duplicates,
exports and erases (GDPR), keeps the segments, and grants store credit and adjusts points by
hand (with a reason, on the ledger and the timeline); agents and the counter do not.
The store-credit ledger is every customer's money: customer service, accounts and managers read
it, not the counter (a till spends a customer's credit through the order, never browses it).
"""

from config.roles import Role

_AGENT = (
    "view_customer",
    "add_customer",
    "change_customer",
    "view_contactpoint",
    "view_customerevent",
    "view_consent",
    "add_consent",
    "view_segment",
    "view_loyaltyaccount",
    "view_loyaltyentry",
    "view_storecreditentry",
)
_TEAM_LEAD = (
    *_AGENT,
    "delete_customer",  # erasure (GDPR): the profile is anonymised, never deleted
    "export_customer",
    "view_duplicatecandidate",
    "change_duplicatecandidate",
    "view_customermerge",
    "add_segment",
    "change_segment",
    "delete_segment",
    # By hand, with a reason, audited (store_credit_grant_by_staff, loyalty_adjust_by_staff).
    "grant_store_credit",
    "adjust_loyalty_points",
)
_ALL = (
    *_TEAM_LEAD,
    "add_contactpoint",
    "change_contactpoint",
    "delete_contactpoint",
    "view_contactpoint",
    "add_loyaltyaccount",
    "change_loyaltyaccount",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.AGENT: _AGENT,
    Role.TEAM_LEAD: _TEAM_LEAD,
    Role.MANAGER: _ALL,
    Role.ACCOUNTANT: ("view_storecreditentry",),
}
