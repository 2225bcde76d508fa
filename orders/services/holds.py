"""Holds that end: the reminder before a ready pickup's hold ends, and what happens when it has.

When a hold starts and when its reminder is due is the rule in orders.holds. The holds sweeper
(`orders.tasks.orders_holds_sweep`, periodic) finds the reminders due and the holds ended
(selectors, bounded batches) and enqueues one task per order; each task calls one of these use
cases, which re-checks everything under the order's row lock, so a task run twice, or late, or
after the customer came, does nothing.

1. The reminder (`order_hold_remind`): the notification `hold_ending` through the customer's
   channel, as every order notification (a webhook to the integration that placed the order,
   else e-mail); once, since the order records when it was reminded and a notification exists
   once per kind.
2. The end (`order_hold_end`): a paid order still ready when its hold has ended is cancelled by
   the cancel path, reason "Not collected in time": its goods are released at the pickup point
   (back on sale there), its payments refunded by the refund policy (to the original payments)
   and its invoice credited. A locker sells nothing: its goods go back to the locations that
   supplied them, by one transfer from the locker per supplier (requested, reserved at the
   locker until the courier takes them; the supplier receives them in its inventory screens).
   An unpaid pay-at-pickup order is left to the expiry sweeper (`order_expire`, "Not paid in
   time"), which cancels it at the same moment.
3. A hold end that fails (a lock timeout, a supplier's transfer refused...) is retried by its task
   with backoff (`orders.tasks.order_hold_end`); the sweeper stamps each order it hands over
   (`orders_hold_ends_claim`, `Order.hold_end_attempted_at`) and hands it over again only after
   `orders.holds.HOLD_END_RETRY_AFTER`, after the holds never tried: none is enqueued every
   five minutes forever, and a failing one does not hold back the rest.
4. Until the task runs, the order is still ready: a customer who comes late is served. A
   hand-over or a locker redemption racing the end queue on the order's row: the first wins; the
   end then finds the order picked up and does nothing, the hand-over finds it cancelled (409).
"""

from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Variant
from config.transactions import use_case
from inventory.models import Location, LocationKind, Transfer
from inventory.services import transfer_request
from orders.holds import order_hold_ended, order_hold_reminder_due
from orders.models import NotificationKind, Order, OrderEvent
from orders.selectors import order_ids_hold_ended
from orders.services.cancelling import cancellation_apply
from orders.services.common import Actor, order_history_add, order_locked_by_id, order_system_actor
from orders.services.notifications import order_notification_due


@use_case
def order_hold_remind(*, order_id: int) -> bool:
    """Remind the customer that the hold ends soon; False when not due (or done, collected, cancelled)."""
    order = order_locked_by_id(order_id)
    now = timezone.now()
    if order is None or not order_hold_reminder_due(order, now=now):
        return False
    order.hold_reminded_at = now
    order.save(update_fields=["hold_reminded_at"])
    order_notification_due(order, kind=NotificationKind.HOLD_ENDING)
    order_history_add(order, event=OrderEvent.HOLD_REMINDED, actor=order_system_actor(order))
    return True


@use_case
def orders_hold_ends_claim(*, limit: int = 500) -> list[int]:
    """The holds ended that the sweeper hands to tasks now (`order_ids_hold_ended`), stamped as tried:
    a hold end that fails is not handed over again every sweep, and waits behind the others."""
    now = timezone.now()
    ids = order_ids_hold_ended(now=now, limit=limit)
    if ids:
        Order.objects.filter(pk__in=ids).update(hold_end_attempted_at=now)
    return ids


@use_case
def order_hold_end(*, order_id: int) -> bool:
    """End the hold of a paid order not collected in time; False when it is not (or no longer) due."""
    order = order_locked_by_id(order_id)
    if order is None or not order_hold_ended(order, now=timezone.now()):
        return False
    actor = order_system_actor(order)  # the sweeper, not the order's channel
    cancellation_apply(order, actor=actor, reason=_("Not collected in time"))
    _send_back_from_locker(order, actor=actor)
    return True


def _send_back_from_locker(order: Order, *, actor: Actor) -> list[Transfer]:
    """The units a locker just released go back to the locations that supplied them, one transfer each."""
    locker = order.pickup_location
    if locker is None or locker.kind != LocationKind.LOCKER:
        return []
    by_source: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    sources: dict[int, Location] = {}
    variants: dict[int, Variant] = {}
    lines = order.lines.filter(arrived_at__isnull=False).exclude(source=locker).select_related("source", "variant")
    for line in lines:
        by_source[line.source_id][line.variant_id] += line.quantity
        sources[line.source_id], variants[line.variant_id] = line.source, line.variant
    transfers = [
        # In the cancellation's transaction; the locker's rows are already held by the release.
        transfer_request.step(
            source=locker,
            destination=sources[source_id],
            lines=[(variants[variant_id], quantity) for variant_id, quantity in sorted(wanted.items())],
            reference=order.number,
        )
        for source_id, wanted in sorted(by_source.items())
    ]
    if transfers:
        note = ", ".join(f"T-{transfer.pk} → {transfer.destination.code}" for transfer in transfers)
        order_history_add(order, event=OrderEvent.SENT_BACK, actor=actor, note=note)
    return transfers
