"""On PostgreSQL, the database itself refuses edits to issued documents (belt and braces:
the models refuse them too). Only the operational columns of an invoice may change."""

from django.db import migrations

OPERATIONAL_COLUMNS = (
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

FORWARD = f"""
CREATE FUNCTION invoicing_refuse_document_change() RETURNS trigger AS $$
DECLARE
    allowed text[] := coalesce(TG_ARGV, '{{}}');
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'issued fiscal documents cannot be deleted (%)', TG_TABLE_NAME
            USING ERRCODE = '23000';
    END IF;
    IF (to_jsonb(OLD) - allowed) IS DISTINCT FROM (to_jsonb(NEW) - allowed) THEN
        RAISE EXCEPTION 'issued fiscal documents cannot be changed (%): issue a credit note', TG_TABLE_NAME
            USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_invoice_immutable BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change({", ".join(f"'{c}'" for c in OPERATIONAL_COLUMNS)});
CREATE TRIGGER invoicing_invoiceline_immutable BEFORE UPDATE OR DELETE ON invoicing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change();
CREATE TRIGGER invoicing_invoicetax_immutable BEFORE UPDATE OR DELETE ON invoicing_invoicetax
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change();
CREATE TRIGGER invoicing_invoicefile_immutable BEFORE UPDATE OR DELETE ON invoicing_invoicefile
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change();
CREATE TRIGGER invoicing_billingrecord_immutable BEFORE UPDATE OR DELETE ON invoicing_billingrecord
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change('submission_status');
"""

BACKWARD = """
DROP TRIGGER IF EXISTS invoicing_invoice_immutable ON invoicing_invoice;
DROP TRIGGER IF EXISTS invoicing_invoiceline_immutable ON invoicing_invoiceline;
DROP TRIGGER IF EXISTS invoicing_invoicetax_immutable ON invoicing_invoicetax;
DROP TRIGGER IF EXISTS invoicing_invoicefile_immutable ON invoicing_invoicefile;
DROP TRIGGER IF EXISTS invoicing_billingrecord_immutable ON invoicing_billingrecord;
DROP FUNCTION IF EXISTS invoicing_refuse_document_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
