"""Who may move an order on: the rules every service applies, whatever the door (API, admin, demo).

The API has already checked the operation itself (the credential's scope, or the staff member's
Django permission, config.api.access) and found the order among those the caller reaches (404
otherwise). These rules then say whether this caller may do this to this order; a refusal is a
`PermissionDenied` (403: the order is visible to the caller, so there is nothing to hide).

- Fulfilment at the pickup point (ready, goods received, hand-over) belongs to the staff of the
  pickup location, or to a device or till bound to it (`Location.channel_clients`): a web shop is
  no store, whatever its token may do elsewhere.
- A parcel is shipped by whoever works at, or is bound to, the location it leaves from; the whole
  order at once (`order_ship`) by whoever works, or is bound to, every location its lines come
  from. A delivery is reported by them too, or by the channel that placed the order (the carrier
  reports through the shop's integration).
- Cancelling belongs to the store responsible (its staff with `cancel_order`), to staff reaching
  every order with `cancel_order`, or to the channel responsible: the client that placed the
  order, or a till bound to its pickup location.
- A refund is confirmed by whoever gives the money back: the integration that reported the
  capture (`Refund.client`); for cash or a card at the till also a till bound to the order's
  pickup location, or staff who take the order's payments. Another credential is told the
  refund does not exist (404). Staff settle refunds by hand, or hand them over again, with
  `settle_refund`.
- Payments are recorded by the channel responsible too: a client for the orders it placed, or as
  the till of the pickup location where the customer pays. Reaching an order (a first party
  reaches every one) is not enough. Staff take payments at their pickup locations, for orders
  they placed, or everywhere when they reach every order.

Staff reaching every order (orders.selectors.staff_reaches_all_orders) work every location:
`staff_works_at` says so for them, whatever the locations asked about. An actor with neither client nor staff member is the platform
itself (the sweepers): no rule applies.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from config.models import ChannelClient
from inventory.selectors import location_ids_bound_to_client
from orders.exceptions import RefundNotFound
from orders.models import Order, Parcel, PaymentMethod, Refund
from orders.selectors import staff_works_at
from orders.services.common import Actor

CANCEL_PERMISSION = "orders.cancel_order"
SETTLE_REFUND_PERMISSION = "orders.settle_refund"
# Money given back at a till: the till confirms it.
TILL_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD_AT_TILL)


def client_bound_to(*, client: ChannelClient, location_ids: Iterable[int]) -> bool:
    """The device or till is bound to every one of these locations."""
    wanted = set(location_ids)
    return bool(wanted) and wanted <= location_ids_bound_to_client(client=client)


def _pickup_ids(order: Order) -> list[int]:
    return [order.pickup_location_id] if order.pickup_location_id is not None else []


def _source_ids(order: Order) -> set[int]:
    """Where the order's lines come from (one query)."""
    return set(order.lines.values_list("source_id", flat=True))


def _placed_by(order: Order, client: ChannelClient) -> bool:
    return order.client_id is not None and order.client_id == client.pk


def _client_responsible(order: Order, client: ChannelClient) -> bool:
    """The channel that placed the order, or a till bound to its pickup location."""
    return _placed_by(order, client) or client_bound_to(client=client, location_ids=_pickup_ids(order))


def order_check_fulfils_at_pickup(order: Order, *, actor: Actor) -> None:
    """Ready, goods received, hand-over: the pickup location's staff, or a device or till bound to it."""
    location_ids = _pickup_ids(order)
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
    sources = _source_ids(order)
    if user is not None and not staff_works_at(user=user, location_ids=sources):
        raise PermissionDenied(_("Only the location every line of this order comes from ships it."))
    if client is not None and not client_bound_to(client=client, location_ids=sources):
        raise PermissionDenied(_("This credential is not bound to every location this order's lines come from."))


def order_check_delivers(order: Order, *, actor: Actor) -> None:
    """The delivery is reported by the channel that placed the order, or by whoever ships from every source."""
    user, client = actor.staff_user, actor.client
    if user is not None and not staff_works_at(user=user, location_ids=_source_ids(order)):
        raise PermissionDenied(_("Only the location every line of this order comes from reports its delivery."))
    if client is not None and not (
        _placed_by(order, client) or client_bound_to(client=client, location_ids=_source_ids(order))
    ):
        raise PermissionDenied(
            _("Only the channel that placed the order, or one bound to every location it left from, reports it.")
        )


def parcel_check_ships(parcel: Parcel, *, actor: Actor) -> None:
    """Only whoever works at, or is bound to, the location a parcel leaves from ships it."""
    user, client = actor.staff_user, actor.client
    if user is not None and not staff_works_at(user=user, location_ids=[parcel.source_id]):
        raise PermissionDenied(_("Only the location this parcel leaves from ships it."))
    if client is not None and not client_bound_to(client=client, location_ids=[parcel.source_id]):
        raise PermissionDenied(_("This credential is not bound to the location this parcel leaves from."))


def parcel_check_delivers(parcel: Parcel, *, actor: Actor) -> None:
    """A parcel's delivery is reported by the channel that placed the order, or by whoever ships it."""
    user, client = actor.staff_user, actor.client
    if user is not None and not staff_works_at(user=user, location_ids=[parcel.source_id]):
        raise PermissionDenied(_("Only the location this parcel left from reports its delivery."))
    if client is not None and not (
        _placed_by(parcel.order, client) or client_bound_to(client=client, location_ids=[parcel.source_id])
    ):
        raise PermissionDenied(
            _("Only the channel that placed the order, or one bound to where the parcel left from, reports it.")
        )


def order_check_cancels(order: Order, *, actor: Actor) -> None:
    """The store responsible, staff reaching every order (both with `cancel_order`), or the channel responsible."""
    user = actor.staff_user
    if user is not None:
        if not user.has_perm(CANCEL_PERMISSION):
            raise PermissionDenied(_("You may not cancel orders."))
        if not staff_works_at(user=user, location_ids=_pickup_ids(order)):
            raise PermissionDenied(_("Only the store where the order is picked up, or customer service, cancels it."))
    client = actor.client
    if client is not None and not _client_responsible(order, client):
        raise PermissionDenied(
            _("Only the channel that placed the order, or the store where it is picked up, cancels it.")
        )


def order_check_takes_payment(order: Order, *, actor: Actor) -> None:
    """The channel that placed the order or the till where it is picked up; staff at the pickup location,
    for orders they placed, or anywhere if they reach every order."""
    user = actor.staff_user
    if user is not None:
        placed_it = order.placed_by_user_id is not None and order.placed_by_user_id == user.pk
        if not (placed_it or staff_works_at(user=user, location_ids=_pickup_ids(order))):
            raise PermissionDenied(_("Payments are taken at the order's pickup location."))
    client = actor.client
    if client is not None and not _client_responsible(order, client):
        raise PermissionDenied(
            _("Only the channel that placed the order, or the till where it is picked up, records its payments.")
        )


def refund_check_confirms(refund: Refund, *, actor: Actor) -> None:
    """The integration that gives the money back; for a till's money, the till or staff where the order pays."""
    order, client, user = refund.order, actor.client, actor.staff_user
    at_till = refund.method in TILL_METHODS
    if client is not None:
        gives_it_back = refund.client_id is not None and refund.client_id == client.pk
        if not (gives_it_back or (at_till and client_bound_to(client=client, location_ids=_pickup_ids(order)))):
            raise RefundNotFound(_("This order has no such refund."))
    if user is not None:
        if not at_till:
            raise PermissionDenied(
                _("The channel's integration confirms this refund; settle it by hand in the admin if it cannot.")
            )
        order_check_takes_payment(order, actor=actor)


def refund_check_settles(refund: Refund, *, actor: Actor) -> None:
    """Staff with `settle_refund` (the admin scopes them to the orders they see whole)."""
    user = actor.staff_user
    if user is not None and not user.has_perm(SETTLE_REFUND_PERMISSION):
        raise PermissionDenied(_("You may not settle refunds."))
