from celery import shared_task


@shared_task(name="config.tasks.sessions_clear_expired")
def sessions_clear_expired() -> None:
    """Delete expired admin and console sessions; idempotent."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    Session.objects.filter(expire_date__lt=timezone.now()).delete()


@shared_task(name="config.tasks.delivery_send", acks_late=True)
def delivery_send(delivery_id: int) -> None:
    """POST one outbound delivery if it is still pending and due; safe to run twice."""
    from config.deliveries import delivery_send as send

    send(delivery_id=delivery_id)


@shared_task(name="config.tasks.deliveries_sweep")
def deliveries_sweep() -> int:
    """Re-enqueue every outbound delivery whose next attempt is due (periodic: CELERY_BEAT_SCHEDULE)."""
    from config.deliveries import deliveries_sweep as sweep

    return sweep()
