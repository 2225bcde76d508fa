from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from config.models import ChannelClient, OutboxMessage, OutboxStatus, WebhookSubscription, token_digest


def channel_client_get_by_token(*, token: str) -> ChannelClient | None:
    """The active client holding this token, or None."""
    return ChannelClient.objects.filter(token_digest=token_digest(token), is_active=True).first()


def outbox_message_ids_due(*, grace: timedelta, limit: int = 500) -> list[int]:
    """Ids of pending outbox messages whose next attempt is due, oldest first (what the sweeper enqueues).

    A message never tried and younger than `grace` is left to the task its commit enqueued.
    """
    now = timezone.now()
    return list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(attempts__gt=0) | Q(created_at__lt=now - grace))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_subscriptions_active(*, event: str) -> QuerySet[WebhookSubscription]:
    """Active subscriptions to an event whose client is active, with the client loaded."""
    return (
        WebhookSubscription.objects.filter(event=event, is_active=True, client__is_active=True)
        .select_related("client")
        .order_by("pk")
    )
