"""Canonical documents for format tests, with amounts that add up the way EN 16931 checks them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from config.money import money_round
from invoicing.documents import (
    TAX_CATEGORY_STANDARD,
    TYPE_CODE_INVOICE,
    DocumentLine,
    InvoiceDocument,
    Party,
    TaxSubtotal,
)

SELLER = Party(
    name="Tienda Ejemplo S.L.",
    country="ES",
    tax_id="B12345678",
    street="Calle Mayor 1",
    city="Madrid",
    postal_code="28013",
    email="facturas@tienda.example",
)
BUYER = Party(
    name="Cliente Empresa S.A.",
    country="ES",
    tax_id="A87654321",
    street="Avenida del Puerto 20",
    city="Valencia",
    postal_code="46001",
    email="compras@cliente.example",
)


def line_make(
    position: int,
    *,
    quantity: str,
    unit_price: str,
    rate: str,
    allowance: str = "0",
    category: str = TAX_CATEGORY_STANDARD,
    currency: str = "EUR",
    description: str = "",
    sku: str = "",
) -> DocumentLine:
    """A line whose net (BT-131) is quantity x net price - allowance, rounded to the currency."""
    net = money_round(Decimal(quantity) * Decimal(unit_price) - Decimal(allowance), currency)
    return DocumentLine(
        position=position,
        description=description or f"Artículo {position}",
        quantity=Decimal(quantity),
        net_unit_price=Decimal(unit_price),
        allowance_amount=Decimal(allowance),
        net_amount=net,
        tax_rate=Decimal(rate),
        tax_category=category,
        sku=sku,
    )


def taxes_for(lines: tuple[DocumentLine, ...], currency: str) -> tuple[TaxSubtotal, ...]:
    """One subtotal per category and rate: VAT = round(sum of nets x rate / 100), half up."""
    bases: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for line in lines:
        bases[line.tax_category, line.tax_rate] += line.net_amount
    return tuple(
        TaxSubtotal(
            tax_category=category,
            tax_rate=rate,
            taxable_amount=basis,
            tax_amount=money_round(basis * rate / 100, currency),
        )
        for (category, rate), basis in sorted(bases.items())
    )


def document_make(
    *,
    lines: tuple[DocumentLine, ...] | None = None,
    currency: str = "EUR",
    paid_amount: str = "0",
    **fields: Any,
) -> InvoiceDocument:
    """A consistent document: grand total = basis + tax; due = grand + rounding - paid."""
    if lines is None:
        lines = (
            line_make(1, quantity="2", unit_price="10.125", rate="21", allowance="1.25", sku="CAM-001"),
            line_make(2, quantity="1.5", unit_price="4", rate="10"),
            line_make(3, quantity="3", unit_price="19.99", rate="21"),
        )
    taxes = taxes_for(lines, currency)
    line_total = sum((line.net_amount for line in lines), Decimal(0))
    tax_total = sum((tax.tax_amount for tax in taxes), Decimal(0))
    grand_total = line_total + tax_total
    rounding = fields.pop("rounding_amount", Decimal(0))
    values: dict[str, Any] = {
        "number": "F2025-000123",
        "type_code": TYPE_CODE_INVOICE,
        "issue_date": datetime.date(2025, 3, 14),
        "currency": currency,
        "seller": SELLER,
        "buyer": BUYER,
        "lines": lines,
        "taxes": taxes,
        "line_total": line_total,
        "tax_basis_total": line_total,
        "tax_total": tax_total,
        "grand_total": grand_total,
        "rounding_amount": rounding,
        "paid_amount": Decimal(paid_amount),
        "due_amount": grand_total + rounding - Decimal(paid_amount),
        "source_reference": "PED-2025-0042",
        "notes": ("Gracias por su compra.",),
    }
    values.update(fields)
    return InvoiceDocument(**values)
