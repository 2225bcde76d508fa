"""Inventory in the admin: stock by location, adjustments with a reason, transfers, counts, history.

Every write goes through inventory.services with `user=request.user`, so the services' location
check applies; reads are scoped the same way: store staff see the rows of their own locations
only (selectors.location_list_for_user), managers see all. On-hand and reserved are never
edited in a form: they change through adjustments, receipts, transfers and counts, each
leaving a movement in the ledger.

One module a topic; importing this package registers them all (Django's admin autodiscovery).
"""

from inventory.admin import alerts, counts, locations, stock, transfers

__all__ = ["alerts", "counts", "locations", "stock", "transfers"]
