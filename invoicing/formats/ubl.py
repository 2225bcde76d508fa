"""Peppol BIS Billing 3.0: a UBL 2.1 Invoice, or a CreditNote for type 381.

The same business terms as the Factur-X CII, in UBL's element order (the UBL 2.1 XSD).
Peppol's own rules are stricter than EN 16931 in places; where they are, they are
followed here (a single note, "NA" as the purchase order reference, endpoint ids).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from lxml import etree

from invoicing.documents import DocumentLine, InvoiceDocument, Party
from invoicing.formats.base import Finding, InvoiceFormat
from invoicing.formats.validation import (
    UBL_CREDIT_NOTE_XSD,
    UBL_INVOICE_XSD,
    UBL_SCHEMATRON,
    amount_text,
    decimal_text,
    document_findings,
    party_endpoint,
)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
VAT_SCHEME = "VAT"
# Any scheme other than VAT marks the seller's tax registration (BT-32); Peppol writes "TAX".
TAX_SCHEME = "TAX"
# Peppol's purchase order reference (BT-13) when only the sales order (BT-14) is known.
ORDER_REFERENCE_NOT_APPLICABLE = "NA"
# UNCL 5189 allowance reason code: "Discount" (BR-42 wants a reason or a code).
ALLOWANCE_REASON_DISCOUNT = "95"

XSD_BY_ROOT = {
    f"{{{INVOICE_NS}}}Invoice": UBL_INVOICE_XSD,
    f"{{{CREDIT_NOTE_NS}}}CreditNote": UBL_CREDIT_NOTE_XSD,
}


def _cac(parent: Any, tag: str) -> Any:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def _cbc(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}", attributes)
    element.text = text
    return element


def _date(value: datetime.date) -> str:
    return value.isoformat()


class PeppolUblFormat(InvoiceFormat):
    code = "ubl"
    label = _("UBL 2.1 (Peppol BIS Billing 3.0)")  # lazy: translated when shown

    def applies_to(self, document: InvoiceDocument) -> bool:
        # EN 16931 needs the buyer's name and country: a ticket (simplified invoice) has neither.
        return not document.simplified and bool(document.buyer.name and document.buyer.country)

    def build(self, document: InvoiceDocument) -> bytes:
        credit = document.is_credit_note
        namespace, root_tag = (CREDIT_NOTE_NS, "CreditNote") if credit else (INVOICE_NS, "Invoice")
        root = etree.Element(f"{{{namespace}}}{root_tag}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})
        currency = document.currency

        _cbc(root, "CustomizationID", CUSTOMIZATION_ID)  # BT-24
        _cbc(root, "ProfileID", PROFILE_ID)  # BT-23
        _cbc(root, "ID", document.number)  # BT-1
        _cbc(root, "IssueDate", _date(document.issue_date))  # BT-2
        _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", document.type_code)  # BT-3
        if document.notes:
            # Peppol allows one note (PEPPOL-EN16931-R002): the notes go in it, one per line.
            _cbc(root, "Note", "\n".join(document.notes))  # BT-22
        _cbc(root, "DocumentCurrencyCode", currency)  # BT-5
        # Peppol wants a buyer reference or an order reference (PEPPOL-EN16931-R003).
        _cbc(root, "BuyerReference", document.source_reference or document.number)  # BT-10
        if document.source_reference:
            order = _cac(root, "OrderReference")
            _cbc(order, "ID", ORDER_REFERENCE_NOT_APPLICABLE)  # BT-13
            _cbc(order, "SalesOrderID", document.source_reference)  # BT-14
        if document.preceding_number:
            preceding = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
            _cbc(preceding, "ID", document.preceding_number)  # BT-25
            if document.preceding_issue_date is not None:
                _cbc(preceding, "IssueDate", _date(document.preceding_issue_date))  # BT-26
        self._party(_cac(root, "AccountingSupplierParty"), document.seller, is_seller=True)
        self._party(_cac(root, "AccountingCustomerParty"), document.buyer, is_seller=False)

        tax_total = _cac(root, "TaxTotal")
        _cbc(tax_total, "TaxAmount", amount_text(document.tax_total, currency), currencyID=currency)  # BT-110
        for subtotal in document.taxes:  # BG-23
            element = _cac(tax_total, "TaxSubtotal")
            _cbc(element, "TaxableAmount", amount_text(subtotal.taxable_amount, currency), currencyID=currency)
            _cbc(element, "TaxAmount", amount_text(subtotal.tax_amount, currency), currencyID=currency)
            self._tax_category(element, "TaxCategory", subtotal.tax_category, subtotal.tax_rate)

        totals = _cac(root, "LegalMonetaryTotal")
        _cbc(totals, "LineExtensionAmount", amount_text(document.line_total, currency), currencyID=currency)  # BT-106
        _cbc(
            totals, "TaxExclusiveAmount", amount_text(document.tax_basis_total, currency), currencyID=currency
        )  # BT-109
        _cbc(totals, "TaxInclusiveAmount", amount_text(document.grand_total, currency), currencyID=currency)  # BT-112
        if document.paid_amount:
            _cbc(totals, "PrepaidAmount", amount_text(document.paid_amount, currency), currencyID=currency)  # BT-113
        if document.rounding_amount:
            _cbc(
                totals, "PayableRoundingAmount", amount_text(document.rounding_amount, currency), currencyID=currency
            )  # BT-114
        _cbc(totals, "PayableAmount", amount_text(document.due_amount, currency), currencyID=currency)  # BT-115

        for line in document.lines:
            self._line(root, line, currency, credit=credit)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def validate(self, content: bytes) -> tuple[Finding, ...]:
        return document_findings(content, xsd_by_root=XSD_BY_ROOT, schematron=UBL_SCHEMATRON)

    def _party(self, holder: Any, party: Party, *, is_seller: bool) -> None:
        element = _cac(holder, "Party")
        endpoint = party_endpoint(party)
        if endpoint is not None:
            _cbc(element, "EndpointID", endpoint.identifier, schemeID=endpoint.scheme)  # BT-34 / BT-49
        _cbc(_cac(element, "PartyName"), "Name", party.name)
        address = _cac(element, "PostalAddress")
        if party.street:
            _cbc(address, "StreetName", party.street)
        if party.city:
            _cbc(address, "CityName", party.city)
        if party.postal_code:
            _cbc(address, "PostalZone", party.postal_code)
        _cbc(_cac(address, "Country"), "IdentificationCode", party.country)  # BT-40 / BT-55
        if party.vat_id:
            self._tax_scheme(element, party.vat_id, VAT_SCHEME)  # BT-31 / BT-48
        elif party.tax_id and is_seller:
            # BT-32, the seller's tax registration. EN 16931 has no such term for the buyer.
            self._tax_scheme(element, party.tax_id, TAX_SCHEME)
        legal = _cac(element, "PartyLegalEntity")
        _cbc(legal, "RegistrationName", party.name)  # BT-27 / BT-44
        if party.tax_id:
            # BT-30 / BT-47: the tax number identifies the legal entity too, so a party
            # outside the EU (no VAT identifier) still satisfies BR-CO-26.
            _cbc(legal, "CompanyID", party.tax_id)
        if party.email:
            _cbc(_cac(element, "Contact"), "ElectronicMail", party.email)  # BT-43 / BT-58

    def _tax_scheme(self, party: Any, company_id: str, scheme: str) -> None:
        tax_scheme = _cac(party, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", company_id)
        _cbc(_cac(tax_scheme, "TaxScheme"), "ID", scheme)

    def _tax_category(self, parent: Any, tag: str, category: str, rate: Any) -> None:
        element = _cac(parent, tag)
        _cbc(element, "ID", category)  # BT-118 / BT-151
        _cbc(element, "Percent", decimal_text(rate))  # BT-119 / BT-152
        _cbc(_cac(element, "TaxScheme"), "ID", VAT_SCHEME)

    def _line(self, root: Any, line: DocumentLine, currency: str, *, credit: bool) -> None:
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", str(line.position))  # BT-126
        quantity = decimal_text(line.quantity)
        _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", quantity, unitCode=line.unit_code)  # BT-129
        _cbc(element, "LineExtensionAmount", amount_text(line.net_amount, currency), currencyID=currency)  # BT-131
        if line.allowance_amount:
            allowance = _cac(element, "AllowanceCharge")
            _cbc(allowance, "ChargeIndicator", "false")
            _cbc(allowance, "AllowanceChargeReasonCode", ALLOWANCE_REASON_DISCOUNT)  # BT-140
            _cbc(allowance, "Amount", amount_text(line.allowance_amount, currency), currencyID=currency)  # BT-136
        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)  # BT-153
        if line.sku:
            _cbc(_cac(item, "SellersItemIdentification"), "ID", line.sku)  # BT-155
        self._tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)
        _cbc(_cac(element, "Price"), "PriceAmount", decimal_text(line.net_unit_price), currencyID=currency)  # BT-146
