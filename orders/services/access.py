"""Who may move an order on: the rules every service applies, whatever the door (API, admin, demo).

The API has already checked the operation itself (the credential's scope, or the staff member's
Django permission, config.api.access) and found the order among those the caller reaches (404
otherwise). These rules then say whether this caller may do this to this order; a refusal is a
`PermissionDenied` (403: the order is visible to the caller, so there is nothing to hide).

- Fulfilment at the pickup point (ready, goods received, hand-over) belongs to the staff of the
  pickup location, or to a device or till bound to it (`Location.channel_clients`): a web shop is
  no store, whatever its token may do elsewhere.
- A parcel is shipped by whoever works, or is bound to, every location its lines come from.
- Cancelling belongs to the store responsible (its staff with `cancel_order`), to staff reaching
  every order with `cancel_order`, or to the channel responsible: the client that placed the
  order, or a till bound to its pickup location.
- Staff take payments at their pickup locations, for orders they placed, or everywhere when they
  reach every order.

Staff reaching every order (orders.selectors.staff_reaches_all_orders) work every location. An
actor with neither client nor staff member is the platform itself (the sweepers): no rule applies.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from config.models import ChannelClient
from inventory.selectors import location_ids_bound_to_client
from orders.models import Order
from orders.selectors import staff_reaches_all_orders, staff_works_at
from orders.services.common import Actor

CANCEL_PERMISSION = "orders.cancel_order"


def client_bound_to(*, client: ChannelClient, location_ids: Iterable[int]) -> bool:
    """The device or till is bound to every one of these locations."""
    wanted = set(location_ids)
    return bool(wanted) and wanted <= location_ids_bound_to_client(client=client)


def order_check_fulfils_at_pickup(order: Order, *, actor: Actor) -> None:
    """Ready, goods received, hand-over: the pickup location's staff, or a device or till bound to it."""
    location_ids = [order.pickup_location_id] if order.pickup_location_id is not None else []
    user = actor.staff_user
    if user is not None and not staff_works_at(user=user, location_ids=location_ids):
        raise PermissionDenied(_("You do not work at this order's pickup location."))
    if actor.client is not None and not client_bound_to(client=actor.client, location_ids=location_ids):
        raise PermissionDenied(_("This credential is not bound to the order's pickup location."))


def order_check_ships(order: Order, *, actor: Actor) -> None:
    """Only whoever works, or is bound to, every location the parcel's lines come from ships it."""
    user, client = actor.staff_user, actor.client
    if user is None and client is None:
        return
    if user is not None and staff_reaches_all_orders(user):
        return
    sources = set(order.lines.values_list("source_id", flat=True))
    if user is not None and not staff_works_at(user=user, location_ids=sources):
        raise PermissionDenied(_("Only the location every line of this order comes from ships it."))
    if client is not None and not client_bound_to(client=client, location_ids=sources):
        raise PermissionDenied(_("This credential is not bound to every location this order's lines come from."))


def order_check_cancels(order: Order, *, actor: Actor) -> None:
    """The store responsible, staff reaching every order (both with `cancel_order`), or the channel responsible."""
    user = actor.staff_user
    if user is not None:
        if not user.has_perm(CANCEL_PERMISSION):
            raise PermissionDenied(_("You may not cancel orders."))
        at_pickup = order.pickup_location_id is not None and staff_works_at(
            user=user, location_ids=[order.pickup_location_id]
        )
        if not (at_pickup or staff_reaches_all_orders(user)):
            raise PermissionDenied(_("Only the store where the order is picked up, or customer service, cancels it."))
    client = actor.client
    if client is not None:
        placed_it = order.client_id is not None and order.client_id == client.pk
        at_pickup = order.pickup_location_id is not None and client_bound_to(
            client=client, location_ids=[order.pickup_location_id]
        )
        if not (placed_it or at_pickup):
            raise PermissionDenied(
                _("Only the channel that placed the order, or the store where it is picked up, cancels it.")
            )


def order_check_takes_payment(order: Order, *, actor: Actor) -> None:
    """Staff take payments at the order's pickup location, for orders they placed, or anywhere if they reach all."""
    user = actor.staff_user
    if user is None:
        return
    if order.placed_by_user_id is not None and order.placed_by_user_id == user.pk:
        return
    location_ids = [order.pickup_location_id] if order.pickup_location_id is not None else []
    if staff_reaches_all_orders(user) or staff_works_at(user=user, location_ids=location_ids):
        return
    raise PermissionDenied(_("Payments are taken at the order's pickup location."))
