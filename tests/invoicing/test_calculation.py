"""EN 16931 arithmetic, property-tested: totals reconcile to the cent for any lines, rates and currency."""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.money import has_valid_precision, money_round, quantum
from invoicing.calculation import LineInput, invoice_totals_compute
from invoicing.exceptions import InvoiceInputError

RATES = [Decimal(r) for r in ("0", "4", "5", "10", "19", "21", "16", "22", "10.5", "27")]
CURRENCIES = ["EUR", "USD", "MXN", "ARS", "CLP"]


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[LineInput]]:
    currency = draw(st.sampled_from(CURRENCIES))
    unit = quantum(currency)
    lines = []
    for index in range(draw(st.integers(min_value=1, max_value=25))):
        quantity = Decimal(draw(st.integers(min_value=1, max_value=5000))) / draw(st.sampled_from([1, 1, 1, 10, 1000]))
        price = draw(st.integers(min_value=0, max_value=500_000)) * unit
        # Whole minor units, never above the line: the service refuses anything else.
        most = int(quantity * price / unit)
        discount = draw(st.integers(min_value=0, max_value=most)) * unit if draw(st.booleans()) else Decimal(0)
        lines.append(
            LineInput(
                description=f"Line {index}",
                quantity=quantity,
                unit_price=price,
                tax_rate=draw(st.sampled_from(RATES)),
                discount=discount,
            )
        )
    return currency, lines


@settings(max_examples=300, deadline=None)
@given(documents(), st.booleans())
def test_totals_reconcile_to_the_cent(document: tuple[str, list[LineInput]], prices_include_tax: bool) -> None:
    currency, lines = document
    totals = invoice_totals_compute(lines=lines, currency=currency, prices_include_tax=prices_include_tax)
    amounts = [totals.line_total, totals.tax_total, totals.grand_total, totals.rounding_amount, totals.payable_total]
    amounts += [line.net_amount for line in totals.lines] + [line.allowance_amount for line in totals.lines]
    amounts += [t.taxable_amount for t in totals.taxes] + [t.tax_amount for t in totals.taxes]
    assert all(has_valid_precision(amount, currency) for amount in amounts)
    assert all(line.net_amount >= 0 for line in totals.lines)

    # BR-CO-10 / BR-CO-13: the sum of line nets is the net total and the tax basis.
    assert sum((line.net_amount for line in totals.lines), Decimal(0)) == totals.line_total == totals.tax_basis_total
    # BT-116 per rate is the sum of that rate's line nets; BT-117 is computed on it (BR-CO-17).
    nets_by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in totals.lines:
        nets_by_rate[line.source.tax_rate.normalize()] += line.net_amount
    assert {t.tax_rate: t.taxable_amount for t in totals.taxes} == nets_by_rate
    for tax in totals.taxes:
        assert tax.tax_amount == money_round(tax.taxable_amount * tax.tax_rate / 100, currency)
    # BR-CO-14 / BR-CO-15 / BR-CO-16.
    assert totals.tax_total == sum((t.tax_amount for t in totals.taxes), Decimal(0))
    assert totals.grand_total == totals.line_total + totals.tax_total
    assert totals.payable_total == totals.grand_total + totals.rounding_amount

    if prices_include_tax:
        # What the buyer pays is exactly the shelf prices; the rounding amount is at most one
        # minor unit per rate.
        assert totals.payable_total == sum((line.gross_amount for line in totals.lines), Decimal(0))
        assert abs(totals.rounding_amount) <= len(totals.taxes) * quantum(currency)
    else:
        assert totals.rounding_amount == 0
        for line in totals.lines:
            source = line.source
            assert line.net_amount == money_round(source.quantity * source.unit_price - source.discount, currency)


def test_a_tax_inclusive_price_splits_into_net_and_vat_that_add_back_up() -> None:
    totals = invoice_totals_compute(
        lines=[
            LineInput(description="Camiseta", quantity=Decimal(1), unit_price=Decimal("19.95"), tax_rate=Decimal(21))
        ],
        currency="EUR",
    )
    assert (totals.line_total, totals.tax_total, totals.rounding_amount) == (Decimal("16.49"), Decimal("3.46"), 0)
    assert totals.payable_total == Decimal("19.95")


def test_when_no_net_amount_reaches_the_gross_the_cent_left_is_a_rounding_amount() -> None:
    # 123.45 / 1.21 = 102.0248: 102.02 + 21.42 = 123.44, and 102.03 + 21.43 = 123.46.
    totals = invoice_totals_compute(
        lines=[
            LineInput(description="Abrigo", quantity=Decimal(1), unit_price=Decimal("123.45"), tax_rate=Decimal(21))
        ],
        currency="EUR",
    )
    assert (totals.grand_total, totals.rounding_amount, totals.payable_total) == (
        Decimal("123.44"),
        Decimal("0.01"),
        Decimal("123.45"),
    )


def test_many_small_lines_share_the_net_amount_without_going_negative() -> None:
    lines = [
        LineInput(description=f"Botón {n}", quantity=Decimal(1), unit_price=Decimal("0.01"), tax_rate=Decimal(21))
        for n in range(100)
    ]
    totals = invoice_totals_compute(lines=lines, currency="EUR")
    assert totals.payable_total == Decimal("1.00")
    assert sum(line.net_amount for line in totals.lines) == totals.line_total == Decimal("0.83")
    assert min(line.net_amount for line in totals.lines) == 0


def test_net_prices_round_each_line_then_tax_the_sum_per_rate() -> None:
    lines = [
        LineInput(description="A", quantity=Decimal(3), unit_price=Decimal("0.35"), tax_rate=Decimal(21)),
        LineInput(description="B", quantity=Decimal(1), unit_price=Decimal("0.35"), tax_rate=Decimal(21)),
    ]
    totals = invoice_totals_compute(lines=lines, currency="EUR", prices_include_tax=False)
    # Per line the VAT would be 0.22 + 0.07 = 0.29; on the sum it is 1.40 x 21 % = 0.294 → 0.29.
    assert (totals.line_total, totals.tax_total, totals.grand_total) == (
        Decimal("1.40"),
        Decimal("0.29"),
        Decimal("1.69"),
    )


def test_chilean_pesos_are_whole() -> None:
    totals = invoice_totals_compute(
        lines=[LineInput(description="Polera", quantity=Decimal(2), unit_price=Decimal(9990), tax_rate=Decimal(19))],
        currency="CLP",
    )
    assert totals.payable_total == Decimal(19980)
    assert totals.line_total + totals.tax_total + totals.rounding_amount == Decimal(19980)
    assert totals.tax_total == totals.tax_total.to_integral_value()


def test_a_price_with_more_decimals_than_the_currency_is_refused() -> None:
    with pytest.raises(InvoiceInputError):
        invoice_totals_compute(
            lines=[
                LineInput(description="Polera", quantity=Decimal(1), unit_price=Decimal("9990.5"), tax_rate=Decimal(19))
            ],
            currency="CLP",
        )
