"""What every order service shares: who acts, the locked order row, the history and the timeline."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from config.models import ChannelClient
from customers.services.events import customer_event_record
from inventory.models import StockLevel
from orders.exceptions import OrderStateError
from orders.models import Order, OrderStatusChange


@dataclass(frozen=True)
class Actor:
    """Who asks: a channel client (its credential gives the channel) or a staff member (the store)."""

    channel: str
    client: ChannelClient | None = None
    user: Any = None

    @property
    def staff_user(self) -> Any:
        return self.user if getattr(self.user, "pk", None) else None


def order_locked(order: Order) -> Order:
    """The order row locked for the rest of the transaction: two channels acting at once queue here."""
    # The placing client comes along: its invoice and credit note are issued for it.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("customer", "pickup_location", "client")
        .get(pk=order.pk)
    )


def stock_rows_lock(keys: Iterable[tuple[int, int]]) -> None:
    """Lock the (location, variant) stock rows an order is about to change, in inventory's lock order.

    Each inventory call locks its own rows sorted, but an order that makes several calls (its own
    reservation, then one transfer per source; releases, then transfers called off; one receipt per
    transfer) would lock location by location in its own order: two orders crossing two locations
    would each hold what the other waits for. Taken here first in one sorted pass, the rows are
    already held when those calls ask. One query, whatever the number of lines.
    """
    by_location: dict[int, set[int]] = defaultdict(set)
    for location_id, variant_id in keys:
        by_location[location_id].add(variant_id)
    if not by_location:
        return
    q = Q(pk__in=[])
    for location_id, variant_ids in by_location.items():
        q |= Q(location_id=location_id, variant_id__in=sorted(variant_ids))
    list(
        StockLevel.objects.select_for_update()
        .filter(q)
        .order_by("location_id", "variant_id")
        .values_list("pk", flat=True)
    )


def order_require_status(order: Order, *allowed: str) -> None:
    if order.status not in allowed:
        raise OrderStateError(
            f"The order is {order.get_status_display()}.",
            extra={"status": order.status},
        )


def order_history_add(order: Order, *, event: str, actor: Actor, note: str = "") -> OrderStatusChange:
    return OrderStatusChange.objects.create(
        order=order,
        event=event,
        status=order.status,
        channel=actor.channel,
        client=actor.client,
        user=actor.staff_user,
        note=note[:250],
    )


def order_timeline_add(order: Order, *, kind: str, actor: Actor, **payload: Any) -> None:
    """The customer's timeline gets every order event, whatever channel caused it."""
    customer_event_record(
        customer=order.customer,
        channel=actor.channel,
        kind=kind,
        occurred_at=timezone.now(),
        location_code=order.pickup_location.code if order.pickup_location_id else "",  # type: ignore[union-attr]
        payload={"order": order.number, "status": order.status, **payload},
        client=actor.client,
    )
