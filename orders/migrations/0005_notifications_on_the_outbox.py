"""Order notifications are sent by the outbox: each one gets its outbox message (kind
`order.notification`), which takes over its attempts, lease and last error; the notification
keeps what it is owed for and how it went (status, channel, sent at)."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 1000
# The notification's status → its message's.
STATUSES = {"pending": "pending", "sent": "sent", "failed": "dead", "unreachable": "undeliverable"}


def notifications_to_outbox(apps, schema_editor):
    OrderNotification = apps.get_model("orders", "OrderNotification")
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    notifications = OrderNotification.objects.filter(message__isnull=True).select_related("order").order_by("pk")
    while True:
        batch = list(notifications[:BATCH])
        if not batch:
            break
        messages = OutboxMessage.objects.bulk_create(
            OutboxMessage(
                kind="order.notification",
                event=notification.kind,
                target=f"order:{notification.order.number}",
                body={"order": notification.order.number, "notification": notification.kind},
                language=notification.order.language,
                status=STATUSES[notification.status],
                attempts=notification.attempts,
                # A lease still running is a send in flight or the backoff after a failed attempt.
                next_attempt_at=notification.lease_until or notification.created_at,
                last_error=notification.last_error,
                sent_at=(notification.sent_at or notification.created_at) if notification.status == "sent" else None,
            )
            for notification in batch
        )
        for notification, message in zip(batch, messages, strict=True):
            OutboxMessage.objects.filter(pk=message.pk).update(created_at=notification.created_at)
            notification.message_id = message.pk
        OrderNotification.objects.bulk_update(batch, ["message"])


def outbox_to_notifications(apps, schema_editor):
    OrderNotification = apps.get_model("orders", "OrderNotification")
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    for notification in OrderNotification.objects.select_related("message").iterator(chunk_size=BATCH):
        message = notification.message
        OrderNotification.objects.filter(pk=notification.pk).update(
            attempts=min(message.attempts, 32767),
            lease_until=message.next_attempt_at if message.status == "pending" and message.attempts else None,
            last_error=message.last_error,
        )
    OrderNotification.objects.update(message=None)
    OutboxMessage.objects.filter(kind="order.notification").delete()


class Migration(migrations.Migration):
    # Each batch commits on its own: PostgreSQL alters no table (the column dropped when going
    # back) with row changes of the same transaction still to check. Running it again finishes it.
    atomic = False

    dependencies = [
        ("config", "0004_outbound_delivery_becomes_outbox_message"),
        ("orders", "0004_history_events_are_an_enum"),
    ]

    operations = [
        migrations.AddField(
            model_name="ordernotification",
            name="message",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="config.outboxmessage",
                verbose_name="outbox message",
            ),
        ),
        migrations.RunPython(notifications_to_outbox, outbox_to_notifications),
    ]
