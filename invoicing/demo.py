"""Demo invoicing: the demo retailer as seller, with its logo, and a few documents of each kind.

Documents are issued through invoicing.services (numbers, totals, billing record chain), so
with the embedded default they are rendered and "e-mailed" (to files under var/mail) at once.
Idempotent: nothing is issued when the seller already has documents.
"""

from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from catalog.models import Variant
from customers.models import Customer
from invoicing.calculation import LineInput
from invoicing.models import Invoice, Seller
from invoicing.services import Buyer, CreditLine, invoice_credit, invoice_issue, invoice_ticket_exchange

LOGO = settings.BASE_DIR / "static" / "invoicing" / "demo-logo.svg"


def _seller() -> Seller:
    seller, created = Seller.objects.get_or_create(
        tax_id="B12345674",
        defaults={
            "name": "Moda Sol S.L.",
            "street": "Calle Gran Vía 32",
            "city": "Madrid",
            "postal_code": "28013",
            "country": "ES",
            "email": "facturas@modasol.example",
            "is_default": True,
        },
    )
    if created and LOGO.exists():
        seller.logo.save("modasol.svg", ContentFile(LOGO.read_bytes()), save=True)
    return seller


def _lines(variants: list[Variant], quantities: list[int]) -> list[LineInput]:
    return [
        LineInput(
            description=f"{variant.product.name} {variant.size} {variant.colour}".strip(),
            sku=variant.sku,
            quantity=Decimal(quantity),
            unit_price=variant.price,
            tax_rate=variant.product.tax_category.rate,
        )
        for variant, quantity in zip(variants, quantities, strict=False)
    ]


def load() -> dict[str, int]:
    seller = _seller()
    if Invoice.objects.filter(seller=seller).exists():
        return {}
    variants = list(Variant.objects.select_related("product__tax_category").order_by("sku")[:40])
    customers = list(Customer.objects.order_by("pk")[:6])
    if len(variants) < 12:
        return {}

    def customer(index: int) -> Customer | None:
        return customers[index] if index < len(customers) else None

    # Tickets at the till and on the web (no tax id), one of them later exchanged.
    tickets = [
        invoice_issue(
            seller=seller,
            buyer=Buyer(email=f"cliente{n}@example.com", language="es" if n % 2 else "en"),
            lines=_lines(variants[n * 3 : n * 3 + 3], [1, 2, 1]),
            customer=customer(n),
            source_reference=f"DEMO-T{n + 1}",
        )
        for n in range(4)
    ]
    full = invoice_issue(
        seller=seller,
        buyer=Buyer(
            name="Ana García López",
            tax_id="12345678Z",
            country="ES",
            street="Calle Luna 3",
            city="Sevilla",
            postal_code="41001",
            email="ana.garcia@example.com",
            language="es",
        ),
        lines=_lines(variants[12:17], [1, 1, 2, 1, 3]),
        customer=customer(4),
        source_reference="DEMO-F1",
    )
    # A return of one unit (partial credit note) and a cancelled order (full credit note).
    returned = full.lines.order_by("position")[2]
    invoice_credit(
        invoice=full, lines=[CreditLine(line_id=returned.pk, quantity=Decimal(1))], reason=_("Return of one unit")
    )
    invoice_credit(invoice=tickets[3], reason=_("Order cancelled"))
    invoice_ticket_exchange(
        ticket=tickets[0],
        buyer=Buyer(
            name="Talleres Ruiz S.L.",
            tax_id="A58818501",
            country="ES",
            street="Avenida de América 10",
            city="Madrid",
            postal_code="28028",
            email="compras@talleresruiz.example",
            language="es",
        ),
    )
    return {_("invoicing documents"): Invoice.objects.filter(seller=seller).count()}
