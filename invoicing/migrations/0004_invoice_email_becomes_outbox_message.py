"""Each document's e-mail state moves from the invoice row to its own outbox message (kind
`invoice.email`, dedupe key: the invoice's id). Documents waiting to be rendered, or without
an address, get none: rendering writes it."""

from django.db import migrations
from django.utils import timezone

BATCH = 1000
# email_status → the outbox message's status.
STATUSES = {"pending": "pending", "sending": "pending", "sent": "sent", "failed": "dead"}


def email_state_to_outbox(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    now = timezone.now()
    invoices = (
        Invoice.objects.exclude(email_status="no_address")
        .exclude(email_status="pending", render_status__in=["pending", "failed"])
        .exclude(buyer_email="")
        .order_by("pk")
    )
    batch, created = [], []
    for invoice in invoices.iterator(chunk_size=BATCH):
        status = STATUSES[invoice.email_status]
        leased = invoice.email_status == "sending" and invoice.email_lease_until is not None
        batch.append(
            OutboxMessage(
                kind="invoice.email",
                event=invoice.kind,
                target=invoice.buyer_email,
                body={"invoice": invoice.pk, "number": invoice.number},
                dedupe_key=str(invoice.pk),
                language=invoice.language,
                status=status,
                attempts=invoice.email_attempts,
                next_attempt_at=invoice.email_lease_until if leased else now,
                leased_until=invoice.email_lease_until if leased else None,
                last_error=invoice.email_last_error,
                sent_at=(invoice.email_sent_at or invoice.rendered_at or invoice.issued_at)
                if status == "sent"
                else None,
            )
        )
        # The message was owed when the document was rendered (created_at is auto_now_add: set after).
        created.append(invoice.rendered_at or invoice.issued_at)
        if len(batch) >= BATCH:
            _create(OutboxMessage, batch, created)
            batch, created = [], []
    _create(OutboxMessage, batch, created)


def _create(OutboxMessage, batch, created):
    for message, created_at in zip(OutboxMessage.objects.bulk_create(batch), created, strict=True):
        OutboxMessage.objects.filter(pk=message.pk).update(created_at=created_at)


def outbox_to_email_state(apps, schema_editor):
    Invoice = apps.get_model("invoicing", "Invoice")
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    back = {"pending": "pending", "sent": "sent", "dead": "failed", "undeliverable": "failed"}
    messages = OutboxMessage.objects.filter(kind="invoice.email").order_by("pk")
    for message in messages.iterator(chunk_size=BATCH):
        leased = message.leased_until is not None and message.leased_until > timezone.now()
        Invoice.objects.filter(pk=int(message.dedupe_key)).update(
            email_status="sending" if message.status == "pending" and leased else back[message.status],
            email_attempts=min(message.attempts, 32767),
            email_last_error=message.last_error,
            email_sent_at=message.sent_at,
            email_lease_until=message.leased_until,
        )
    Invoice.objects.filter(buyer_email="").update(email_status="no_address")
    messages.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0004_outbound_delivery_becomes_outbox_message"),
        ("invoicing", "0003_export_permission"),
    ]

    operations = [migrations.RunPython(email_state_to_outbox, outbox_to_email_state)]
