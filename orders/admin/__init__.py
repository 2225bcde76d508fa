"""Orders in the admin: the order book, read-only; every change goes through orders.services.

Staff act as the store (`Actor(channel="store", user=request.user)`), so the services' checks
apply (orders.services.access): a store employee works the orders of their own locations only,
ships only what their locations supply, and cancels only with `cancel_order`. Reads are scoped the
same way as in the API (selectors.order_list_for_staff): staff see whole the orders picked up at
their locations or placed by them, and in the picking view those their locations only supply (no
customer, contact, payment, history or notifications); staff reaching every order see all.
Nothing on an order is edited in a form: it moves on through the actions and the counter page
("Today's pickups", pickups_counter.py), each one a service call that either happens whole or
leaves the order as it was, with the reason shown.

One module a topic; importing this package registers them all (Django's admin autodiscovery).
"""

from orders.admin import delivery, notifications, parcels, payments, refunds
from orders.admin.orders import OrderAdmin

__all__ = ["OrderAdmin", "delivery", "notifications", "parcels", "payments", "refunds"]
