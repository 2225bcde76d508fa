"""The invoice PDF: one template for every channel, rendered to PDF/A-3b by WeasyPrint.

The canonical `InvoiceDocument` already holds every amount rounded; this module only
formats them for the document's language. `invoice_pdf_attach_xml` turns the PDF into a
hybrid Factur-X invoice by embedding the CII XML.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import facturx
import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import get_language, override
from weasyprint import HTML, URLFetcher
from weasyprint.urls import FatalURLFetchingError, URLFetcherResponse

from config.money import currency_exponent
from invoicing.documents import InvoiceDocument, Party

TEMPLATE_NAME = "invoicing/invoice.html"
PDF_VARIANT = "pdf/a-3b"

# Django's "es" locale groups thousands with a no-break space (the RAE style); invoices
# in Spain and Chile print "1.234,56", as do the tax agencies' own documents.
THOUSAND_SEPARATORS = {"es": "."}

# RFC 3066 tags for the PDF's /Lang when a document carries only the language.
PDF_LANGUAGE_TAGS = {"es": "es-ES", "en": "en-GB"}

LOGO_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})


class InvoicePdfError(Exception):
    """The PDF could not be rendered (a resource outside static/, a missing font file)."""


def _assets_dir() -> Path:
    # Read from the source tree, not STATIC_ROOT: the PDF must not depend on collectstatic.
    return Path(settings.BASE_DIR) / "static"


class InvoiceAssetURLFetcher(URLFetcher):
    """Loads data: URIs and files under static/ only, and fails the render on anything else.

    Failing (rather than WeasyPrint's default warning) keeps a missing font from being
    silently replaced by a system font, and keeps a crafted logo SVG from reaching the
    network or the rest of the file system.
    """

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if not path.is_relative_to(_assets_dir().resolve()):
                raise ValueError(f"Invoice PDF may only load files under static/, not {url}")
        elif scheme != "data":
            raise ValueError(f"Invoice PDF may not load {scheme}: URLs ({url[:80]})")
        return super().fetch(url, headers)


def verification_qr_svg(url: str) -> str:
    """The VeriFactu QR code of `url` as an SVG data URI.

    The AEAT's specification fixes error correction level M and a regular (not micro)
    QR code; boost_error=False keeps segno from raising the level on its own.
    """
    qr = segno.make(url, error="m", boost_error=False, micro=False)
    return qr.svg_data_uri(scale=4)


def invoice_pdf_render(
    document: InvoiceDocument,
    *,
    verification_url: str = "",
    logo: bytes | None = None,
    logo_media_type: str = "image/png",
) -> bytes:
    """The document as a PDF/A-3b, in the document's language."""
    if logo is not None and logo_media_type not in LOGO_MEDIA_TYPES:
        raise ValueError(f"Unsupported logo media type {logo_media_type!r}")
    with override(document.language):
        html = render_to_string(
            TEMPLATE_NAME,
            {
                "document": document,
                "view": _DocumentView.build(document),
                "verification_url": verification_url,
                "verification_qr": verification_qr_svg(verification_url) if verification_url else "",
                "logo": _data_uri(logo, logo_media_type) if logo is not None else "",
            },
        )
    base_url = _assets_dir().as_uri() + "/"
    fetcher = InvoiceAssetURLFetcher(fail_on_errors=True)
    pdf = io.BytesIO()
    try:
        HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(pdf, pdf_variant=PDF_VARIANT)
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint: callers (tasks, views) only catch Exception.
        raise InvoicePdfError(str(error)) from error
    finally:
        # The fetcher is a urllib OpenerDirector: closing it releases its handlers.
        fetcher.close()
    return pdf.getvalue()


def invoice_pdf_attach_xml(pdf: bytes, xml: bytes, *, language: str) -> bytes:
    """The hybrid Factur-X PDF: `pdf` with the CII `xml` embedded as factur-x.xml.

    `language` is the document's ("es", or a full tag such as "es-ES"). The XML is not
    checked against the XSD here: the format validates it when it is built.
    """
    tag = language if "-" in language else PDF_LANGUAGE_TAGS.get(language, language)
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        lang=tag,
    )


def _data_uri(content: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


def money_format(amount: Decimal, currency: str) -> str:
    """`amount` with the currency's decimals and the active language's separators, no code."""
    return _number(amount, decimal_pos=currency_exponent(currency))


def _number(value: Decimal, *, decimal_pos: int | None) -> str:
    # get_format reads the active language's formats (the caller overrides the language).
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return numberformat.format(
        value,
        get_format("DECIMAL_SEPARATOR"),
        decimal_pos=decimal_pos,
        grouping=get_format("NUMBER_GROUPING"),
        thousand_sep=THOUSAND_SEPARATORS.get(language, get_format("THOUSAND_SEPARATOR")),
        force_grouping=True,
    )


def _plain(value: Decimal) -> Decimal:
    """`value` without trailing zeros, never in exponent notation (Decimal("1E+2"))."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def _unit_price_format(price: Decimal, currency: str) -> str:
    # BT-146 may carry more decimals than the currency: show them, but never fewer.
    exponent = _plain(price).as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return _number(price, decimal_pos=max(decimals, currency_exponent(currency)))


@dataclass(frozen=True)
class _PartyView:
    name: str
    tax_id: str
    address_lines: tuple[str, ...]

    @classmethod
    def build(cls, party: Party, *, home_country: str) -> _PartyView:
        # A foreign EU party is identified by its VAT number with the country prefix
        # (Art. 226 of the VAT directive); a domestic one by its plain tax id.
        tax_id = party.vat_id if party.country != home_country and party.vat_id else party.tax_id
        locality = " ".join(part for part in (party.postal_code, party.city) if part)
        lines = tuple(line for line in (party.street, locality, party.country) if line)
        return cls(name=party.name, tax_id=tax_id, address_lines=lines)


@dataclass(frozen=True)
class _LineView:
    sku: str
    description: str
    quantity: str
    net_unit_price: str
    discount: str
    tax_rate: str
    net_amount: str


@dataclass(frozen=True)
class _TaxView:
    tax_rate: str
    taxable_amount: str
    tax_amount: str


@dataclass(frozen=True)
class _DocumentView:
    """Every value the template prints, already formatted for the active language."""

    seller: _PartyView
    buyer: _PartyView
    lines: tuple[_LineView, ...]
    taxes: tuple[_TaxView, ...]
    tax_basis_total: str
    tax_total: str
    grand_total: str
    rounding_amount: str  # "" when zero: the line is not printed
    paid_amount: str
    due_amount: str

    @classmethod
    def build(cls, document: InvoiceDocument) -> _DocumentView:
        currency = document.currency

        def money(amount: Decimal) -> str:
            return f"{money_format(amount, currency)}\u00a0{currency}"

        def optional_money(amount: Decimal) -> str:
            return money(amount) if amount else ""

        def rate(value: Decimal) -> str:
            return f"{_number(_plain(value), decimal_pos=None)}\u00a0%"

        home = document.seller.country
        return cls(
            seller=_PartyView.build(document.seller, home_country=home),
            buyer=_PartyView.build(document.buyer, home_country=home),
            lines=tuple(
                _LineView(
                    sku=line.sku,
                    description=line.description,
                    quantity=_number(_plain(line.quantity), decimal_pos=None),
                    net_unit_price=_unit_price_format(line.net_unit_price, currency),
                    discount=money_format(line.allowance_amount, currency) if line.allowance_amount else "",
                    tax_rate=rate(line.tax_rate),
                    net_amount=money_format(line.net_amount, currency),
                )
                for line in document.lines
            ),
            taxes=tuple(
                _TaxView(
                    tax_rate=rate(tax.tax_rate),
                    taxable_amount=money(tax.taxable_amount),
                    tax_amount=money(tax.tax_amount),
                )
                for tax in document.taxes
            ),
            tax_basis_total=money(document.tax_basis_total),
            tax_total=money(document.tax_total),
            grand_total=money(document.grand_total),
            rounding_amount=optional_money(document.rounding_amount),
            paid_amount=optional_money(document.paid_amount),
            due_amount=money(document.due_amount),
        )
