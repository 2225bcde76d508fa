"""What each staff role may do with orders (config.roles; applied by `manage.py roles_sync`).

Where they may do it is separate: store and warehouse staff work the orders of the locations
they are bound to; `view_all_orders` (customer service, accounts, managers) reaches every order.
The store-credit ledger is customers' (customers.roles).
"""

from config.roles import Role

# Delivery prices: everyone who serves customers or ships reads them; managers set them.
_DELIVERY_MODELS = ("deliverymethod", "deliveryzone", "deliveryzonearea", "deliveryrate")
_DELIVERY_READ = tuple(f"view_{model}" for model in _DELIVERY_MODELS)
_DELIVERY_MANAGE = tuple(f"{verb}_{model}" for verb in ("add", "change", "delete") for model in _DELIVERY_MODELS)

_COUNTER = (
    "view_order",
    "add_order",
    "change_order",  # ready, goods arrived, delivered
    "hand_over_order",
    "view_orderline",
    "view_payment",
    "add_payment",  # paying at the till
    "view_orderstatuschange",
    "view_ordernotification",
    *_DELIVERY_READ,
    "view_refund",
    "change_refund",  # confirming cash given back at the till
    "view_parcel",
    "change_parcel",  # ship and deliver the parcels leaving this store
    "view_parcelline",
)
_SERVICE = (
    "view_order",
    "add_order",
    "view_all_orders",
    "view_pickup_code",  # to send a customer the code again
    "cancel_order",
    "view_orderline",
    "view_payment",
    "view_orderstatuschange",
    "view_ordernotification",
    *_DELIVERY_READ,
    "view_refund",
    "view_parcel",
    "view_parcelline",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STORE_STAFF: _COUNTER,
    Role.STORE_MANAGER: (*_COUNTER, "cancel_order"),
    # The warehouse picks and ships what it supplies: no counter, no money.
    Role.WAREHOUSE: (
        "view_order",
        "change_order",
        "view_orderline",
        "view_parcel",
        "change_parcel",
        "view_parcelline",
        *_DELIVERY_READ,
    ),
    Role.AGENT: _SERVICE,
    Role.TEAM_LEAD: _SERVICE,
    Role.ACCOUNTANT: (
        "view_order",
        "view_all_orders",
        "view_orderline",
        "view_payment",
        "view_refund",
        "settle_refund",  # hand a refund over again, or settle it by hand with a reason
        *_DELIVERY_READ,
    ),
    # Money given back by hand is the accounts' and managers' only (not agents nor team leads).
    Role.MANAGER: (*_COUNTER, *_SERVICE, "view_orderstatuschange", "settle_refund", *_DELIVERY_MANAGE),
}
