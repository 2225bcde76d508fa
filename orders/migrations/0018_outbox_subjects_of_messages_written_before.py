"""Messages written before the outbox named whose personal data they carry get their subject now.

config/migrations/0007 added `OutboxMessage.subject` blank; an erasure finds messages only by it
(config/outbox/privacy.py). Orders fills it from its own rows: an order notification's message
through its OrderNotification, a webhook whose body names an order (a notification's copy to an
integration, a refund's hand-over) through that order. The subject is customers'
`customer_outbox_subject`, written out here (a migration does not import the app's code).
"""

from collections import defaultdict

from django.db import migrations

ORDER_WEBHOOK_EVENTS = ("order.notification", "order.refund")
CHUNK = 1000


def _subject(customer_id):
    return f"customer:{customer_id}"


def _name(OutboxMessage, by_customer):
    for customer_id, pks in by_customer.items():
        OutboxMessage.objects.filter(pk__in=pks, subject="").update(subject=_subject(customer_id))


def _order_number(body):
    order = body.get("order") if isinstance(body, dict) else None
    if isinstance(order, dict):
        order = order.get("number")
    return order if isinstance(order, str) and order else None


def outbox_subjects_fill(apps, schema_editor):
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    OrderNotification = apps.get_model("orders", "OrderNotification")
    Order = apps.get_model("orders", "Order")

    notified = defaultdict(list)
    rows = OrderNotification.objects.filter(message__subject="", message__kind="order.notification")
    for message_id, customer_id in rows.values_list("message_id", "order__customer_id").iterator(chunk_size=CHUNK):
        notified[customer_id].append(message_id)
    _name(OutboxMessage, notified)

    webhooks = OutboxMessage.objects.filter(kind="webhook", subject="", event__in=ORDER_WEBHOOK_EVENTS)
    batch = []
    for pk, body in webhooks.values_list("pk", "body").order_by("pk").iterator(chunk_size=CHUNK):
        if (number := _order_number(body)) is not None:
            batch.append((pk, number))
        if len(batch) >= CHUNK:
            _name_by_order(OutboxMessage, Order, batch)
            batch = []
    _name_by_order(OutboxMessage, Order, batch)


def _name_by_order(OutboxMessage, Order, batch):
    customers = dict(
        Order.objects.filter(number__in={number for _pk, number in batch}).values_list("number", "customer_id")
    )
    by_customer = defaultdict(list)
    for pk, number in batch:
        if number in customers:
            by_customer[customers[number]].append(pk)
    _name(OutboxMessage, by_customer)


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0007_outbox_message_subject_redaction"),
        ("orders", "0017_notification_not_needed"),
    ]

    operations = [migrations.RunPython(outbox_subjects_fill, migrations.RunPython.noop)]
