"""Messages to the customer at the right moment: placed, ready for pickup, shipped, delivered.

The order's transaction writes an `OrderNotification` row; a worker sends it after commit
through the customer's preferred channel: e-mail through Django's mail, any other channel
through the outbound webhook (`order.notification`) of that channel's integration. With no
way through the preferred channel, e-mail is the fallback. Each message sent goes on the
customer's timeline. These messages are transactional: they go whatever the marketing
consents say (consents govern marketing only).
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.channels import Channel
from config.deliveries import delivery_enqueue
from config.selectors import webhook_subscriptions_active
from customers.services.events import customer_event_record
from orders.codes import pickup_code, pickup_qr, pickup_short_code, tracking_url
from orders.models import NotificationKind, NotificationStatus, Order, OrderNotification
from orders.tasks import order_notification_send as order_notification_send_task

logger = logging.getLogger(__name__)

NOTIFICATION_EVENT = "order.notification"
# Longer than any SMTP exchange: after it, a send that never reported back is tried again.
LEASE = timedelta(minutes=10)
ERROR_MAX_CHARS = 2000


def order_notification_due(order: Order, *, kind: str) -> OrderNotification:
    """Record the message owed (in the caller's transaction); a worker sends it after commit."""
    notification = OrderNotification.objects.create(order=order, kind=kind)
    transaction.on_commit(partial(order_notification_send_task.delay, notification.pk))
    return notification


def _subject_and_body(notification: OrderNotification) -> tuple[str, str]:
    order = notification.order
    link = tracking_url(number=order.number)
    place = order.pickup_location.name if order.pickup_location_id else ""  # type: ignore[union-attr]
    texts = {
        NotificationKind.PLACED: (
            _("We have your order %(number)s"),
            _("Thank you. Your order %(number)s for %(total)s %(currency)s is placed. Follow it here: %(link)s"),
        ),
        NotificationKind.READY: (
            _("Your order %(number)s is ready for pickup"),
            _(
                "Your order %(number)s is waiting for you at %(place)s. Show the attached QR code, or say the "
                "code %(code)s. Follow it here: %(link)s"
            ),
        ),
        NotificationKind.SHIPPED: (
            _("Your order %(number)s is on its way"),
            _("Your order %(number)s left with %(carrier)s, tracking number %(tracking)s. Follow it here: %(link)s"),
        ),
        NotificationKind.DELIVERED: (
            _("Your order %(number)s was delivered"),
            _("Your order %(number)s was delivered. Thank you for shopping with us."),
        ),
    }
    subject, body = texts[NotificationKind(notification.kind)]
    values = {
        "number": order.number,
        "total": order.total,
        "currency": order.currency,
        "link": link,
        "place": place,
        "code": pickup_short_code(secret=order.pickup_secret) if order.pickup_secret else "",
        "carrier": order.carrier or "-",
        "tracking": order.tracking_number or "-",
    }
    return subject % values, body % values


def _claim(notification_id: int) -> bool:
    """Take the row for this attempt: a second worker (or a replayed task) finds it taken."""
    now = timezone.now()
    return bool(
        OrderNotification.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            pk=notification_id,
            status=NotificationStatus.PENDING,
        ).update(lease_until=now + LEASE)
    )


def _email(notification: OrderNotification, subject: str, body: str) -> None:
    order = notification.order
    message = EmailMessage(subject=subject, body=body, to=[order.email], from_email=settings.DEFAULT_FROM_EMAIL)
    if notification.kind == NotificationKind.READY and order.pickup_secret:
        code = pickup_code(number=order.number, secret=order.pickup_secret)
        message.attach(f"{order.number}-pickup.png", pickup_qr(code=code, kind="png"), "image/png")
    message.send()


def _webhook(notification: OrderNotification, channel: str, subject: str, body: str) -> bool:
    """Hand the message to the integration of `channel` (WhatsApp, social...). False if it has none."""
    subscriptions = [s for s in webhook_subscriptions_active(event=NOTIFICATION_EVENT) if s.client.channel == channel]
    if not subscriptions:
        return False
    order = notification.order
    recipient = [
        {"kind": kind, "value": value}
        for kind, value in order.customer.contact_points.values_list("kind", "normalised_value")
    ]
    payload = {
        "event": NOTIFICATION_EVENT,
        "kind": notification.kind,
        "order": order.number,
        "status": order.status,
        "customer": order.customer_id,
        "recipient": recipient,
        "language": order.language,
        "subject": subject,
        "text": body,
        "tracking_url": tracking_url(number=order.number),
    }
    with transaction.atomic():
        for subscription in subscriptions:
            delivery_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=NOTIFICATION_EVENT,
                body=payload,
                subscription=subscription,
            )
    return True


def order_notification_send(*, notification_id: int) -> None:
    """Send one notification through the customer's preferred channel; once, however often it runs."""
    if not _claim(notification_id):
        return
    notification = OrderNotification.objects.select_related("order__customer", "order__pickup_location").get(
        pk=notification_id
    )
    order = notification.order
    preferred = order.customer.preferred_contact_channel or Channel.EMAIL
    with translation.override(order.language or settings.LANGUAGE_CODE):
        subject, body = _subject_and_body(notification)
    used = ""
    try:
        if preferred != Channel.EMAIL and _webhook(notification, preferred, subject, body):
            used = preferred
        elif order.email:
            _email(notification, subject, body)
            used = Channel.EMAIL
    except Exception as error:
        logger.warning("Notification %s failed: %s", notification_id, error)
        attempts = notification.attempts + 1
        failed = attempts >= settings.ORDER_NOTIFICATION_MAX_ATTEMPTS
        OrderNotification.objects.filter(pk=notification_id).update(
            attempts=attempts,
            lease_until=None,
            last_error=str(error)[:ERROR_MAX_CHARS],
            status=NotificationStatus.FAILED if failed else NotificationStatus.PENDING,
        )
        return
    with transaction.atomic():
        OrderNotification.objects.filter(pk=notification_id).update(
            status=NotificationStatus.SENT if used else NotificationStatus.UNREACHABLE,
            channel=used,
            attempts=notification.attempts + 1,
            sent_at=timezone.now() if used else None,
            lease_until=None,
        )
        if used:
            customer_event_record(
                customer=order.customer,
                channel=used,
                kind="notification_sent",
                payload={"order": order.number, "notification": notification.kind, "subject": subject},
            )


def order_notification_ids_due(*, limit: int = 500) -> list[int]:
    """Pending notifications nobody holds (lost tasks, failed attempts) for the sweeper."""
    now = timezone.now()
    return list(
        OrderNotification.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            status=NotificationStatus.PENDING,
            created_at__lt=now - timedelta(seconds=30),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
