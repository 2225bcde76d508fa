"""Exports for accountants: one row per document (and per tax rate), CSV or JSON, by date range."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from invoicing.models import Invoice
from invoicing.selectors import invoices_for_export

COLUMNS = (
    "number",
    "kind",
    "issue_date",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "buyer_country",
    "currency",
    "tax_rate",
    "taxable_amount",
    "tax_amount",
    "line_total",
    "tax_total",
    "grand_total",
    "rounding_amount",
    "payable_total",
    "original_number",
    "source_reference",
    "customer_id",
)


def invoice_export_rows(*, invoices: QuerySet[Invoice]) -> Iterator[dict[str, Any]]:
    """One row per document and tax rate, credit notes signed negative (as an accountant books them)."""
    for invoice in invoices_for_export(invoices=invoices):
        sign = -1 if invoice.is_credit_note else 1
        for tax in invoice.taxes.all():
            yield {
                "number": invoice.number,
                "kind": invoice.kind,
                "issue_date": invoice.issue_date,
                "seller_tax_id": invoice.seller_tax_id,
                "buyer_name": invoice.buyer_name,
                "buyer_tax_id": invoice.buyer_tax_id,
                "buyer_country": invoice.buyer_country,
                "currency": invoice.currency,
                "tax_rate": tax.tax_rate,
                "taxable_amount": sign * tax.taxable_amount,
                "tax_amount": sign * tax.tax_amount,
                "line_total": sign * invoice.line_total,
                "tax_total": sign * invoice.tax_total,
                "grand_total": sign * invoice.grand_total,
                "rounding_amount": sign * invoice.rounding_amount,
                "payable_total": sign * invoice.payable_total,
                "original_number": invoice.original.number if invoice.original else "",
                "source_reference": invoice.source_reference,
                "customer_id": invoice.customer_id or "",
            }


def invoice_export_csv(*, invoices: QuerySet[Invoice]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(invoice_export_rows(invoices=invoices))
    return buffer.getvalue()


def invoice_export_json(*, invoices: QuerySet[Invoice]) -> str:
    return json.dumps(list(invoice_export_rows(invoices=invoices)), cls=DjangoJSONEncoder)
