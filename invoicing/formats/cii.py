"""Factur-X / ZUGFeRD: UN/CEFACT Cross Industry Invoice (D16B) at the EN 16931 profile.

Element order follows the Factur-X EN 16931 XSD; business terms (BT-n) are named where
they are written. The XML alone is the e-invoice here: embedding it in a PDF/A-3 is the
PDF's business.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from lxml import etree

from invoicing.documents import DocumentLine, InvoiceDocument, Party
from invoicing.formats.base import Finding, InvoiceFormat
from invoicing.formats.validation import (
    CII_SCHEMATRON,
    CII_XSD,
    amount_text,
    decimal_text,
    document_findings,
    party_endpoint,
)

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
# UNCL 5189 allowance reason code: "Discount" (BR-42 wants a reason or a code).
ALLOWANCE_REASON_DISCOUNT = "95"
DATE_FORMAT_CCYYMMDD = "102"

XSD_BY_ROOT = {f"{{{RSM}}}CrossIndustryInvoice": CII_XSD}


def _sub(parent: Any, namespace: str, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _ram(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    return _sub(parent, RAM, tag, text, **attributes)


def _date(parent: Any, tag: str, value: datetime.date, namespace: str = UDT) -> None:
    holder = _ram(parent, tag)
    _sub(holder, namespace, "DateTimeString", value.strftime("%Y%m%d"), format=DATE_FORMAT_CCYYMMDD)


class FacturXCiiFormat(InvoiceFormat):
    code = "factur-x"
    label = _("Factur-X (CII, EN 16931)")  # lazy: translated when shown

    def applies_to(self, document: InvoiceDocument) -> bool:
        # EN 16931 needs the buyer's name and country: a ticket (simplified invoice) has neither.
        return not document.simplified and bool(document.buyer.name and document.buyer.country)

    def build(self, document: InvoiceDocument) -> bytes:
        root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
        context = _sub(root, RSM, "ExchangedDocumentContext")
        _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", EN16931_GUIDELINE)

        header = _sub(root, RSM, "ExchangedDocument")
        _ram(header, "ID", document.number)  # BT-1
        _ram(header, "TypeCode", document.type_code)  # BT-3
        _date(header, "IssueDateTime", document.issue_date)  # BT-2
        for note in document.notes:
            _ram(_ram(header, "IncludedNote"), "Content", note)  # BT-22

        transaction = _sub(root, RSM, "SupplyChainTradeTransaction")
        for line in document.lines:
            self._line(transaction, line, document.currency)
        self._agreement(transaction, document)
        _ram(transaction, "ApplicableHeaderTradeDelivery")
        self._settlement(transaction, document)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def validate(self, content: bytes) -> tuple[Finding, ...]:
        return document_findings(content, xsd_by_root=XSD_BY_ROOT, schematron=CII_SCHEMATRON)

    def _line(self, transaction: Any, line: DocumentLine, currency: str) -> None:
        item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
        _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", str(line.position))  # BT-126
        product = _ram(item, "SpecifiedTradeProduct")
        if line.sku:
            _ram(product, "SellerAssignedID", line.sku)  # BT-155
        _ram(product, "Name", line.description)  # BT-153
        agreement = _ram(item, "SpecifiedLineTradeAgreement")
        _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", decimal_text(line.net_unit_price))  # BT-146
        delivery = _ram(item, "SpecifiedLineTradeDelivery")
        _ram(delivery, "BilledQuantity", decimal_text(line.quantity), unitCode=line.unit_code)  # BT-129, BT-130
        settlement = _ram(item, "SpecifiedLineTradeSettlement")
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "CategoryCode", line.tax_category)  # BT-151
        _ram(tax, "RateApplicablePercent", decimal_text(line.tax_rate))  # BT-152
        if line.allowance_amount:
            allowance = _ram(settlement, "SpecifiedTradeAllowanceCharge")
            _sub(_ram(allowance, "ChargeIndicator"), UDT, "Indicator", "false")
            _ram(allowance, "ActualAmount", amount_text(line.allowance_amount, currency))  # BT-136
            _ram(allowance, "ReasonCode", ALLOWANCE_REASON_DISCOUNT)  # BT-140
        summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
        _ram(summation, "LineTotalAmount", amount_text(line.net_amount, currency))  # BT-131

    def _agreement(self, transaction: Any, document: InvoiceDocument) -> None:
        agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
        self._party(_ram(agreement, "SellerTradeParty"), document.seller, is_seller=True)
        self._party(_ram(agreement, "BuyerTradeParty"), document.buyer, is_seller=False)
        if document.source_reference:
            _ram(_ram(agreement, "SellerOrderReferencedDocument"), "IssuerAssignedID", document.source_reference)

    def _party(self, element: Any, party: Party, *, is_seller: bool) -> None:
        _ram(element, "Name", party.name)  # BT-27 / BT-44
        if party.tax_id:
            # BT-30 / BT-47: the tax number identifies the legal entity too, so a party
            # outside the EU (no VAT identifier) still satisfies BR-CO-26.
            _ram(_ram(element, "SpecifiedLegalOrganization"), "ID", party.tax_id)
        if party.email:
            contact = _ram(element, "DefinedTradeContact")
            _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", party.email)  # BT-43 / BT-58
        address = _ram(element, "PostalTradeAddress")
        if party.postal_code:
            _ram(address, "PostcodeCode", party.postal_code)
        if party.street:
            _ram(address, "LineOne", party.street)
        if party.city:
            _ram(address, "CityName", party.city)
        _ram(address, "CountryID", party.country)  # BT-40 / BT-55
        endpoint = party_endpoint(party)
        if endpoint is not None:
            _ram(_ram(element, "URIUniversalCommunication"), "URIID", endpoint.identifier, schemeID=endpoint.scheme)
        if party.vat_id:
            _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")  # BT-31 / BT-48
        elif party.tax_id and is_seller:
            # BT-32, the seller's tax registration. EN 16931 has no such term for the buyer.
            _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.tax_id, schemeID="FC")

    def _settlement(self, transaction: Any, document: InvoiceDocument) -> None:
        currency = document.currency
        settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
        _ram(settlement, "InvoiceCurrencyCode", currency)  # BT-5
        for subtotal in document.taxes:  # BG-23
            tax = _ram(settlement, "ApplicableTradeTax")
            _ram(tax, "CalculatedAmount", amount_text(subtotal.tax_amount, currency))  # BT-117
            _ram(tax, "TypeCode", "VAT")
            _ram(tax, "BasisAmount", amount_text(subtotal.taxable_amount, currency))  # BT-116
            _ram(tax, "CategoryCode", subtotal.tax_category)  # BT-118
            _ram(tax, "RateApplicablePercent", decimal_text(subtotal.tax_rate))  # BT-119
        totals = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
        _ram(totals, "LineTotalAmount", amount_text(document.line_total, currency))  # BT-106
        _ram(totals, "TaxBasisTotalAmount", amount_text(document.tax_basis_total, currency))  # BT-109
        _ram(totals, "TaxTotalAmount", amount_text(document.tax_total, currency), currencyID=currency)  # BT-110
        if document.rounding_amount:
            _ram(totals, "RoundingAmount", amount_text(document.rounding_amount, currency))  # BT-114
        _ram(totals, "GrandTotalAmount", amount_text(document.grand_total, currency))  # BT-112
        if document.paid_amount:
            _ram(totals, "TotalPrepaidAmount", amount_text(document.paid_amount, currency))  # BT-113
        _ram(totals, "DuePayableAmount", amount_text(document.due_amount, currency))  # BT-115
        if document.preceding_number:
            preceding = _ram(settlement, "InvoiceReferencedDocument")
            _ram(preceding, "IssuerAssignedID", document.preceding_number)  # BT-25
            if document.preceding_issue_date is not None:
                _date(preceding, "FormattedIssueDateTime", document.preceding_issue_date, QDT)  # BT-26
