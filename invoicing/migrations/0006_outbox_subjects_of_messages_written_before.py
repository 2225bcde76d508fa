"""Messages written before the outbox named whose personal data they carry get their subject now.

config/migrations/0007 added `OutboxMessage.subject` blank (and `owed_after_erasure` false); an
erasure finds messages only by the subject (config/outbox/privacy.py). Invoicing fills it from
its own rows: an invoice's e-mail (its body names the invoice) and the ERP's copy of an invoice
(`invoice.issued`, its body names the invoice and its customer), which is also marked owed after
erasure as invoicing/delivery.py marks it now. The subject is customers' `customer_outbox_subject`,
written out here (a migration does not import the app's code).
"""

from collections import defaultdict

from django.db import migrations

ERP_EVENT = "invoice.issued"
CHUNK = 1000


def _invoice_id(body, field):
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def outbox_subjects_fill(apps, schema_editor):
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    Invoice = apps.get_model("invoicing", "Invoice")

    OutboxMessage.objects.filter(kind="webhook", event=ERP_EVENT, owed_after_erasure=False).update(
        owed_after_erasure=True
    )
    messages = OutboxMessage.objects.filter(subject="", kind="invoice.email") | OutboxMessage.objects.filter(
        subject="", kind="webhook", event=ERP_EVENT
    )
    batch = []
    for pk, kind, body in messages.values_list("pk", "kind", "body").order_by("pk").iterator(chunk_size=CHUNK):
        invoice_id = _invoice_id(body, "invoice" if kind == "invoice.email" else "id")
        if invoice_id is not None:
            batch.append((pk, invoice_id))
        if len(batch) >= CHUNK:
            _name(OutboxMessage, Invoice, batch)
            batch = []
    _name(OutboxMessage, Invoice, batch)


def _name(OutboxMessage, Invoice, batch):
    customers = dict(
        Invoice.objects.filter(pk__in={invoice_id for _pk, invoice_id in batch}, customer__isnull=False).values_list(
            "pk", "customer_id"
        )
    )
    by_customer = defaultdict(list)
    for pk, invoice_id in batch:
        if invoice_id in customers:
            by_customer[customers[invoice_id]].append(pk)
    for customer_id, pks in by_customer.items():
        OutboxMessage.objects.filter(pk__in=pks, subject="").update(subject=f"customer:{customer_id}")


class Migration(migrations.Migration):
    dependencies = [
        ("config", "0007_outbox_message_subject_redaction"),
        ("invoicing", "0005_invoice_drops_email_fields"),
    ]

    operations = [migrations.RunPython(outbox_subjects_fill, migrations.RunPython.noop)]
