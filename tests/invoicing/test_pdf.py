"""The invoice PDF: PDF/A-3b, embedded fonts, texts in the document's language, the VeriFactu QR, Factur-X."""

from __future__ import annotations

import dataclasses
import datetime
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import facturx
import pypdf
import pytest
import segno
from django.conf import settings
from django.utils.translation import trans_real
from PIL import Image

from invoicing.documents import (
    TYPE_CODE_CREDIT_NOTE,
    TYPE_CODE_INVOICE,
    DocumentLine,
    InvoiceDocument,
    Party,
    TaxSubtotal,
)
from invoicing.formats.cii import FacturXCiiFormat
from invoicing.pdf import (
    InvoiceAssetURLFetcher,
    InvoicePdfError,
    invoice_pdf_attach_xml,
    invoice_pdf_render,
    verification_qr_svg,
)

VERIFICATION_URL = (
    "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR"
    "?nif=B12345678&numserie=F2025-000123&fecha=04-03-2025&importe=1493.82"
)
MM = 72 / 25.4  # PDF points per millimetre

# What the Spanish .po is to carry for the titles (it is maintained separately).
SPANISH_TITLES = {
    "Invoice": "Factura",
    "Simplified invoice": "Factura simplificada",
    "Credit note": "Factura rectificativa",
}


def _line(position: int, *, net_amount: str = "1234.56", description: str = "") -> DocumentLine:
    return DocumentLine(
        position=position,
        description=description or f"Camiseta manga corta {position}",
        quantity=Decimal(2),
        net_unit_price=Decimal(net_amount) / 2,
        allowance_amount=Decimal(0),
        net_amount=Decimal(net_amount),
        tax_rate=Decimal("21.00"),
        sku=f"TSHIRT-{position:04}",
    )


def _document(*, line_count: int = 1, **changes: Any) -> InvoiceDocument:
    lines = tuple(_line(position) for position in range(1, line_count + 1))
    net = sum((line.net_amount for line in lines), Decimal(0))
    tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    document = InvoiceDocument(
        number="F2025-000123",
        type_code=TYPE_CODE_INVOICE,
        issue_date=datetime.date(2025, 3, 4),
        currency="EUR",
        seller=Party(
            name="Tiendas Ejemplo S.L.",
            country="ES",
            tax_id="B12345678",
            street="Calle Mayor 1",
            city="Madrid",
            postal_code="28013",
        ),
        buyer=Party(
            name="Cliente Uno S.A.",
            country="ES",
            tax_id="A87654321",
            street="Gran Vía 2",
            city="Bilbao",
            postal_code="48001",
        ),
        lines=lines,
        taxes=(TaxSubtotal(tax_category="S", tax_rate=Decimal("21.00"), taxable_amount=net, tax_amount=tax),),
        line_total=net,
        tax_basis_total=net,
        tax_total=tax,
        grand_total=net + tax,
        due_amount=net + tax,
        language="en",
        source_reference="WEB-1001",
    )
    return dataclasses.replace(document, **changes)


def _pages(pdf: bytes) -> list[pypdf.PageObject]:
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _page_texts(pdf: bytes) -> list[str]:
    # WeasyPrint keeps no-break spaces (between an amount and its currency): compare plain text.
    return [page.extract_text().replace("\xa0", " ") for page in _pages(pdf)]


def _text(pdf: bytes) -> str:
    return "\n".join(_page_texts(pdf))


def _text_runs(page: pypdf.PageObject) -> list[tuple[str, float]]:
    """Each text run on the page with its baseline height (points from the page's bottom)."""
    runs: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: Any) -> None:
        if text.strip():
            runs.append((text.strip(), tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return runs


def _height(runs: list[tuple[str, float]], text: str) -> float:
    return next(height for run, height in runs if run == text)


def _pdf_a_identification(pdf: bytes) -> tuple[str | None, str | None]:
    """The PDF/A part and conformance level the XMP metadata declares."""
    xmp = pypdf.PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None
    return xmp.pdfaid_part, xmp.pdfaid_conformance


def _fonts(pdf: bytes) -> Iterator[Any]:
    for page in _pages(pdf):
        resources: Any = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            yield font.get_object()


def _font_descriptor(font: Any) -> Any:
    # A composite (Type0) font keeps its descriptor on its descendant font.
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    return font["/FontDescriptor"].get_object()


@pytest.fixture(scope="module")
def render() -> Callable[..., bytes]:
    """invoice_pdf_render, remembering each PDF: several tests read the same document."""
    rendered: dict[tuple[InvoiceDocument, str], bytes] = {}

    def render(document: InvoiceDocument, *, verification_url: str = "") -> bytes:
        key = (document, verification_url)
        if key not in rendered:
            rendered[key] = invoice_pdf_render(document, verification_url=verification_url)
        return rendered[key]

    return render


@pytest.fixture(scope="module")
def long_pdf(render: Callable[..., bytes]) -> bytes:
    return render(_document(line_count=120))


@pytest.fixture
def spanish_titles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until the Spanish .po carries the titles, give a fresh catalog (the test's own
    # translation cache, dropped afterwards) the texts it is to hold.
    monkeypatch.setattr(trans_real, "_translations", {})
    catalog = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    for msgid, msgstr in SPANISH_TITLES.items():
        catalog[f"invoice title\x04{msgid}"] = msgstr


def test_pdf_is_pdf_a_3b(render: Callable[..., bytes]) -> None:
    pdf = render(_document())

    assert _pdf_a_identification(pdf) == ("3", "B")


def test_every_font_is_embedded(render: Callable[..., bytes]) -> None:
    fonts = list(_fonts(render(_document())))

    assert fonts
    assert all({"/FontFile", "/FontFile2", "/FontFile3"} & set(_font_descriptor(font)) for font in fonts)


def test_text_uses_the_bundled_regular_and_bold_faces(render: Callable[..., bytes]) -> None:
    # Subset fonts are named "ABCDEF+<name>"; WeasyPrint names them after the @font-face family.
    names = {str(font["/BaseFont"]).split("+")[-1] for font in _fonts(render(_document()))}

    assert names == {"Invoice-Sans", "Invoice-Sans-Bold"}


def test_text_names_number_parties_and_lines(render: Callable[..., bytes]) -> None:
    document = _document(line_count=3)

    text = _text(render(document))

    expected = [
        document.number,
        document.source_reference,
        document.seller.name,
        document.seller.tax_id,
        document.buyer.name,
        document.buyer.tax_id,
        *(line.description for line in document.lines),
        *(line.sku for line in document.lines),
    ]
    assert [value for value in expected if value not in text] == []


def test_foreign_eu_buyer_is_named_by_prefixed_vat_number(render: Callable[..., bytes]) -> None:
    buyer = Party(name="Client Deux SARL", country="FR", tax_id="12345678901", city="Paris")

    text = _text(render(_document(buyer=buyer)))

    assert "FR12345678901" in text


@pytest.mark.parametrize(
    ("language", "net_total", "grand_total"),
    [("es", "1.234,56 EUR", "1.493,82 EUR"), ("en", "1,234.56 EUR", "1,493.82 EUR")],
)
def test_totals_use_the_language_separators(
    render: Callable[..., bytes], language: str, net_total: str, grand_total: str
) -> None:
    text = _text(render(_document(language=language)))

    assert net_total in text
    assert grand_total in text


def test_amounts_in_a_currency_without_decimals_have_none(render: Callable[..., bytes]) -> None:
    line = dataclasses.replace(
        _line(1), net_unit_price=Decimal(61728), net_amount=Decimal(123456), tax_rate=Decimal(19)
    )
    document = _document(
        currency="CLP",
        language="es",
        lines=(line,),
        taxes=(TaxSubtotal("S", Decimal(19), Decimal(123456), Decimal(23457)),),
        line_total=Decimal(123456),
        tax_basis_total=Decimal(123456),
        tax_total=Decimal(23457),
        grand_total=Decimal(146913),
        due_amount=Decimal(146913),
    )

    text = _text(render(document))

    assert "146.913 CLP" in text
    assert "146.913," not in text


def test_unit_price_keeps_its_extra_decimals(render: Callable[..., bytes]) -> None:
    line = dataclasses.replace(_line(1), net_unit_price=Decimal("0.1235"), quantity=Decimal(1000))

    text = _text(render(_document(lines=(line,))))

    assert "0.1235" in text


@pytest.mark.usefixtures("spanish_titles")
@pytest.mark.parametrize(
    ("changes", "language", "title"),
    [
        pytest.param({}, "en", "Invoice", id="invoice-en"),
        pytest.param({"simplified": True}, "en", "Simplified invoice", id="simplified-en"),
        pytest.param({"type_code": TYPE_CODE_CREDIT_NOTE}, "en", "Credit note", id="credit-note-en"),
        pytest.param({}, "es", "Factura", id="invoice-es"),
        pytest.param({"simplified": True}, "es", "Factura simplificada", id="simplified-es"),
        pytest.param({"type_code": TYPE_CODE_CREDIT_NOTE}, "es", "Factura rectificativa", id="credit-note-es"),
    ],
)
def test_title_follows_kind_and_language(changes: dict[str, Any], language: str, title: str) -> None:
    # Not cached: the catalog differs from the other tests'.
    pdf = invoice_pdf_render(_document(language=language, **changes))

    assert title in _page_texts(pdf)[0].splitlines()


def test_credit_note_names_the_corrected_invoice(render: Callable[..., bytes]) -> None:
    document = _document(
        type_code=TYPE_CODE_CREDIT_NOTE,
        preceding_number="F2025-000099",
        preceding_issue_date=datetime.date(2025, 2, 28),
    )

    text = _text(render(document))

    assert "F2025-000099, Feb. 28, 2025" in text


def test_full_invoice_names_the_simplified_invoice_it_replaces(render: Callable[..., bytes]) -> None:
    text = _text(render(_document(replaced_number="T2025-004567")))

    assert "T2025-004567" in text


def test_rounding_and_paid_amounts_are_printed_when_not_zero(render: Callable[..., bytes]) -> None:
    document = _document(rounding_amount=Decimal("0.02"), paid_amount=Decimal("1000.00"), due_amount=Decimal("493.84"))

    lines = _text(render(document)).splitlines()

    assert {"Rounding 0.02 EUR", "Paid 1,000.00 EUR", "Amount due 493.84 EUR"} <= set(lines)


def test_rounding_and_paid_amounts_are_left_out_when_zero(render: Callable[..., bytes]) -> None:
    text = _text(render(_document()))

    assert "Rounding" not in text
    assert "Paid" not in text


def test_notes_are_printed(render: Callable[..., bytes]) -> None:
    text = _text(render(_document(notes=("Goods remain ours until paid.",))))

    assert "Goods remain ours until paid." in text


def test_verification_qr_is_on_page_one_above_the_lines(render: Callable[..., bytes]) -> None:
    runs = _text_runs(_pages(render(_document(), verification_url=VERIFICATION_URL))[0])

    first_line = max(height for text, height in runs if text.startswith("TSHIRT-"))
    assert _height(runs, "QR tributario:") > first_line


def test_verification_qr_is_printed_between_30_and_40_mm(render: Callable[..., bytes]) -> None:
    runs = _text_runs(_pages(render(_document(), verification_url=VERIFICATION_URL))[0])

    # The QR sits between its label and the legend: the gap is the QR plus a line of text.
    gap = _height(runs, "QR tributario:") - _height(runs, "VERI*FACTU")
    assert 30 * MM < gap < 45 * MM


def test_no_verification_qr_without_url(render: Callable[..., bytes]) -> None:
    text = _text(render(_document()))

    assert "QR tributario:" not in text
    assert "VERI*FACTU" not in text


def test_verification_qr_encodes_the_url() -> None:
    assert verification_qr_svg(VERIFICATION_URL) != verification_qr_svg(VERIFICATION_URL + "0")


def test_verification_qr_uses_error_correction_m() -> None:
    reference = segno.make(VERIFICATION_URL, error="m", boost_error=False, micro=False)

    assert reference.error == "M"
    assert verification_qr_svg(VERIFICATION_URL) == reference.svg_data_uri(scale=4)


def test_long_document_spans_several_pages(long_pdf: bytes) -> None:
    assert len(_pages(long_pdf)) > 1


def test_long_document_repeats_the_lines_header_on_every_page(long_pdf: bytes) -> None:
    header = "SKU Description Quantity Unit price Discount Tax rate Net amount"

    assert all(header in text for text in _page_texts(long_pdf))


def test_pages_are_numbered_page_x_of_y(long_pdf: bytes) -> None:
    texts = _page_texts(long_pdf)

    assert all(f"Page {number} of {len(texts)}" in text for number, text in enumerate(texts, start=1))


def test_seller_name_is_in_the_footer_of_every_page(long_pdf: bytes) -> None:
    seller = _document().seller.name
    bottom_margin = 20 * MM

    footers = [[text for text, height in _text_runs(page) if height < bottom_margin] for page in _pages(long_pdf)]

    assert all(seller in footer for footer in footers)


def test_logo_is_embedded_as_an_image() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (37, 11), "navy").save(buffer, format="PNG")

    page = _pages(invoice_pdf_render(_document(), logo=buffer.getvalue()))[0]

    sizes = {image.image.size for image in page.images if image.image}
    assert (37, 11) in sizes


def test_logo_of_an_unsupported_media_type_is_refused() -> None:
    with pytest.raises(ValueError, match="media type"):
        invoice_pdf_render(_document(), logo=b"GIF89a", logo_media_type="image/gif")


def test_asset_fetcher_loads_files_under_static() -> None:
    font = Path(settings.BASE_DIR) / "static" / "invoicing" / "fonts" / "DejaVuSans.ttf"
    fetcher = InvoiceAssetURLFetcher()

    response = fetcher.fetch(font.as_uri())

    assert response.read(4) == font.read_bytes()[:4]
    response.close()
    fetcher.close()


@pytest.mark.parametrize("url", ["file:///etc/hostname", "http://127.0.0.1:9/logo.png"])
def test_asset_fetcher_refuses_anything_else(url: str) -> None:
    fetcher = InvoiceAssetURLFetcher()

    with pytest.raises(ValueError, match="Invoice PDF may"):
        fetcher.fetch(url)
    fetcher.close()


def test_attached_xml_reads_back_unchanged(render: Callable[..., bytes]) -> None:
    document = _document()
    xml = FacturXCiiFormat().build(document)

    hybrid = invoice_pdf_attach_xml(render(document), xml, language=document.language)

    assert facturx.get_facturx_xml_from_pdf(hybrid, check_xsd=False) == ("factur-x.xml", xml)


def test_attached_pdf_declares_the_document_language(render: Callable[..., bytes]) -> None:
    document = _document(language="es")

    hybrid = invoice_pdf_attach_xml(render(document), FacturXCiiFormat().build(document), language=document.language)

    catalog: Any = pypdf.PdfReader(io.BytesIO(hybrid)).trailer["/Root"]
    assert catalog["/Lang"] == "es-ES"


def test_attached_pdf_stays_pdf_a_3b(render: Callable[..., bytes]) -> None:
    document = _document()

    hybrid = invoice_pdf_attach_xml(render(document), FacturXCiiFormat().build(document), language=document.language)

    assert _pdf_a_identification(hybrid) == ("3", "B")


def test_missing_font_file_fails_the_render(settings: Any, tmp_path: Path) -> None:
    # The stylesheet without its fonts: a system font must not stand in silently.
    stylesheet = Path(settings.BASE_DIR) / "static" / "invoicing" / "invoice.css"
    (tmp_path / "static" / "invoicing").mkdir(parents=True)
    (tmp_path / "static" / "invoicing" / "invoice.css").write_bytes(stylesheet.read_bytes())
    settings.BASE_DIR = tmp_path

    with pytest.raises(InvoicePdfError, match=r"DejaVuSans"):
        invoice_pdf_render(_document())
