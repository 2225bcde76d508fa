"""Invoice rendering benchmark: the median time to produce a 1-page and a 5-page document.

"Produce" is the worker's whole job for a full invoice: build the Factur-X CII and UBL XML,
validate both (XSD + EN 16931 schematron), render the PDF/A-3b with WeasyPrint and embed the
CII XML (the hybrid Factur-X PDF). Schemas and stylesheets are compiled once per process,
before timing, as in a worker. Prints what it measured; asserts nothing about time.

    make bench-invoice        # BENCH_RUNS=15 by default
"""

import datetime
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_ENV", "local")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
PAGES = {"1 page": 8, "5 pages": 150}  # lines per document


def main() -> None:
    import django

    from config.env import configure

    configure()
    django.setup()
    from invoicing.calculation import LineInput, invoice_totals_compute
    from invoicing.documents import TYPE_CODE_INVOICE, DocumentLine, InvoiceDocument, Party
    from invoicing.formats import formats_for
    from invoicing.pdf import invoice_pdf_attach_xml, invoice_pdf_render
    from invoicing.verifactu import verification_url

    seller = Party(
        name="Moda Sol S.L.", country="ES", tax_id="B12345674", street="Gran Vía 32", city="Madrid", postal_code="28013"
    )
    buyer = Party(
        name="Ana García", country="ES", tax_id="12345678Z", street="Calle Luna 3", city="Sevilla", postal_code="41001"
    )

    def document(lines: int) -> InvoiceDocument:
        inputs = [
            LineInput(
                description=f"Camiseta algodón orgánico talla M color {n}",
                sku=f"CAM-{n:05d}",
                quantity=Decimal(1 + n % 3),
                unit_price=Decimal("19.95") + n,
                tax_rate=Decimal(21 if n % 4 else 10),
            )
            for n in range(lines)
        ]
        totals = invoice_totals_compute(lines=inputs, currency="EUR")
        return InvoiceDocument(
            number="F2026-000001",
            type_code=TYPE_CODE_INVOICE,
            issue_date=datetime.date(2026, 11, 24),
            currency="EUR",
            seller=seller,
            buyer=buyer,
            lines=tuple(
                DocumentLine(
                    position=i,
                    description=line.source.description,
                    quantity=line.source.quantity,
                    net_unit_price=line.net_unit_price,
                    allowance_amount=line.allowance_amount,
                    net_amount=line.net_amount,
                    tax_rate=line.source.tax_rate,
                    tax_category=line.tax_category,
                    sku=line.source.sku,
                )
                for i, line in enumerate(totals.lines, start=1)
            ),
            taxes=totals.taxes,
            line_total=totals.line_total,
            tax_basis_total=totals.line_total,
            tax_total=totals.tax_total,
            grand_total=totals.grand_total,
            rounding_amount=totals.rounding_amount,
            paid_amount=totals.payable_total,
            due_amount=Decimal(0),
        )

    def produce(doc: InvoiceDocument) -> bytes:
        renditions = [f.render(doc) for f in formats_for(doc)]
        assert all(r.is_valid for r in renditions), [r.findings for r in renditions]  # noqa: S101
        url = verification_url(
            issuer_tax_id=seller.tax_id, number=doc.number, issue_date=doc.issue_date, grand_total=doc.grand_total
        )
        pdf = invoice_pdf_render(doc, verification_url=url)
        return invoice_pdf_attach_xml(pdf, renditions[0].content, language="es")

    started = time.perf_counter()
    produce(document(1))  # compiles schemas and stylesheets, loads fonts: once per worker process
    print(f"warm-up (compile schemas, stylesheets, fonts): {time.perf_counter() - started:.2f} s")
    for label, lines in PAGES.items():
        doc = document(lines)
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            pdf = produce(doc)
            timings.append(time.perf_counter() - started)
        print(
            f"{label} ({lines} lines, {len(pdf) // 1024} KB): median {statistics.median(timings):.3f} s, "
            f"min {min(timings):.3f} s, max {max(timings):.3f} s over {RUNS} runs"
        )


if __name__ == "__main__":
    main()
