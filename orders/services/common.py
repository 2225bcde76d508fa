"""What every order service shares: who acts, the locked order row, the history and the timeline."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from config.channels import Channel
from config.models import ChannelClient
from customers.models import EventKind
from customers.services.events import customer_event_record
from orders.models import Order, OrderEvent, OrderStatus, OrderStatusChange


@dataclass(frozen=True)
class Actor:
    """Who asks: a channel client (its credential gives the channel) or a staff member (the store).

    `system`: nobody asked, a sweeper acts on its own (an expiry, a hold's end or its reminder;
    `order_system_actor`). What it moves goes to the order's channel (stock, refunds, the
    customer's timeline), but the order's history records no channel, client nor staff: the
    timeline says the system did it, not the customer's channel.
    """

    channel: str
    client: ChannelClient | None = None
    user: Any = None
    system: bool = False

    @property
    def staff_user(self) -> Any:
        return self.user if getattr(self.user, "pk", None) else None


def order_system_actor(order: Order) -> Actor:
    """The sweepers acting on an order on their own (see `Actor.system`)."""
    return Actor(channel=order.channel or Channel.WEB, system=True)


def _orders_locking() -> QuerySet[Order]:
    # The placing client comes along: its invoice and credit note are issued for it.
    return Order.objects.select_for_update(of=("self",)).select_related("customer", "pickup_location", "client")


def order_locked(order: Order) -> Order:
    """The order row locked for the rest of the transaction: two channels acting at once queue here."""
    return _orders_locking().get(pk=order.pk)


def order_locked_by_id(order_id: int) -> Order | None:
    """The order locked as `order_locked` does, or None when there is no such order (one query)."""
    return _orders_locking().filter(pk=order_id).first()


def order_require_status(order: Order, *allowed: OrderStatus) -> None:
    """Refuse a step that is not a status move unless the order is in one of `allowed`.

    A step that moves the status asks the model's table instead (`Order.status_move_check`);
    both refuse alike (`Order.status_refusal`).
    """
    if order.status not in allowed:
        raise order.status_refusal()


def order_history_add(order: Order, *, event: OrderEvent, actor: Actor, note: str = "") -> OrderStatusChange:
    return OrderStatusChange.objects.create(
        order=order,
        event=event,
        status=order.status,
        channel="" if actor.system else actor.channel,  # the system's own: no channel asked
        client=actor.client,
        user=actor.staff_user,
        note=note[:250],
    )


def order_timeline_add(order: Order, *, kind: EventKind, actor: Actor, **payload: Any) -> None:
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
