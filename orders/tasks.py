"""Thin Celery tasks: each takes an id, re-reads the row and calls a service (idempotent)."""

from functools import partial

from celery import shared_task
from django.db import transaction


@shared_task(name="orders.tasks.order_notification_send", acks_late=True)
def order_notification_send(notification_id: int) -> bool:
    """Former task of a notification, kept for one release so that those queued before the deploy
    still run: sends the notification's outbox message (the outbox's own task does it now)."""
    from config.outbox import outbox_send
    from orders.models import OrderNotification

    message_id = OrderNotification.objects.filter(pk=notification_id).values_list("message_id", flat=True).first()
    return outbox_send(message_id=message_id) if message_id is not None else False


@shared_task(name="orders.tasks.order_expire", acks_late=True)
def order_expire(order_id: int) -> bool:
    """Cancel one unpaid order past its payment deadline (nothing if it was paid meanwhile)."""
    from orders.services.cancelling import order_expire as expire

    return expire(order_id=order_id)


@shared_task(name="orders.tasks.orders_expire_sweep")
def orders_expire_sweep() -> int:
    """Find unpaid orders past their deadline and expire each (periodic: CELERY_BEAT_SCHEDULE)."""
    from orders.selectors import order_ids_payment_overdue

    ids = order_ids_payment_overdue()
    for order_id in ids:
        order_expire.delay(order_id)
    return len(ids)


@shared_task(name="orders.tasks.order_hold_remind", acks_late=True)
def order_hold_remind(order_id: int) -> bool:
    """Remind the customer of a ready order that its hold ends soon (nothing if not due, or done)."""
    from orders.services.holds import order_hold_remind as remind

    return remind(order_id=order_id)


@shared_task(
    name="orders.tasks.order_hold_end",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=60,  # 1, 2, 4, 8, 16 minutes (with jitter); then the sweeper, after HOLD_END_RETRY_AFTER
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=5,
)
def order_hold_end(order_id: int) -> bool:
    """End the hold of a paid order not collected in time (nothing if collected or not due meanwhile).

    A failure is retried with backoff, a few times; the sweeper hands it over again later."""
    from orders.services.holds import order_hold_end as end

    return end(order_id=order_id)


@shared_task(name="orders.tasks.orders_holds_sweep")
def orders_holds_sweep() -> int:
    """Find reminders due and holds ended, and enqueue one task per order (periodic: CELERY_BEAT_SCHEDULE)."""
    from orders.selectors import order_ids_hold_reminder_due
    from orders.services.holds import orders_hold_ends_claim

    reminders, ended = order_ids_hold_reminder_due(), orders_hold_ends_claim()
    for order_id in reminders:
        transaction.on_commit(partial(order_hold_remind.delay, order_id))
    for order_id in ended:
        transaction.on_commit(partial(order_hold_end.delay, order_id))
    return len(reminders) + len(ended)


@shared_task(name="orders.tasks.orders_sweep")
def orders_sweep() -> int:
    """Settle transfers received outside the orders screens (notifications are swept by the outbox)."""
    from orders.services.fulfilment import orders_transfers_settle_due

    return orders_transfers_settle_due()
