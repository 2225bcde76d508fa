"""Parcels: a ship order leaves as one box or more from each location its lines come from.

1. A ship order's parcels are planned when it is paid (`order_parcels_plan`, in the payment's
   transaction): one pending parcel per source location holding every unit sourced there. An
   order paid before parcels existed is planned by the first service that needs its parcels.
2. A pending parcel is shipped (`parcel_ship`) by staff working at its source, or a credential
   bound to it, with a carrier and a tracking number. The request may name lines and quantities
   (the order line's position): only those go in this box, and what stays behind is a new pending
   parcel from the same source, the next box. The sale is committed in inventory for exactly the
   units in the box, from its source; the invoice exists first (the order is paid), as always.
3. The order is shipped when no unit is left to ship; the customer is told once, with every
   parcel's carrier and tracking number. `order_ship` ships everything left, one parcel per
   source, under one carrier and tracking number (what a single warehouse does).
4. Each parcel is delivered on its own (`parcel_deliver`): reported by its source's staff or a
   credential bound to it, or by the channel that placed the order. The order is delivered when
   every parcel is, and the customer is told once. `order_deliver` delivers every parcel shipped.
5. Every refusal changes nothing: a line the order does not have, a line of another parcel or
   source, more units than the parcel holds (400 `invalid_parcel`); a parcel shipped twice or
   delivered before it left (409 `parcel_state`); an unknown parcel (404 `parcel_not_found`).
   Every step locks the order first, so two staff shipping the same parcel at once ship it once.
6. An order with a parcel on its way is not cancelled (409); cancelling one whose parcels are all
   still pending (or cancelled) discards the plan with the reservations (`order_parcels_discard`).
   A parcel still pending is cancelled on its own (`parcel_cancel`, orders.services.parcel_cancelling).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from config.transactions import use_case
from customers.models import EventKind
from inventory.services import StockLine, stock_commit_sale
from orders.exceptions import OrderInputError, OrderStateError, ParcelInputError, ParcelNotFound
from orders.models import (
    FulfilmentType,
    NotificationKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Parcel,
    ParcelLine,
    ParcelStatus,
)
from orders.services.access import (
    order_check_delivers,
    order_check_ships,
    parcel_check_delivers,
    parcel_check_ships,
)
from orders.services.common import Actor, order_history_add, order_locked, order_timeline_add
from orders.services.fulfilment import fulfilment_require, invoiced_require
from orders.services.notifications import order_notification_due


@dataclass(frozen=True)
class ParcelLineRequest:
    """Units of one order line (by its position) to put in the parcel being shipped."""

    line: int
    quantity: int


# --- Planning


def order_parcels_plan(order: Order) -> list[Parcel]:
    """Put every unit of a ship order not yet in a parcel into its source's pending parcel.

    A source without a pending parcel gets a new one, numbered after the last. The caller holds
    the order's lock. Returns the parcels that got units (none when everything is planned).
    """
    if order.fulfilment_type != FulfilmentType.SHIP:
        return []
    # Each line with the units in its parcels already, pending or gone (one query).
    lines = order.lines.annotate(planned=Coalesce(Sum("parcel_lines__quantity"), 0)).order_by("position")
    left: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)  # by source, in line order
    for line in lines:
        missing = line.quantity - line.planned
        if missing > 0:
            left[line.source_id].append((line, missing))
    if not left:
        return []
    # A first plan (at payment) has nothing to add to: three queries in all.
    parcels = list(order.parcels.order_by("position")) if any(line.planned for line in lines) else []
    pending = {parcel.source_id: parcel for parcel in reversed(parcels) if parcel.status == ParcelStatus.PENDING}
    position = max((parcel.position for parcel in parcels), default=0)
    new = []
    for source_id in left:
        if source_id not in pending:
            position += 1
            pending[source_id] = Parcel(order=order, position=position, source_id=source_id)
            new.append(pending[source_id])
    Parcel.objects.bulk_create(new)
    grown_parcels = [pending[source] for source in left if pending[source] not in new]
    existing = {
        (row.parcel_id, row.order_line_id): row
        for row in (ParcelLine.objects.filter(parcel__in=grown_parcels) if grown_parcels else [])
    }
    added, grown = [], []
    for source_id, remaining in left.items():
        parcel = pending[source_id]
        for order_line, quantity in remaining:
            row = existing.get((parcel.pk, order_line.pk))
            if row is None:
                added.append(ParcelLine(parcel=parcel, order_line=order_line, quantity=quantity))
            else:
                row.quantity += quantity
                grown.append(row)
    ParcelLine.objects.bulk_create(added)
    ParcelLine.objects.bulk_update(grown, ["quantity"])
    return [pending[source] for source in left]


def order_parcels_discard(order: Order) -> None:
    """A cancelled order's pending parcels go with it; refused (409) once a parcel has left (cancel the
    parcels still pending instead, `parcel_cancel`). Parcels cancelled before stay, as the record of
    what they gave back. The order is locked."""
    if order.parcels.filter(status__in=(ParcelStatus.SHIPPED, ParcelStatus.DELIVERED)).exists():
        raise OrderStateError(
            _("Part of the order has left already: cancel the parcels still to ship instead."),
            extra={"status": order.status},
        )
    order.parcels.filter(status=ParcelStatus.PENDING).delete()


def order_units_cancelled(order: Order) -> dict[int, int]:
    """The units of each order line (by id) in cancelled parcels: their stock was released already."""
    rows = (
        ParcelLine.objects.filter(parcel__order=order, parcel__status=ParcelStatus.CANCELLED)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["order_line_id"]: row["units"] for row in rows}


# --- Shipping


def _carrier_and_tracking(carrier: str, tracking_number: str) -> tuple[str, str]:
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise OrderInputError(
            _("A shipment needs a carrier and a tracking number."),
            fields={
                name: [_("Required.")]
                for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
                if not value
            },
        )
    return carrier[:60], tracking_number[:100]


def _order_ready_to_ship(order: Order) -> None:
    """A paid and invoiced order with units still to send; refusals say what is missing."""
    if order.status == OrderStatus.PLACED:
        invoiced_require(order)  # an unpaid order is refused for what it lacks, not for its status
    order.status_move_check(OrderStatus.SHIPPED)
    invoiced_require(order)


def parcel_of(order: Order, position: int) -> Parcel:
    parcel = Parcel.objects.select_related("source").filter(order=order, position=position).first()
    if parcel is None:
        raise ParcelNotFound(_("The order has no parcel %(position)s.") % {"position": position})
    parcel.order = order  # the locked row, not another copy
    return parcel


def _lines_checked(
    order: Order, parcel: Parcel, rows: list[ParcelLine], lines: Sequence[ParcelLineRequest]
) -> dict[int, int]:
    """The units of each of the parcel's rows (by id) the request puts in the box; 400 for any line it cannot."""
    if not lines:
        raise ParcelInputError(
            _("Name the lines to put in the parcel, or none to ship it whole."),
            fields={"lines": [_("At least one line.")]},
        )
    by_position = {row.order_line.position: row for row in rows}
    order_lines = {line.position: line for line in order.lines.select_related("source")}
    errors: dict[str, list[str]] = {}
    units: dict[int, int] = {}
    for index, asked in enumerate(lines):
        field = f"lines[{index}]"
        row = by_position.get(asked.line)
        line = order_lines.get(asked.line)
        if line is None:
            errors[field] = [_("The order has no line %(line)s.") % {"line": asked.line}]
        elif row is None:
            errors[field] = [
                _("Line %(line)s is not in this parcel (it ships from %(source)s).")
                % {"line": asked.line, "source": line.source.code}
                if line.source_id != parcel.source_id
                else _("Line %(line)s is not in this parcel: it is in another one, or shipped.") % {"line": asked.line}
            ]
        elif row.pk in units:
            errors[field] = [_("Line %(line)s is named twice.") % {"line": asked.line}]
        elif asked.quantity <= 0 or asked.quantity > row.quantity:
            errors[field] = [
                _("From 1 to %(units)s units of line %(line)s are in this parcel.")
                % {"units": row.quantity, "line": asked.line}
            ]
        else:
            units[row.pk] = asked.quantity
    if errors:
        raise ParcelInputError(_("These lines cannot go in this parcel."), fields=errors)
    return units


def _ship(
    parcel: Parcel,
    *,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    lines: Sequence[ParcelLineRequest] | None = None,
) -> None:
    """The box leaves with what the request names (the whole parcel by default); the rest is the next box."""
    order = parcel.order
    parcel.status_move(ParcelStatus.SHIPPED)  # 409 for a parcel that left already: nothing changed
    rows = list(parcel.lines.select_related("order_line__variant"))
    units = {row.pk: row.quantity for row in rows} if lines is None else _lines_checked(order, parcel, rows, lines)
    dropped = [row.pk for row in rows if row.pk not in units]
    smaller = [row for row in rows if row.pk in units and units[row.pk] < row.quantity]
    for row in smaller:
        row.quantity = units[row.pk]
    stock_commit_sale(
        lines=[
            StockLine(location=parcel.source, variant=row.order_line.variant, quantity=units[row.pk])
            for row in rows
            if row.pk in units
        ],
        reference=order.number,
        channel=actor.channel,
    )
    if dropped:
        ParcelLine.objects.filter(pk__in=dropped).delete()
    if smaller:
        ParcelLine.objects.bulk_update(smaller, ["quantity"])
    parcel.carrier, parcel.tracking_number = carrier, tracking_number
    parcel.shipped_at = timezone.now()
    parcel.shipped_by_user, parcel.shipped_by_client = actor.staff_user, actor.client
    parcel.save(
        update_fields=["status", "carrier", "tracking_number", "shipped_at", "shipped_by_user", "shipped_by_client"]
    )
    order_history_add(
        order,
        event=OrderEvent.PARCEL_SHIPPED,
        actor=actor,
        note=f"{parcel.position}: {parcel.source.code} · {carrier} {tracking_number}",
    )


def _joined(values: list[str], limit: int) -> str:
    distinct = list(dict.fromkeys(value for value in values if value))
    return ", ".join(distinct)[:limit]


def order_shipped_when_all_left(order: Order, *, actor: Actor) -> None:
    """No unit left to ship: the order is shipped, the customer told once with every tracking number."""
    order_parcels_plan(order)  # what a partial shipment left behind is the next box
    parcels = list(order.parcels.order_by("position"))
    if any(parcel.status == ParcelStatus.PENDING for parcel in parcels):
        return
    order.status_move(OrderStatus.SHIPPED)
    order.shipped_at = timezone.now()
    # The order's own fields sum its parcels up, for who reads only the order.
    order.carrier = _joined([parcel.carrier for parcel in parcels], 60)
    order.tracking_number = _joined([parcel.tracking_number for parcel in parcels], 100)
    order.save(update_fields=["status", "shipped_at", "carrier", "tracking_number"])
    order_history_add(order, event=OrderEvent.SHIPPED, actor=actor, note=f"{order.carrier} {order.tracking_number}")
    order_timeline_add(order, kind=EventKind.ORDER_SHIPPED, actor=actor, carrier=order.carrier, parcels=len(parcels))
    order_notification_due(order, kind=NotificationKind.SHIPPED)


@use_case
def parcel_ship(
    *,
    order: Order,
    position: int,
    actor: Actor,
    carrier: str,
    tracking_number: str,
    lines: Sequence[ParcelLineRequest] | None = None,
) -> Parcel:
    """One parcel leaves its source with a carrier: whole, or the lines and units named (the rest waits)."""
    carrier, tracking_number = _carrier_and_tracking(carrier, tracking_number)
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP)
    order_parcels_plan(order)  # an order paid before parcels existed; refused below, the plan goes too
    parcel = parcel_of(order, position)
    parcel_check_ships(parcel, actor=actor)
    parcel.status_move_check(ParcelStatus.SHIPPED)  # a parcel that left says so, even if the order did too
    _order_ready_to_ship(order)
    _ship(parcel, actor=actor, carrier=carrier, tracking_number=tracking_number, lines=lines)
    order_shipped_when_all_left(order, actor=actor)
    return parcel


@use_case
def order_ship(*, order: Order, actor: Actor, carrier: str, tracking_number: str) -> Order:
    """Everything left to ship leaves at once: one parcel per source, under one carrier and tracking number."""
    carrier, tracking_number = _carrier_and_tracking(carrier, tracking_number)
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP)
    order_check_ships(order, actor=actor)
    _order_ready_to_ship(order)
    order_parcels_plan(order)
    for parcel in order.parcels.filter(status=ParcelStatus.PENDING).select_related("source").order_by("position"):
        parcel.order = order
        _ship(parcel, actor=actor, carrier=carrier, tracking_number=tracking_number)
    order_shipped_when_all_left(order, actor=actor)
    return order


# --- Delivery


def _deliver(parcel: Parcel, *, actor: Actor, now: datetime) -> None:
    parcel.status_move(ParcelStatus.DELIVERED)
    parcel.delivered_at = now
    parcel.save(update_fields=["status", "delivered_at"])
    order_history_add(parcel.order, event=OrderEvent.PARCEL_DELIVERED, actor=actor, note=str(parcel.position))


def order_delivered_mark(order: Order, *, actor: Actor) -> None:
    order.status_move(OrderStatus.DELIVERED)
    order.delivered_at = timezone.now()
    order.save(update_fields=["status", "delivered_at"])
    order_history_add(order, event=OrderEvent.DELIVERED, actor=actor)
    order_timeline_add(order, kind=EventKind.ORDER_DELIVERED, actor=actor)
    order_notification_due(order, kind=NotificationKind.DELIVERED)


@use_case
def parcel_deliver(*, order: Order, position: int, actor: Actor) -> Parcel:
    """The carrier handed one parcel over; the order is delivered with its last parcel."""
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP)
    parcel = parcel_of(order, position)
    parcel_check_delivers(parcel, actor=actor)
    _deliver(parcel, actor=actor, now=timezone.now())
    others = order.parcels.exclude(pk=parcel.pk).exclude(status__in=(ParcelStatus.DELIVERED, ParcelStatus.CANCELLED))
    if order.status == OrderStatus.SHIPPED and not others.exists():
        order_delivered_mark(order, actor=actor)
    return parcel


@use_case
def order_deliver(*, order: Order, actor: Actor) -> Order:
    """The carrier reports the whole order delivered: every parcel still on its way, and the order."""
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP)
    order_check_delivers(order, actor=actor)
    order.status_move_check(OrderStatus.DELIVERED)
    now = timezone.now()
    for parcel in order.parcels.filter(status=ParcelStatus.SHIPPED).order_by("position"):
        parcel.order = order
        _deliver(parcel, actor=actor, now=now)
    order_delivered_mark(order, actor=actor)
    return order
