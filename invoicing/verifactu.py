"""Spain's VeriFactu: the registration record fingerprint ("huella"), its chain and the QR URL.

The fingerprint is SHA-256 over the exact string the tax agency specifies, upper-case
hex, each record naming the previous record's fingerprint of the same issuer. Amounts
are written as the record states them: "12.35" and "12.350" hash differently, so the
string is stored as hashed.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from invoicing.models import BillingRecord

# Record times are written in Spain's peninsular time with their offset.
SPAIN = ZoneInfo("Europe/Madrid")


@dataclass(frozen=True)
class ChainBreak:
    issuer_tax_id: str
    position: int
    number: str
    reason: str


def amount_text(amount: Decimal) -> str:
    """Amounts as the record writes them: two decimals, point separator, sign for credits."""
    return f"{amount.quantize(Decimal('0.01'))}"


def date_text(day: datetime.date) -> str:
    return day.strftime("%d-%m-%Y")


def generated_at_text(moment: datetime.datetime) -> str:
    return moment.astimezone(SPAIN).isoformat(timespec="seconds")


def fingerprint_input(
    *,
    issuer_tax_id: str,
    number: str,
    issue_date: str,
    record_type: str,
    tax_total: str,
    grand_total: str,
    previous_fingerprint: str,
    generated_at: str,
) -> str:
    """The registration record string, fields in the agency's order, values trimmed."""
    fields = (
        ("IDEmisorFactura", issuer_tax_id),
        ("NumSerieFactura", number),
        ("FechaExpedicionFactura", issue_date),
        ("TipoFactura", record_type),
        ("CuotaTotal", tax_total),
        ("ImporteTotal", grand_total),
        ("Huella", previous_fingerprint),
        ("FechaHoraHusoGenRegistro", generated_at),
    )
    return "&".join(f"{name}={value.strip()}" for name, value in fields)


def fingerprint(hashed_input: str) -> str:
    return hashlib.sha256(hashed_input.encode("utf-8")).hexdigest().upper()


def verification_url(*, issuer_tax_id: str, number: str, issue_date: datetime.date, grand_total: Decimal) -> str:
    """The tax agency's verification URL printed as the QR code (host from settings)."""
    query = urlencode(
        {"nif": issuer_tax_id, "numserie": number, "fecha": date_text(issue_date), "importe": amount_text(grand_total)}
    )
    return f"{settings.VERIFACTU_QR_URL}?{query}"


def chain_verify(records: Iterable[BillingRecord]) -> ChainBreak | None:
    """The first broken link of one issuer's records (in chain order), or None when the chain holds.

    Each record's stored string must hash to its stored fingerprint, must name the previous
    record's fingerprint, and must still describe its document (number, date, amounts).
    """
    previous: BillingRecord | None = None
    for record in records:
        invoice = record.invoice
        sign = Decimal(-1) if invoice.is_credit_note else Decimal(1)
        expected_input = fingerprint_input(
            issuer_tax_id=record.issuer_tax_id,
            number=invoice.number,
            issue_date=date_text(invoice.issue_date),
            record_type=record.record_type,
            tax_total=amount_text(sign * invoice.tax_total),
            grand_total=amount_text(sign * invoice.grand_total),
            previous_fingerprint=previous.fingerprint if previous else "",
            generated_at=record.generated_at,
        )

        def broken(reason: str, record: BillingRecord = record) -> ChainBreak:
            return ChainBreak(record.issuer_tax_id, record.position, record.invoice.number, reason)

        if record.previous_id != (previous.pk if previous else None):
            return broken("the record does not point at the previous one")
        if record.hashed_input != expected_input:
            return broken("the stored string no longer matches the document or the previous fingerprint")
        if fingerprint(record.hashed_input) != record.fingerprint:
            return broken("the fingerprint does not match the stored string")
        previous = record
    return None


def billing_record_submitter() -> Callable[[BillingRecord], None] | None:
    """The configured hook that submits records to the tax agency, or None.

    Submitting needs the agency's online service and a qualified certificate, so the
    product ships the records and this hook, not a fake client.
    """
    path = settings.VERIFACTU_SUBMITTER
    return import_string(path) if path else None
