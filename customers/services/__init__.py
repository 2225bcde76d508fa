"""Every write to customers. Topics live in their modules; import from here."""

from customers.services.consents import consent_record
from customers.services.events import EventResult, customer_event_record, customer_events_ingest
from customers.services.loyalty import (
    loyalty_account_expire,
    loyalty_account_get_or_create,
    loyalty_adjust,
    loyalty_adjust_by_staff,
    loyalty_earn,
    loyalty_earning_reverse,
    loyalty_points_for_amount,
    loyalty_points_value,
    loyalty_redeem,
    loyalty_reverse,
)
from customers.services.merge import customer_merge
from customers.services.privacy import customer_erase, customer_export
from customers.services.profile import customer_duplicates_find, customer_update
from customers.services.resolve import (
    Identity,
    Resolution,
    customer_resolve,
    duplicate_candidates_dismiss,
    duplicate_candidates_record,
    identities_parse,
    identity_parse,
)
from customers.services.store_credit import (
    store_credit_account_get_or_create,
    store_credit_accounts_merge,
    store_credit_balance,
    store_credit_grant,
    store_credit_grant_by_staff,
    store_credit_spend,
)

__all__ = [
    "EventResult",
    "Identity",
    "Resolution",
    "consent_record",
    "customer_duplicates_find",
    "customer_erase",
    "customer_event_record",
    "customer_events_ingest",
    "customer_export",
    "customer_merge",
    "customer_resolve",
    "customer_update",
    "duplicate_candidates_dismiss",
    "duplicate_candidates_record",
    "identities_parse",
    "identity_parse",
    "loyalty_account_expire",
    "loyalty_account_get_or_create",
    "loyalty_adjust",
    "loyalty_adjust_by_staff",
    "loyalty_earn",
    "loyalty_earning_reverse",
    "loyalty_points_for_amount",
    "loyalty_points_value",
    "loyalty_redeem",
    "loyalty_reverse",
    "store_credit_account_get_or_create",
    "store_credit_accounts_merge",
    "store_credit_balance",
    "store_credit_grant",
    "store_credit_grant_by_staff",
    "store_credit_spend",
]
