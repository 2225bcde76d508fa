"""Invoicing in the admin: sellers and series set up by staff; issued documents read-only.

Documents change only through services: the actions below re-send the e-mail or issue a
credit note; downloads serve the stored PDF and XML.

Who may do what is the same as through the API (invoicing/api/views.py): viewing,
downloading and re-sending the e-mail to the buyer need `view_invoice` (an agent sends a
customer a copy), the accountants' export `export_invoices`, and a credit note, a fiscal
document of its own, `change_invoice` (invoicing.roles: accountants and managers).
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from config.admin_kit import NoAddMixin, NoDeleteMixin, QueryChoiceFilter, ReadOnlyInline, ServiceAdminMixin
from invoicing import selectors, services
from invoicing.exports import invoice_export_csv
from invoicing.models import BillingRecord, EmailStatus, Invoice, InvoiceLine, InvoiceSeries, InvoiceTax, Seller


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("name", "tax_id", "city", "country", "is_default")
    search_fields = ("name", "tax_id")


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(admin.ModelAdmin):
    list_display = ("__str__", "seller", "kind", "fiscal_year", "prefix", "last_number")
    list_filter = ("kind", "fiscal_year", "seller")
    # The counter moves only when a document is issued.
    readonly_fields = ("last_number",)

    def get_readonly_fields(self, request: HttpRequest, obj: InvoiceSeries | None = None) -> Any:
        if obj is not None and obj.last_number:
            return ("seller", "kind", "fiscal_year", "prefix", "last_number")
        return self.readonly_fields


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ("position", "sku", "description", "quantity", "unit_price", "discount", "tax_rate", "net_amount")
    readonly_fields = fields
    fk_name = "invoice"


class InvoiceTaxInline(ReadOnlyInline):
    model = InvoiceTax
    fields = ("tax_rate", "taxable_amount", "tax_amount")
    readonly_fields = fields


class EmailStatusFilter(QueryChoiceFilter):
    """The e-mail to the buyer, as its outbox message stands (the `email_status` the admin's queryset annotates)."""

    title = _("e-mail")
    parameter_name = "email_status"
    queries = {status.value: (status.label, Q(email_status=status.value)) for status in EmailStatus}


@admin.register(Invoice)
class InvoiceAdmin(NoAddMixin, NoDeleteMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Documents are issued by services and never deleted: corrections are credit notes."""

    list_display = (
        "number",
        "kind",
        "issue_date",
        "buyer_name",
        "buyer_tax_id",
        "customer",
        "payable_total",
        "currency",
        "render_status",
        "email_status",
    )
    list_filter = ("kind", "render_status", EmailStatusFilter, "issue_date", "seller", "currency")
    search_fields = ("number", "buyer_tax_id", "buyer_name", "source_reference", "customer__name")
    date_hierarchy = "issue_date"
    list_select_related = ("customer",)
    inlines = (InvoiceLineInline, InvoiceTaxInline)
    actions = ("resend_email", "issue_credit_note", "export_csv")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return selectors.invoices_with_email_status(super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Invoice | None = None) -> Any:
        return [field.name for field in Invoice._meta.fields] + ["downloads", "fingerprint", "email_status"]

    def get_fields(self, request: HttpRequest, obj: Invoice | None = None) -> Any:
        return ["downloads", "fingerprint", "email_status", *(f.name for f in Invoice._meta.fields if f.name != "id")]

    @admin.display(description=_("e-mail"), ordering="email_status")
    def email_status(self, invoice: Invoice) -> str:
        # Its outbox message holds the attempts and the last error (Platform, Outbox).
        return str(EmailStatus(selectors.invoice_email_status(invoice=invoice)).label)

    @admin.display(description=_("files"))
    def downloads(self, invoice: Invoice) -> str:
        codes = sorted(invoice.files.values_list("format_code", flat=True))
        if not codes:
            return str(_("Not rendered yet."))
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((reverse("admin:invoicing_invoice_download", args=[invoice.pk, code]), code.upper()) for code in codes),
        )

    @admin.display(description=_("VeriFactu fingerprint"))
    def fingerprint(self, invoice: Invoice) -> str:
        record = BillingRecord.objects.filter(invoice=invoice).first()
        return format_html("<code>{}</code>", record.fingerprint) if record else "—"

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:invoice_id>/download/<str:format_code>/",
            self.admin_site.admin_view(self.download_view),
            name="invoicing_invoice_download",
        )
        return [download, *super().get_urls()]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_invoices")

    def download_view(self, request: HttpRequest, invoice_id: int, format_code: str) -> HttpResponse:
        # admin_view lets in any staff member: the file is as private as the document itself.
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        file = selectors.invoice_file(invoice=invoice, format_code=format_code)
        if file is None:
            return HttpResponse(status=404)
        response = HttpResponse(bytes(file.content), content_type=file.media_type)
        extension = "pdf" if format_code == "pdf" else "xml"
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}-{format_code}.{extension}"'
        return response

    @admin.action(description=_("Send the e-mail to the buyer again"))
    def resend_email(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self.run_for_each(
            request,
            queryset,
            lambda invoice: services.invoice_email_resend(invoice=invoice),
            label=lambda invoice: invoice.number,
            done=ngettext_lazy("%(count)d e-mail will be sent.", "%(count)d e-mails will be sent.", "count"),
            refused_level=messages.WARNING,
        )

    @admin.action(description=_("Issue a credit note for what remains of each"), permissions=["change"])
    def issue_credit_note(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        def credit(invoice: Invoice) -> None:
            note = services.invoice_credit(invoice=invoice, reason=str(_("Credited by staff")))
            self.message_user(
                request,
                _("Credit note %(credit)s issued for %(number)s.") % {"credit": note.number, "number": invoice.number},
                messages.SUCCESS,
            )

        # Each note is named as it is issued: no count at the end.
        self.run_for_each(
            request, queryset, credit, label=lambda invoice: invoice.number, refused_level=messages.WARNING
        )

    @admin.action(description=_("Export the selected documents for accountants (CSV)"), permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse:
        response = HttpResponse(invoice_export_csv(invoices=queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="invoices.csv"'
        return response


@admin.register(BillingRecord)
class BillingRecordAdmin(NoAddMixin, NoDeleteMixin, admin.ModelAdmin):
    """The VeriFactu chain: records are written when documents are issued, never added or deleted here."""

    list_display = ("issuer_tax_id", "position", "invoice", "record_type", "fingerprint", "submission_status")
    list_filter = ("record_type", "submission_status", "issuer_tax_id")
    search_fields = ("invoice__number", "fingerprint")
    list_select_related = ("invoice",)

    def get_readonly_fields(self, request: HttpRequest, obj: BillingRecord | None = None) -> Any:
        return [field.name for field in BillingRecord._meta.fields]
