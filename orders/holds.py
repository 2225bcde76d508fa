"""How long a ready pickup is held for the customer, and when they are reminded: the rule, no writes.

- A paid order is held from the moment it is ready for its pickup point's hold
  (`ORDER_HOLD_PERIODS`, by location kind: 10 days in a store, 72 hours in a locker by default).
- An unpaid pay-at-pickup order is held until its payment deadline (`payment_due_by`, the date its
  ready message gives): one date, whichever sweeper reaches it (the expiry sweeper cancels it
  unpaid; paid at the till meanwhile, the holds sweeper ends its hold at the same moment).
- The customer is reminded `ORDER_HOLD_REMINDER_BEFORE` before the end, once. A hold shorter than
  that needs no second message: the ready message gives the date, so it counts as the reminder.

What the holds do with these dates (the reminder, the end) is orders.services.holds.
"""

from datetime import datetime, timedelta

from django.conf import settings

from orders.models import Order, OrderStatus, PaymentMode

# A hold end handed to its task and still due is handed over again only after this: its task
# retries with backoff meanwhile (orders.tasks.order_hold_end), and the others go first.
HOLD_END_RETRY_AFTER = timedelta(hours=1)


def hold_period(kind: str) -> timedelta:
    """How long a pickup point of this location kind holds a paid order (settings, checked at start-up)."""
    periods: dict[str, timedelta] = settings.ORDER_HOLD_PERIODS
    return periods[kind]


def hold_reminder_due_at(hold_ends_at: datetime) -> datetime:
    """When the customer is reminded of a hold ending then."""
    before: timedelta = settings.ORDER_HOLD_REMINDER_BEFORE
    return hold_ends_at - before


def order_hold_start(order: Order, *, now: datetime) -> list[str]:
    """Set when the order just made ready is held until (and reminded, if the ready message is the reminder).

    Returns the fields set, for the caller's save.
    """
    if order.payment_mode == PaymentMode.AT_PICKUP and not order.is_paid and order.payment_due_by is not None:
        order.hold_ends_at = order.payment_due_by
    else:
        order.hold_ends_at = now + hold_period(order.pickup_location.kind)  # type: ignore[union-attr]
    if hold_reminder_due_at(order.hold_ends_at) <= now:
        order.hold_reminded_at = now
        return ["hold_ends_at", "hold_reminded_at"]
    return ["hold_ends_at"]


def order_hold_reminder_due(order: Order, *, now: datetime) -> bool:
    """Ready, not reminded yet, and inside the reminder's window before the end (not past it)."""
    return (
        order.status == OrderStatus.READY
        and order.hold_reminded_at is None
        and order.hold_ends_at is not None
        and hold_reminder_due_at(order.hold_ends_at) <= now < order.hold_ends_at
    )


def order_hold_reminder_current(order: Order, *, now: datetime) -> bool:
    """What the reminder says is still true: ready, and its hold not ended (checked when it is sent)."""
    return order.status == OrderStatus.READY and order.hold_ends_at is not None and now < order.hold_ends_at


def order_hold_ended(order: Order, *, now: datetime) -> bool:
    """A paid order still ready (not collected) whose hold has ended: the holds end it."""
    return (
        order.status == OrderStatus.READY
        and order.is_paid
        and order.hold_ends_at is not None
        and order.hold_ends_at <= now
    )


def order_hold_ending_soon(order: Order, *, now: datetime) -> bool:
    """Ready and inside the reminder's window, or past the end and not yet ended: what the counter flags."""
    return (
        order.status == OrderStatus.READY
        and order.hold_ends_at is not None
        and hold_reminder_due_at(order.hold_ends_at) <= now
    )
