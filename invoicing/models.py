"""Fiscal documents: sellers, series, invoices, credit notes, their renditions and the billing record chain.

Issued documents never change: the model refuses it, and on PostgreSQL a trigger refuses
it too (migration 0002). Corrections are credit notes.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from config.models import AppendOnlyModel
from invoicing.exceptions import IssuedDocumentImmutable


class Seller(models.Model):
    """A legal entity that issues documents: one or several per installation."""

    name = models.CharField(_("legal name"), max_length=200)
    tax_id = models.CharField(_("tax id"), max_length=20, unique=True, help_text=_("Validated and compacted."))
    street = models.CharField(_("street"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. ES."))
    email = models.EmailField(_("e-mail"), blank=True)
    logo = models.FileField(
        _("logo"),
        upload_to="invoicing/logos/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "svg"])],
    )
    is_default = models.BooleanField(_("default seller"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="seller_country_iso"),
            models.UniqueConstraint(fields=("is_default",), condition=Q(is_default=True), name="seller_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_id})"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    SIMPLIFIED = "simplified", _("Simplified invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


DEFAULT_PREFIXES = {DocumentKind.INVOICE: "F", DocumentKind.SIMPLIFIED: "T", DocumentKind.CREDIT_NOTE: "R"}


class InvoiceSeries(models.Model):
    """A gapless numbering sequence: per seller, document kind and fiscal year.

    `last_number` is advanced under a row lock inside the issuing transaction, so a
    rolled-back issue gives its number back and no two documents share one.
    """

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="series", verbose_name=_("seller"))
    kind = models.CharField(_("document kind"), max_length=20, choices=DocumentKind.choices)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    prefix = models.CharField(_("prefix"), max_length=10)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("series")
        verbose_name_plural = _("series")
        ordering = ("seller", "-fiscal_year", "kind")
        constraints = [
            models.UniqueConstraint(fields=("seller", "kind", "fiscal_year"), name="series_one_per_kind_and_year"),
            models.UniqueConstraint(fields=("seller", "prefix", "fiscal_year"), name="series_prefix_unique"),
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="series_kind_valid"),
            models.CheckConstraint(condition=Q(prefix__regex=r"^[A-Z0-9]{1,10}$"), name="series_prefix_format"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.fiscal_year} ({self.get_kind_display()})"

    def format_number(self, sequence: int) -> str:
        return f"{self.prefix}{self.fiscal_year}-{sequence:06d}"


class RenderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RENDERED = "rendered", _("Rendered")
    FAILED = "failed", _("Failed")


class EmailStatus(models.TextChoices):
    """How the document's e-mail to the buyer stands, read from its outbox message (invoicing.selectors)."""

    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NO_ADDRESS = "no_address", _("No e-mail address")


class Invoice(models.Model):
    """An issued fiscal document (invoice, simplified invoice or credit note).

    Seller and buyer are snapshots: what was printed, whatever later happens to the
    seller row or the customer. Only the operational fields (rendering, ERP) change after
    issue, through services; the e-mail to the buyer is an outbox message of its own.
    """

    # Fields that may change after issue; everything else is the document itself.
    OPERATIONAL_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "customer",
            "render_status",
            "render_findings",
            "rendered_at",
            "erp_enqueued_at",
        }
    )

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("seller"))
    series = models.ForeignKey(
        InvoiceSeries, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("series")
    )
    kind = models.CharField(_("document kind"), max_length=20, choices=DocumentKind.choices)
    sequence = models.PositiveIntegerField(_("sequence"))
    number = models.CharField(_("number"), max_length=40)
    issue_date = models.DateField(_("issue date"))
    issued_at = models.DateTimeField(_("issued at"))
    currency = models.CharField(_("currency"), max_length=3)
    prices_include_tax = models.BooleanField(_("prices include tax"), default=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)

    seller_name = models.CharField(_("seller name"), max_length=200)
    seller_tax_id = models.CharField(_("seller tax id"), max_length=20)
    seller_street = models.CharField(_("seller street"), max_length=200)
    seller_city = models.CharField(_("seller city"), max_length=100)
    seller_postal_code = models.CharField(_("seller postal code"), max_length=20)
    seller_country = models.CharField(_("seller country"), max_length=2)
    seller_email = models.CharField(_("seller e-mail"), max_length=254, blank=True)

    buyer_name = models.CharField(_("buyer name"), max_length=200, blank=True)
    buyer_tax_id = models.CharField(_("buyer tax id"), max_length=20, blank=True, db_index=True)
    buyer_street = models.CharField(_("buyer street"), max_length=200, blank=True)
    buyer_city = models.CharField(_("buyer city"), max_length=100, blank=True)
    buyer_postal_code = models.CharField(_("buyer postal code"), max_length=20, blank=True)
    buyer_country = models.CharField(_("buyer country"), max_length=2, blank=True)
    buyer_email = models.CharField(_("buyer e-mail"), max_length=254, blank=True)

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
        verbose_name=_("customer"),
    )
    source_reference = models.CharField(_("source reference"), max_length=64, blank=True, db_index=True)
    issued_by = models.ForeignKey(
        "config.ChannelClient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued through"),
        help_text=_("The channel client whose request issued it; empty when staff or the system did."),
    )
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("corrected invoice"),
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces simplified invoice"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    line_total = models.DecimalField(_("net total"), max_digits=14, decimal_places=2)
    tax_total = models.DecimalField(_("tax total"), max_digits=14, decimal_places=2)
    grand_total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    rounding_amount = models.DecimalField(_("rounding"), max_digits=14, decimal_places=2, default=0)
    payable_total = models.DecimalField(_("amount payable"), max_digits=14, decimal_places=2)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=0)

    render_status = models.CharField(
        _("rendering"), max_length=20, choices=RenderStatus.choices, default=RenderStatus.PENDING
    )
    render_findings = models.JSONField(_("validation findings"), default=list, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    erp_enqueued_at = models.DateTimeField(_("sent to the ERP at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ("-issued_at", "-pk")
        permissions = [("export_invoices", _("Can export documents for the accountants"))]
        constraints = [
            models.UniqueConstraint(fields=("series", "sequence"), name="invoice_sequence_unique_per_series"),
            models.UniqueConstraint(fields=("seller", "number"), name="invoice_number_unique_per_seller"),
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="invoice_kind_valid"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="invoice_sequence_positive"),
            # A credit note corrects an invoice; nothing else does.
            models.CheckConstraint(
                condition=Q(kind=DocumentKind.CREDIT_NOTE, original__isnull=False)
                | (~Q(kind=DocumentKind.CREDIT_NOTE) & Q(original__isnull=True)),
                name="invoice_credit_note_has_original",
            ),
            # Only a full invoice replaces a ticket.
            models.CheckConstraint(
                condition=Q(replaces__isnull=True) | Q(kind=DocumentKind.INVOICE), name="invoice_replaces_by_full"
            ),
            # A full invoice names its buyer; EN 16931 needs the name and country.
            models.CheckConstraint(
                condition=~Q(kind=DocumentKind.INVOICE)
                | (~Q(buyer_tax_id="") & ~Q(buyer_name="") & ~Q(buyer_country="")),
                name="invoice_full_names_buyer",
            ),
            models.CheckConstraint(condition=Q(line_total__gte=0), name="invoice_line_total_not_negative"),
            models.CheckConstraint(condition=Q(tax_total__gte=0), name="invoice_tax_total_not_negative"),
            # Rounded: SQLite (the embedded default) adds decimals as floating point.
            models.CheckConstraint(
                condition=Q(grand_total=Round(F("line_total") + F("tax_total"), 2)), name="invoice_grand_total_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(payable_total=Round(F("grand_total") + F("rounding_amount"), 2)),
                name="invoice_payable_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(render_status__in=RenderStatus.values), name="invoice_render_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=("issue_date",), name="invoice_issue_date_idx"),
            models.Index(
                fields=("render_status",), condition=Q(render_status="pending"), name="invoice_render_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.OPERATIONAL_FIELDS:
                raise IssuedDocumentImmutable(
                    str(_("An issued document cannot be changed: issue a credit note.")),
                    extra={"number": self.number},
                )
        super().save(*args, **kwargs)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE


class InvoiceLine(AppendOnlyModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines", verbose_name=_("invoice"))
    position = models.PositiveSmallIntegerField(_("position"))
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=0)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=2)
    gross_amount = models.DecimalField(_("amount with tax"), max_digits=14, decimal_places=2)
    net_amount = models.DecimalField(_("net amount"), max_digits=14, decimal_places=2)
    allowance_amount = models.DecimalField(_("net discount"), max_digits=14, decimal_places=2, default=0)
    net_unit_price = models.DecimalField(_("net unit price"), max_digits=18, decimal_places=6)
    original_line = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_lines",
        verbose_name=_("credited line"),
    )

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ("invoice", "position")
        constraints = [
            models.UniqueConstraint(fields=("invoice", "position"), name="invoice_line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="invoice_line_price_not_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="invoice_line_discount_not_negative"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=100), name="invoice_line_tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description}"


class InvoiceTax(AppendOnlyModel):
    """The tax breakdown: one row per rate (EN 16931 BG-23)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="taxes", verbose_name=_("invoice"))
    tax_category = models.CharField(_("tax category"), max_length=2)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=2)
    taxable_amount = models.DecimalField(_("taxable amount"), max_digits=14, decimal_places=2)
    tax_amount = models.DecimalField(_("tax amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("tax breakdown")
        verbose_name_plural = _("tax breakdown")
        ordering = ("invoice", "-tax_rate")
        constraints = [
            models.UniqueConstraint(fields=("invoice", "tax_rate"), name="invoice_tax_one_row_per_rate"),
        ]

    def __str__(self) -> str:
        return f"{self.tax_rate} %: {self.tax_amount}"


class InvoiceFile(AppendOnlyModel):
    """A rendition of a document (the PDF, each XML format), stored once it is valid."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="files", verbose_name=_("invoice"))
    format_code = models.CharField(_("format"), max_length=20)
    media_type = models.CharField(_("media type"), max_length=60)
    content = models.BinaryField(_("content"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document file")
        verbose_name_plural = _("document files")
        ordering = ("invoice", "format_code")
        constraints = [
            models.UniqueConstraint(fields=("invoice", "format_code"), name="invoice_file_one_per_format"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.format_code}"


class BillingRecordType(models.TextChoices):
    """VeriFactu TipoFactura."""

    F1 = "F1", _("Invoice")
    F2 = "F2", _("Simplified invoice")
    F3 = "F3", _("Invoice replacing simplified invoices")
    R1 = "R1", _("Corrective invoice")
    R5 = "R5", _("Corrective simplified invoice")


class SubmissionStatus(models.TextChoices):
    NOT_SUBMITTED = "not_submitted", _("Not submitted")
    SUBMITTED = "submitted", _("Submitted")
    REJECTED = "rejected", _("Rejected")


class BillingRecord(AppendOnlyModel):
    """Spain's VeriFactu registration record: each one's fingerprint chains to the previous one of its issuer.

    `hashed_input` is the exact string that was hashed, so the chain can be re-verified
    byte for byte ("12.35" and "12.350" hash differently).
    """

    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, related_name="billing_record", verbose_name=_("document")
    )
    issuer_tax_id = models.CharField(_("issuer tax id"), max_length=20)
    position = models.PositiveIntegerField(_("position in chain"))
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next", verbose_name=_("previous record")
    )
    record_type = models.CharField(_("invoice type"), max_length=2, choices=BillingRecordType.choices)
    hashed_input = models.TextField(_("hashed string"))
    fingerprint = models.CharField(_("fingerprint (huella)"), max_length=64)
    generated_at = models.CharField(_("generated at"), max_length=32, help_text=_("As hashed, with its offset."))
    submission_status = models.CharField(
        _("submission"), max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.NOT_SUBMITTED
    )

    class Meta:
        verbose_name = _("billing record")
        verbose_name_plural = _("billing records")
        ordering = ("issuer_tax_id", "position")
        constraints = [
            models.UniqueConstraint(fields=("issuer_tax_id", "position"), name="billing_record_position_unique"),
            models.UniqueConstraint(
                fields=("issuer_tax_id",), condition=Q(previous__isnull=True), name="billing_record_one_chain_start"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="billing_record_position_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer_tax_id} #{self.position}"
