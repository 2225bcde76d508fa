from django.db.models import QuerySet
from django.utils import timezone

from config.models import ChannelClient, DeliveryStatus, OutboundDelivery, WebhookSubscription, token_digest


def channel_client_get_by_token(*, token: str) -> ChannelClient | None:
    """The active client holding this token, or None."""
    return ChannelClient.objects.filter(token_digest=token_digest(token), is_active=True).first()


def delivery_ids_due(*, limit: int = 500) -> list[int]:
    """Ids of pending deliveries whose next attempt is due, oldest first (what the sweeper enqueues)."""
    return list(
        OutboundDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
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
