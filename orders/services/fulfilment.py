"""Getting the goods to the customer: ship, pick up in store, ship to store, locker.

The rule the database also enforces: nothing is shipped, made ready or handed over before
the order is paid and invoiced. The one exception is a pay-at-pickup order, which may wait
ready on the shelf unpaid; it is paid and invoiced at the till and only then handed over.
The sale is committed in inventory when the goods leave (shipped or handed over).
Shipping, parcel by parcel, is orders/services/parcels.py.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from config.transactions import use_case
from customers.models import EventKind
from inventory.locks import stock_levels_lock, transfers_lock
from inventory.models import Location, TransferStatus
from inventory.selectors import location_list_bound_to_client
from inventory.services import StockLine, stock_commit_sale, stock_reserve, transfer_receive
from orders.codes import pickup_code_matches, pickup_code_parse
from orders.exceptions import (
    InvalidPickupCode,
    LocationNotBound,
    OrderErrorCode,
    OrderInputError,
    OrderNotFound,
    OrderNotPaid,
    OrderStateError,
    PickupCodeUsed,
)
from orders.holds import order_hold_start
from orders.models import FulfilmentType, NotificationKind, Order, OrderEvent, OrderLine, OrderStatus, PaymentMode
from orders.services.access import order_check_fulfils_at_pickup
from orders.services.common import (
    Actor,
    order_history_add,
    order_locked,
    order_locked_by_id,
    order_require_status,
    order_timeline_add,
)
from orders.services.notifications import order_notification_due

PICKUP_TYPES = (FulfilmentType.PICKUP, FulfilmentType.SHIP_TO_STORE, FulfilmentType.LOCKER)


def invoiced_require(order: Order) -> None:
    if order.invoice_id is None:
        raise OrderNotPaid(_("The order is not paid and invoiced yet."), extra={"amount_due": str(order.amount_due)})


def fulfilment_require(order: Order, *types: str) -> None:
    if order.fulfilment_type not in types:
        raise OrderStateError(
            _("This does not apply to a %(type)s order.") % {"type": order.get_fulfilment_type_display()},
            code=OrderErrorCode.WRONG_FULFILMENT,
        )


def order_stock_lines(order: Order) -> list[StockLine]:
    """Where each line's reserved units are now: its source, or the pickup point once transferred there."""
    return [
        StockLine(
            location=order.pickup_location if line.transfer_id else line.source,  # type: ignore[arg-type]
            variant=line.variant,
            quantity=line.quantity,
        )
        for line in order.lines.select_related("source", "variant")
    ]


def _lines_awaiting_transfer(order: Order) -> bool:
    return order.lines.filter(transfer__isnull=False, arrived_at__isnull=True).exists()


def _ready(order: Order, *, actor: Actor) -> None:
    order.status_move(OrderStatus.READY)
    order.ready_at = timezone.now()
    fields = ["status", "ready_at"]
    if order.payment_mode == PaymentMode.AT_PICKUP and not order.is_paid:
        # The customer has the promised days from today to come and pay.
        last_day = timezone.localdate() + timedelta(days=settings.ORDER_PAY_AT_PICKUP_DAYS)
        due = timezone.make_aware(datetime.combine(last_day, time.max))
        order.payment_due_by = max(due, order.payment_due_by or due)
        fields.append("payment_due_by")
    fields += order_hold_start(order, now=order.ready_at)  # held until then (orders.holds)
    order.save(update_fields=fields)
    order_history_add(order, event=OrderEvent.READY, actor=actor)
    order_timeline_add(order, kind=EventKind.ORDER_READY, actor=actor)
    order_notification_due(order, kind=NotificationKind.READY)


def _may_wait_ready(order: Order) -> bool:
    return order.invoice_id is not None or order.payment_mode == PaymentMode.AT_PICKUP


def order_ready_when_arrived(order: Order, *, actor: Actor) -> bool:
    """Paid after its transferred goods arrived: ready now (the payment's transaction, order row locked).

    Arrival makes a paid order ready by itself (`_settle`); this is the same rule when the payment
    comes last, so a locker order, with no staff to put it aside, is not left waiting forever.
    """
    if order.status != OrderStatus.PAID or order.fulfilment_type not in (
        FulfilmentType.SHIP_TO_STORE,
        FulfilmentType.LOCKER,
    ):
        return False
    if _lines_awaiting_transfer(order):
        return False
    _ready(order, actor=actor)
    return True


@use_case
def order_make_ready(*, order: Order, actor: Actor) -> Order:
    """Staff put a pickup order aside for the customer, who is then told."""
    order = order_locked(order)
    fulfilment_require(order, *PICKUP_TYPES)
    order_check_fulfils_at_pickup(order, actor=actor)
    order.status_move_check(OrderStatus.READY)
    if not _may_wait_ready(order):
        invoiced_require(order)
    if _lines_awaiting_transfer(order):
        raise OrderStateError(
            _("Some goods have not arrived at the pickup point yet."), code=OrderErrorCode.GOODS_NOT_ARRIVED
        )
    _ready(order, actor=actor)
    return order


def _hand_over(order: Order, *, actor: Actor, code: str) -> Order:
    # Before the status check: a used code leaves the order picked up, which would hide why.
    if order.pickup_code_used_at is not None:
        raise PickupCodeUsed(_("This pickup code was already used."))
    order.status_move_check(OrderStatus.PICKED_UP)
    invoiced_require(order)
    if not pickup_code_matches(code=code, number=order.number, secret=order.pickup_secret):
        raise InvalidPickupCode(_("The pickup code does not match this order."), fields={"code": [_("Wrong code.")]})
    stock_commit_sale(lines=order_stock_lines(order), reference=order.number, channel=actor.channel)
    now = timezone.now()
    order.status_move(OrderStatus.PICKED_UP)
    order.picked_up_at, order.pickup_code_used_at = now, now
    order.save(update_fields=["status", "picked_up_at", "pickup_code_used_at"])
    order_history_add(order, event=OrderEvent.PICKED_UP, actor=actor)
    order_timeline_add(order, kind=EventKind.ORDER_PICKED_UP, actor=actor)
    return order


@use_case
def order_hand_over(*, order: Order, actor: Actor, code: str) -> Order:
    """Staff at the pickup point check the customer's code and hand the goods over."""
    order = order_locked(order)
    fulfilment_require(order, *PICKUP_TYPES)
    order_check_fulfils_at_pickup(order, actor=actor)
    return _hand_over(order, actor=actor, code=code)


def redeeming_locker(*, actor: Actor, location_code: str | None) -> Location:
    """Where a locker redeems: one of the locations its credential is bound to, never one it names.

    Without a location, the only one it is bound to; a client bound to several must say which
    (400); a location it is not bound to, known or not, is refused alike (403 location_not_bound).
    Staff and the platform itself name the locker.
    """
    client = actor.client
    if client is None:
        location = Location.objects.filter(code=location_code or "").first()
        if location is None:
            raise OrderNotFound(_("No order for this code here."))
        return location
    bound = list(location_list_bound_to_client(client=client).order_by("code"))
    if not bound:
        raise LocationNotBound(_("This credential is bound to no locker."))
    if not location_code:
        if len(bound) > 1:
            raise OrderInputError(
                _("This credential serves several lockers: say which one scanned the code."),
                code=OrderErrorCode.LOCATION_REQUIRED,
                fields={"location": [_("One of: %(codes)s.") % {"codes": ", ".join(loc.code for loc in bound)}]},
            )
        return bound[0]
    for location in bound:
        if location.code == location_code:
            return location
    raise LocationNotBound(_("This credential is not bound to the locker %(code)s.") % {"code": location_code})


@use_case
def order_pickup_redeem(*, code: str, actor: Actor, location_code: str | None = None) -> Order:
    """A locker (or an automated silo) scans the QR code and opens the door: no staff involved.

    The locker is one its credential is bound to (`redeeming_locker`). A forged code, a code for
    another locker and an unknown order all answer the same 404.
    """
    locker = redeeming_locker(actor=actor, location_code=location_code)
    parsed = pickup_code_parse(code)
    order = Order.objects.filter(number=parsed[0]).first() if parsed else None
    if order is None:
        raise OrderNotFound(_("No order for this code here."))
    order = order_locked(order)
    if order.fulfilment_type != FulfilmentType.LOCKER or order.pickup_location_id != locker.pk:
        raise OrderNotFound(_("No order for this code here."))
    return _hand_over(order, actor=actor, code=code)


def _settle(order: Order, *, actor: Actor) -> int:
    """Reserve at the pickup point what its received transfers brought; ready when all is there."""
    arrived = list(
        order.lines.filter(transfer__status=TransferStatus.RECEIVED, arrived_at__isnull=True).select_related("variant")
    )
    if not arrived or order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
        return 0
    destination = order.pickup_location
    if destination is None:  # transfers only ever serve pickup points
        return 0
    stock_reserve(
        lines=[StockLine(location=destination, variant=line.variant, quantity=line.quantity) for line in arrived],
        reference=order.number,
        channel=actor.channel,
    )
    OrderLine.objects.filter(pk__in=[line.pk for line in arrived]).update(arrived_at=timezone.now())
    order_history_add(order, event=OrderEvent.TRANSFER_ARRIVED, actor=actor)
    if not _lines_awaiting_transfer(order) and _may_wait_ready(order):
        _ready(order, actor=actor)
    return len(arrived)


@use_case
def order_transfers_receive(*, order: Order, actor: Actor) -> Order:
    """The goods sent to the pickup point arrive: received into its stock, reserved for the order."""
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP_TO_STORE, FulfilmentType.LOCKER)
    order_check_fulfils_at_pickup(order, actor=actor)
    order_require_status(order, OrderStatus.PLACED, OrderStatus.PAID)
    # Locked as inventory locks them (a transfer, then its stock), in one order, statuses current.
    transfers = transfers_lock(ids=order.lines.filter(arrived_at__isnull=True).values("transfer_id"))
    waiting = [transfer for transfer in transfers if transfer.status == TransferStatus.REQUESTED]
    if waiting:
        raise OrderStateError(
            _("The goods have not left %(source)s yet.") % {"source": waiting[0].source},
            code=OrderErrorCode.TRANSFER_NOT_SHIPPED,
        )
    arriving = [transfer for transfer in transfers if transfer.status == TransferStatus.IN_TRANSIT]
    if arriving:  # one receipt per transfer, then the reservation: every row first, in one order
        stock_levels_lock(
            keys=[
                (order.pickup_location_id, variant_id)  # type: ignore[misc]
                for variant_id in order.lines.filter(transfer__in=arriving).values_list("variant_id", flat=True)
            ],
            create=True,  # the receipts would create them: taken now, in the same order as the rest
        )
    for transfer in arriving:
        transfer_receive.step(transfer=transfer, user=actor.staff_user)
    _settle(order, actor=actor)
    return order


def orders_transfers_settle_due() -> int:
    """Orders whose transfers staff received in the inventory screens: reserve and make ready (sweeper)."""
    ids = (
        OrderLine.objects.filter(
            transfer__status=TransferStatus.RECEIVED,
            arrived_at__isnull=True,
            order__status__in=(OrderStatus.PLACED, OrderStatus.PAID),
        )
        .values_list("order_id", flat=True)
        .distinct()
    )
    return sum(order_transfers_settle(order_id=order_id) for order_id in list(ids)[:200])


@use_case
def order_transfers_settle(*, order_id: int) -> int:
    """One order's received transfers: reserve at the pickup point and make ready; how many lines arrived."""
    order = order_locked_by_id(order_id)
    return 0 if order is None else _settle(order, actor=Actor(channel=order.channel))
