"""The canonical invoice: one plain data object every output format is built from.

Formats (Factur-X CII, UBL, the PDF, later Facturae or ARCA) read this object and
nothing else, so a country format is added without touching models or services.
Amounts are already computed and rounded (see `invoicing.calculation`); formats only
write them down.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

# UNTDID 1001 document type codes used by EN 16931.
TYPE_CODE_INVOICE = "380"
TYPE_CODE_CREDIT_NOTE = "381"

# UNCL 5305 VAT category codes we issue: standard rate, or zero rated.
TAX_CATEGORY_STANDARD = "S"
TAX_CATEGORY_ZERO = "Z"

# Countries whose VAT numbers carry the country prefix (BT-31/BT-48 need it).
EU_VAT_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


@dataclass(frozen=True)
class Party:
    """A seller or buyer as printed on the document (a snapshot, never a live row)."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    tax_id: str = ""  # as validated and compacted, without a country prefix (e.g. B12345678)
    street: str = ""
    city: str = ""
    postal_code: str = ""
    email: str = ""

    @property
    def vat_id(self) -> str:
        """The VAT identifier with its country prefix (EL for Greece), or "" outside the EU."""
        if not self.tax_id or self.country not in EU_VAT_COUNTRIES:
            return ""
        prefix = "EL" if self.country == "GR" else self.country
        return self.tax_id if self.tax_id.startswith(prefix) else f"{prefix}{self.tax_id}"


@dataclass(frozen=True)
class DocumentLine:
    position: int
    description: str
    quantity: Decimal
    net_unit_price: Decimal  # BT-146: may carry more decimals than the currency
    allowance_amount: Decimal  # BT-136: the line discount, net
    net_amount: Decimal  # BT-131: rounded to the currency
    tax_rate: Decimal  # percent, e.g. Decimal("21.00")
    tax_category: str = TAX_CATEGORY_STANDARD
    sku: str = ""
    unit_code: str = "C62"  # UN/ECE rec 20: "one" (a piece)


@dataclass(frozen=True)
class TaxSubtotal:
    tax_category: str
    tax_rate: Decimal
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    type_code: str  # TYPE_CODE_INVOICE or TYPE_CODE_CREDIT_NOTE
    issue_date: datetime.date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    taxes: tuple[TaxSubtotal, ...]
    line_total: Decimal  # BT-106
    tax_basis_total: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    rounding_amount: Decimal = Decimal(0)  # BT-114
    paid_amount: Decimal = Decimal(0)  # BT-113
    due_amount: Decimal = Decimal(0)  # BT-115
    language: str = "es"
    # A simplified invoice (ticket): the buyer may be anonymous, so EN 16931 formats do not apply.
    simplified: bool = False
    source_reference: str = ""  # BT-14, the sales order reference (e.g. the order number)
    preceding_number: str = ""  # BT-25: the invoice a credit note corrects (or a ticket replaced)
    preceding_issue_date: datetime.date | None = None  # BT-26
    replaced_number: str = ""  # a full invoice issued in exchange for this simplified invoice (ticket)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == TYPE_CODE_CREDIT_NOTE
