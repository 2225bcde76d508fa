from celery import shared_task


@shared_task(name="config.tasks.sessions_clear_expired")
def sessions_clear_expired() -> None:
    """Delete expired admin and console sessions; idempotent."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    Session.objects.filter(expire_date__lt=timezone.now()).delete()


@shared_task(name="config.tasks.outbox_send", acks_late=True)
def outbox_send(message_id: int) -> bool:
    """Send one outbox message if it is still pending and due; safe to run twice."""
    from config.outbox import outbox_send as send

    return send(message_id=message_id)


# Names of the tasks the outbox replaced, kept for one release: messages queued under them before
# the deploy still run (an unregistered name would be dropped). Remove in the release after.
@shared_task(name="config.tasks.delivery_send", acks_late=True)
def delivery_send(delivery_id: int) -> bool:
    """Former name of outbox_send (an outbound delivery kept its id as an outbox message)."""
    return outbox_send(delivery_id)


@shared_task(name="config.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    """Former name of outbox_sweep."""
    return outbox_sweep()


@shared_task(name="config.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Re-enqueue every outbox message whose next attempt is due (periodic: CELERY_BEAT_SCHEDULE).

    Then purge the personal data of messages settled longer ago than OUTBOX_RETENTION_DAYS.
    """
    from config.outbox import outbox_retention_purge
    from config.outbox import outbox_sweep as sweep

    enqueued = sweep()
    outbox_retention_purge()
    return enqueued


@shared_task(name="config.tasks.idempotent_requests_sweep")
def idempotent_requests_sweep() -> int:
    """Forget idempotency keys past their retention, a batch at a time (periodic: CELERY_BEAT_SCHEDULE)."""
    from config.idempotency import idempotent_requests_sweep as sweep

    total = 0
    while deleted := sweep():
        total += deleted
    return total
