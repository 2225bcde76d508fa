"""Invoice arithmetic, EN 16931 style: line nets rounded, VAT per rate on the sum of line nets.

Retail prices are tax-inclusive: what the customer pays is the sum of the shelf prices.
For such documents each rate group's gross is split into a taxable amount and VAT with
VAT = round(taxable x rate) (EN 16931, BR-CO-17), choosing the taxable amount that makes
taxable + VAT equal the gross whenever one exists. When none does (about one gross in
five at 21 %, because VAT grows by a whole cent at a time), the cent left over is the
document's rounding amount (BT-114), so the amount due is still exactly what was paid.
The group's taxable amount is then shared out over its lines (largest remainder), so the
line nets add up to it to the cent.

Net-priced documents (B2B) round each line net and compute VAT per rate on their sum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from config.money import currency_exponent, has_valid_precision, money_round, quantum
from invoicing.documents import TAX_CATEGORY_STANDARD, TAX_CATEGORY_ZERO, TaxSubtotal
from invoicing.exceptions import InvoiceErrorCode, InvoiceInputError

HUNDRED = Decimal(100)
# Net unit prices (BT-146) may carry more decimals than the currency.
UNIT_PRICE_QUANTUM = Decimal("0.000001")
MAX_QUANTITY_DECIMALS = 3


@dataclass(frozen=True)
class LineInput:
    """A line as the caller hands it over: a price per unit and an optional discount on the line."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal  # percent
    discount: Decimal = Decimal(0)  # amount off the whole line, on the same basis as unit_price
    sku: str = ""


@dataclass(frozen=True)
class ComputedLine:
    source: LineInput
    gross_amount: Decimal  # tax included, rounded to the currency
    net_amount: Decimal  # BT-131
    allowance_amount: Decimal  # BT-136, net
    net_unit_price: Decimal  # BT-146

    @property
    def tax_category(self) -> str:
        return TAX_CATEGORY_ZERO if self.source.tax_rate == 0 else TAX_CATEGORY_STANDARD


@dataclass(frozen=True)
class Totals:
    lines: tuple[ComputedLine, ...]
    taxes: tuple[TaxSubtotal, ...]
    line_total: Decimal  # BT-106 = BT-109 (no document-level allowances)
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    rounding_amount: Decimal  # BT-114
    payable_total: Decimal  # BT-112 + BT-114: what the buyer pays

    @property
    def tax_basis_total(self) -> Decimal:
        return self.line_total


def _validate(lines: Sequence[LineInput], currency: str) -> None:
    if not lines:
        raise InvoiceInputError(
            _("An invoice needs at least one line."), code=InvoiceErrorCode.NO_LINES, fields={"lines": [_("Empty.")]}
        )
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        problems = []
        if line.quantity <= 0:
            problems.append(_("Quantity must be greater than zero."))
        elif -line.quantity.as_tuple().exponent > MAX_QUANTITY_DECIMALS:  # type: ignore[operator]
            problems.append(_("Quantity may have at most three decimals."))
        if line.unit_price < 0 or not has_valid_precision(line.unit_price, currency):
            problems.append(_("The unit price must be zero or more, in whole units of the currency."))
        if line.discount < 0 or not has_valid_precision(line.discount, currency):
            problems.append(_("The discount must be zero or more, in whole units of the currency."))
        elif line.quantity > 0 and line.discount > line.quantity * line.unit_price:
            problems.append(_("The discount cannot exceed the line amount."))
        if not (0 <= line.tax_rate < HUNDRED):
            problems.append(_("The tax rate must be a percentage from 0 to 100."))
        if not line.description.strip():
            problems.append(_("Every line needs a description."))
        if problems:
            errors[f"lines[{index}]"] = problems
    if errors:
        raise InvoiceInputError(_("Some lines are not valid."), code=InvoiceErrorCode.INVALID_LINES, fields=errors)


def _tax(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    return money_round(amount * rate / HUNDRED, currency)


def _taxable_for_gross(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The taxable amount whose VAT brings it to `gross`, or the nearest one when none does."""
    unit = quantum(currency)
    first = money_round(gross * HUNDRED / (HUNDRED + rate), currency)
    for candidate in (first, first - unit, first + unit):
        if candidate + _tax(candidate, rate, currency) == gross:
            return candidate
    return first


def _share_out(total: Decimal, exact: list[Decimal], currency: str) -> list[Decimal]:
    """Round each exact share so the rounded shares add up to `total` (largest remainder)."""
    unit = quantum(currency)
    floors = [value.quantize(unit, rounding=ROUND_FLOOR) for value in exact]
    units_left = int((total - sum(floors, Decimal(0))) / unit)
    shares = list(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[: max(0, min(units_left, len(exact)))]:
        shares[i] += unit
    # Only reachable when the taxable amount was nudged by a cent: the largest line takes it.
    rest = total - sum(shares, Decimal(0))
    if rest:
        largest = max(range(len(exact)), key=lambda i: (exact[i], -i))
        shares[largest] += rest
    return shares


def _unit_price(net_amount: Decimal, allowance: Decimal, quantity: Decimal) -> Decimal:
    return ((net_amount + allowance) / quantity).quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP).normalize()


def invoice_totals_compute(*, lines: Sequence[LineInput], currency: str, prices_include_tax: bool = True) -> Totals:
    """Every amount of a document from its lines. Raises InvoiceInputError on bad lines."""
    currency_exponent(currency)  # an unsupported currency fails here, loudly
    _validate(lines, currency)
    groups: dict[Decimal, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        groups[line.tax_rate.normalize()].append(index)

    gross = [money_round(line.quantity * line.unit_price - line.discount, currency) for line in lines]
    nets: list[Decimal] = [Decimal(0)] * len(lines)
    allowances: list[Decimal] = [Decimal(0)] * len(lines)
    taxes: list[TaxSubtotal] = []
    rounding = Decimal(0)
    for rate in sorted(groups, reverse=True):
        indexes = groups[rate]
        if prices_include_tax:
            group_gross = sum((gross[i] for i in indexes), Decimal(0))
            taxable = _taxable_for_gross(group_gross, rate, currency)
            exact = [gross[i] * HUNDRED / (HUNDRED + rate) for i in indexes]
            for i, share in zip(indexes, _share_out(taxable, exact, currency), strict=True):
                nets[i] = share
                allowances[i] = money_round(lines[i].discount * HUNDRED / (HUNDRED + rate), currency)
            tax = _tax(taxable, rate, currency)
            rounding += group_gross - taxable - tax
        else:
            for i in indexes:
                nets[i] = gross[i]
                allowances[i] = lines[i].discount
            taxable = sum((nets[i] for i in indexes), Decimal(0))
            tax = _tax(taxable, rate, currency)
        category = TAX_CATEGORY_ZERO if rate == 0 else TAX_CATEGORY_STANDARD
        taxes.append(TaxSubtotal(tax_category=category, tax_rate=rate, taxable_amount=taxable, tax_amount=tax))

    computed = tuple(
        ComputedLine(
            source=line,
            gross_amount=gross[i] if prices_include_tax else gross[i] + _tax(gross[i], line.tax_rate, currency),
            net_amount=nets[i],
            allowance_amount=allowances[i],
            net_unit_price=_unit_price(nets[i], allowances[i], line.quantity),
        )
        for i, line in enumerate(lines)
    )
    line_total = sum((t.taxable_amount for t in taxes), Decimal(0))
    tax_total = sum((t.tax_amount for t in taxes), Decimal(0))
    grand_total = line_total + tax_total
    return Totals(
        lines=computed,
        taxes=tuple(taxes),
        line_total=line_total,
        tax_total=tax_total,
        grand_total=grand_total,
        rounding_amount=rounding,
        payable_total=grand_total + rounding,
    )
