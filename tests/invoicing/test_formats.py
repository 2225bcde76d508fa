"""Factur-X CII and Peppol UBL: canonical document in, XSD- and EN 16931-valid XML out."""

from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from invoicing.documents import TAX_CATEGORY_ZERO, TYPE_CODE_CREDIT_NOTE, Party
from invoicing.formats import InvoiceFormat, format_get, formats_for, formats_registered
from invoicing.formats.cii import RAM, RSM, FacturXCiiFormat
from invoicing.formats.ubl import CBC, CREDIT_NOTE_NS, PeppolUblFormat
from invoicing.formats.validation import (
    CII_SCHEMATRON,
    UBL_INVOICE_XSD,
    UBL_SCHEMATRON,
    amount_text,
    decimal_text,
    document_findings,
    party_endpoint,
    schematron_stylesheet,
    svrl_findings,
    xml_schema,
)
from tests.concurrency import run_at_once
from tests.invoicing.documents import BUYER, SELLER, document_make, line_make

FORMATS = [FacturXCiiFormat, PeppolUblFormat]

# Where each format puts the grand total (BT-112) and the unit price (BT-146).
GRAND_TOTAL_PATH = {
    "factur-x": f".//{{{RAM}}}GrandTotalAmount",
    "ubl": f".//{{{CBC}}}TaxInclusiveAmount",
}
UNIT_PRICE_PATH = {
    "factur-x": f".//{{{RAM}}}NetPriceProductTradePrice/{{{RAM}}}ChargeAmount",
    "ubl": f".//{{{CBC}}}PriceAmount",
}
# The rule each schematron reports for a buyer's country outside ISO 3166-1.
BAD_COUNTRY_RULE = {"factur-x": "FX-SCH-A-000568", "ubl": "BR-CL-14"}


@pytest.fixture(params=FORMATS, ids=lambda cls: cls.code)
def invoice_format(request: pytest.FixtureRequest) -> InvoiceFormat:
    format_class: type[InvoiceFormat] = request.param
    return format_class()


def rules(invoice_format: InvoiceFormat, document: Any) -> list[str]:
    return [finding.rule for finding in invoice_format.render(document).findings]


def texts(content: bytes, path: str) -> list[str]:
    return [element.text for element in etree.fromstring(content).iterfind(path)]


# Valid documents


def test_full_invoice_with_two_vat_rates_is_valid(invoice_format: InvoiceFormat) -> None:
    document = document_make(paid_amount="10.00")
    assert {tax.tax_rate for tax in document.taxes} == {Decimal(21), Decimal(10)}

    assert invoice_format.render(document).findings == ()


def test_credit_note_for_a_preceding_invoice_is_valid(invoice_format: InvoiceFormat) -> None:
    document = document_make(
        type_code=TYPE_CODE_CREDIT_NOTE,
        number="R2025-000007",
        preceding_number="F2025-000123",
        preceding_issue_date=datetime.date(2025, 3, 14),
    )

    assert invoice_format.render(document).findings == ()


def test_zero_rated_line_is_valid(invoice_format: InvoiceFormat) -> None:
    lines = (
        line_make(1, quantity="1", unit_price="12.50", rate="21"),
        line_make(2, quantity="2", unit_price="7.00", rate="0", category=TAX_CATEGORY_ZERO),
    )

    assert invoice_format.render(document_make(lines=lines)).findings == ()


def test_clp_invoice_without_decimals_is_valid(invoice_format: InvoiceFormat) -> None:
    lines = (
        line_make(1, quantity="3", unit_price="1990", rate="19", currency="CLP"),
        line_make(2, quantity="1", unit_price="4500.5", rate="19", currency="CLP"),
    )

    assert invoice_format.render(document_make(lines=lines, currency="CLP")).findings == ()


def test_seller_outside_the_eu_is_valid_with_its_tax_number(invoice_format: InvoiceFormat) -> None:
    seller = Party(name="Comercial Andes SpA", country="CL", tax_id="76123456-7", city="Santiago")
    assert seller.vat_id == ""

    assert invoice_format.render(document_make(seller=seller)).findings == ()


def test_ubl_invoice_raises_no_peppol_warnings() -> None:
    content = PeppolUblFormat().build(document_make(paid_amount="10.00"))
    xsd_by_root = {etree.fromstring(content).tag: UBL_INVOICE_XSD}

    assert document_findings(content, xsd_by_root=xsd_by_root, schematron=UBL_SCHEMATRON, include_warnings=True) == ()


def test_ubl_credit_note_is_a_credit_note_document() -> None:
    document = document_make(type_code=TYPE_CODE_CREDIT_NOTE, preceding_number="F2025-000123")

    root = etree.fromstring(PeppolUblFormat().build(document))

    assert root.tag == f"{{{CREDIT_NOTE_NS}}}CreditNote"
    assert root.findtext(f"{{{CBC}}}CreditNoteTypeCode") == TYPE_CODE_CREDIT_NOTE


# Writing values down


def test_clp_amounts_are_written_without_decimals(invoice_format: InvoiceFormat) -> None:
    lines = (line_make(1, quantity="3", unit_price="1990", rate="19", currency="CLP"),)
    document = document_make(lines=lines, currency="CLP")

    written = texts(invoice_format.build(document), GRAND_TOTAL_PATH[invoice_format.code])

    assert written == [str(int(document.grand_total))]


def test_eur_amounts_are_written_with_two_decimals(invoice_format: InvoiceFormat) -> None:
    lines = (line_make(1, quantity="1", unit_price="100", rate="21"),)

    written = texts(invoice_format.build(document_make(lines=lines)), GRAND_TOTAL_PATH[invoice_format.code])

    assert written == ["121.00"]


def test_unit_price_keeps_the_decimals_it_needs(invoice_format: InvoiceFormat) -> None:
    lines = (
        line_make(1, quantity="2", unit_price="10.125", rate="21"),
        line_make(2, quantity="1", unit_price="4.000", rate="21"),
    )

    written = texts(invoice_format.build(document_make(lines=lines)), UNIT_PRICE_PATH[invoice_format.code])

    assert written == ["10.125", "4"]


def test_amount_with_more_decimals_than_the_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="CLP"):
        amount_text(Decimal("10.5"), "CLP")


def test_decimal_text_never_uses_an_exponent() -> None:
    assert decimal_text(Decimal("1E+2")) == "100"


def test_endpoint_is_the_vat_number_where_peppol_has_a_scheme() -> None:
    endpoint = party_endpoint(SELLER)

    assert endpoint is not None
    assert (endpoint.scheme, endpoint.identifier) == ("9920", SELLER.vat_id)


def test_endpoint_falls_back_to_the_email() -> None:
    endpoint = party_endpoint(Party(name="Acme", country="CL", tax_id="76123456-7", email="ap@acme.example"))

    assert endpoint is not None
    assert (endpoint.scheme, endpoint.identifier) == ("EM", "ap@acme.example")


# Findings


def test_totals_that_do_not_add_up_break_br_co_15(invoice_format: InvoiceFormat) -> None:
    document = document_make()
    document = replace(document, grand_total=document.grand_total + Decimal("0.01"))

    assert "BR-CO-15" in rules(invoice_format, document)


@pytest.mark.parametrize("country", ["XX", "ES1"])
def test_buyer_country_outside_iso_3166_is_refused(invoice_format: InvoiceFormat, country: str) -> None:
    document = document_make(buyer=replace(BUYER, country=country))

    assert BAD_COUNTRY_RULE[invoice_format.code] in rules(invoice_format, document)


def test_content_the_schema_does_not_allow_is_an_xsd_finding(invoice_format: InvoiceFormat) -> None:
    root = etree.fromstring(invoice_format.build(document_make()))
    # An element the schema does not know, right after the document's first child.
    root[0].addnext(etree.Element(f"{{{etree.QName(root).namespace}}}Unexpected"))

    findings = invoice_format.validate(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    assert "XSD" in [finding.rule for finding in findings]


def test_unexpected_root_element_is_an_xsd_finding(invoice_format: InvoiceFormat) -> None:
    other = FacturXCiiFormat if isinstance(invoice_format, PeppolUblFormat) else PeppolUblFormat

    findings = invoice_format.validate(other().build(document_make()))

    assert findings[0].rule == "XSD"


def test_bytes_that_are_not_xml_are_an_xml_finding(invoice_format: InvoiceFormat) -> None:
    assert [finding.rule for finding in invoice_format.validate(b"<Invoice>")] == ["XML"]


SVRL = """\ufeff<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <svrl:failed-assert id="BR-01" flag="fatal" location="/a"><svrl:text>[BR-01] one</svrl:text></svrl:failed-assert>
  <svrl:successful-report id="FX-SCH-A-000001" location="/b"><svrl:text>two</svrl:text></svrl:successful-report>
  <svrl:failed-assert id="UBL-CR-001" flag="warning" location="/c"><svrl:text>three</svrl:text></svrl:failed-assert>
</svrl:schematron-output>"""


def test_svrl_failed_asserts_and_successful_reports_are_findings() -> None:
    assert [(f.rule, f.location) for f in svrl_findings(SVRL)] == [("BR-01", "/a"), ("FX-SCH-A-000001", "/b")]


def test_svrl_warnings_count_only_when_asked_for() -> None:
    assert [f.rule for f in svrl_findings(SVRL, include_warnings=True)] == ["BR-01", "FX-SCH-A-000001", "UBL-CR-001"]


# Applicability and registry


def test_simplified_document_is_not_an_en16931_invoice(invoice_format: InvoiceFormat) -> None:
    assert invoice_format.applies_to(document_make(simplified=True)) is False


def test_simplified_document_gets_no_structured_format() -> None:
    assert formats_for(document_make(simplified=True)) == ()


def test_registry_holds_both_formats() -> None:
    assert [type(f) for f in formats_registered()] == FORMATS


@pytest.mark.parametrize("format_class", FORMATS, ids=lambda cls: cls.code)
def test_format_get_finds_each_format_by_code(format_class: type[InvoiceFormat]) -> None:
    assert isinstance(format_get(format_class.code), format_class)


def test_format_get_refuses_an_unknown_code() -> None:
    with pytest.raises(KeyError):
        format_get("facturae")


# Compiled once per process


@pytest.mark.parametrize(
    ("format_class", "stylesheet"),
    [(FacturXCiiFormat, CII_SCHEMATRON), (PeppolUblFormat, UBL_SCHEMATRON)],
    ids=["factur-x", "ubl"],
)
def test_schematron_is_compiled_once_per_process(format_class: type[InvoiceFormat], stylesheet: str) -> None:
    invoice_format = format_class()
    content = invoice_format.build(document_make())
    invoice_format.validate(content)
    compiled = schematron_stylesheet(stylesheet)

    invoice_format.validate(content)

    assert schematron_stylesheet(stylesheet) is compiled


def test_xsd_is_compiled_once_per_process() -> None:
    invoice_format = PeppolUblFormat()
    content = invoice_format.build(document_make())
    invoice_format.validate(content)
    compiled = xml_schema(UBL_INVOICE_XSD)

    invoice_format.validate(content)

    assert xml_schema(UBL_INVOICE_XSD) is compiled


def test_threads_validating_at_once_get_the_same_findings(invoice_format: InvoiceFormat) -> None:
    document = document_make()
    content = invoice_format.build(replace(document, grand_total=document.grand_total + Decimal("0.01")))
    expected = invoice_format.validate(content)

    results = run_at_once([lambda: invoice_format.validate(content)] * 4)

    assert expected
    assert results == [expected] * 4


def test_cii_is_the_en16931_profile() -> None:
    root = etree.fromstring(FacturXCiiFormat().build(document_make()))

    assert root.tag == f"{{{RSM}}}CrossIndustryInvoice"
    assert (
        root.findtext(f".//{{{RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM}}}ID")
        == "urn:cen.eu:en16931:2017"
    )
