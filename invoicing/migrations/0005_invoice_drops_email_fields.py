"""The e-mail fields leave the immutable invoice row (migration 0004 carried them to the
outbox); on PostgreSQL the immutability trigger is written again with the operational
columns that remain."""

from django.db import migrations

OPERATIONAL_COLUMNS = ("customer_id", "render_status", "render_findings", "rendered_at", "erp_enqueued_at")
# As migration 0002 wrote them, for going back.
OPERATIONAL_COLUMNS_BEFORE = (
    "customer_id",
    "render_status",
    "render_findings",
    "rendered_at",
    "email_status",
    "email_attempts",
    "email_last_error",
    "email_sent_at",
    "email_lease_until",
    "erp_enqueued_at",
)


def _trigger(columns):
    return f"""
DROP TRIGGER IF EXISTS invoicing_invoice_immutable ON invoicing_invoice;
CREATE TRIGGER invoicing_invoice_immutable BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change({", ".join(f"'{c}'" for c in columns)});
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_trigger(OPERATIONAL_COLUMNS), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_trigger(OPERATIONAL_COLUMNS_BEFORE), params=None)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0004_invoice_email_becomes_outbox_message")]

    operations = [
        migrations.RemoveConstraint(model_name="invoice", name="invoice_email_status_valid"),
        migrations.RemoveIndex(model_name="invoice", name="invoice_email_due_idx"),
        migrations.RemoveField(model_name="invoice", name="email_attempts"),
        migrations.RemoveField(model_name="invoice", name="email_last_error"),
        migrations.RemoveField(model_name="invoice", name="email_lease_until"),
        migrations.RemoveField(model_name="invoice", name="email_sent_at"),
        migrations.RemoveField(model_name="invoice", name="email_status"),
        migrations.RunPython(forward, backward),
    ]
