"""What each staff role may do with stock (config.roles; applied by `manage.py roles_sync`).

Store and warehouse staff work the stock of the locations they are bound to (`Location.staff`);
only managers see and change every location's.
"""

from config.roles import Role

_STORE_STAFF = (
    "view_location",
    "view_stocklevel",
    "change_stocklevel",
    "view_stockmovement",
    "view_transfer",
    "add_transfer",
    "change_transfer",
    "view_transferline",
    "view_cyclecount",
    "add_cyclecount",
    "change_cyclecount",
    "view_cyclecountline",
    "view_lowstockalert",
    "view_transferleadtime",
)
# Customer service answers "is it in stock, where?": it reads, it never moves stock.
_LOOK_UP = ("view_location", "view_stocklevel")
_ALL = (
    *_STORE_STAFF,
    "add_location",
    "change_location",
    "manage_all_locations",
    "add_transferleadtime",
    "change_transferleadtime",
    "delete_transferleadtime",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STORE_STAFF: _STORE_STAFF,
    Role.STORE_MANAGER: _STORE_STAFF,
    Role.WAREHOUSE: _STORE_STAFF,
    Role.AGENT: _LOOK_UP,
    Role.TEAM_LEAD: _LOOK_UP,
    Role.ACCOUNTANT: ("view_location",),
    Role.MANAGER: _ALL,
}
