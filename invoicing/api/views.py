from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.access import Access
from config.api.authentication import request_channel_client
from config.api.errors import api_errors
from config.api.idempotency import idempotent
from config.exceptions import ConflictError
from config.scopes import Scope
from invoicing import exports, selectors, services
from invoicing.api import serializers as s
from invoicing.exceptions import InvoiceErrorCode
from invoicing.models import DocumentKind, Invoice, InvoiceFile
from invoicing.services import Buyer


class InvoiceFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")
    series = django_filters.CharFilter(field_name="series__prefix", help_text="Series prefix, e.g. F, T or R.")
    fiscal_year = django_filters.NumberFilter(field_name="series__fiscal_year")
    kind = django_filters.ChoiceFilter(choices=DocumentKind.choices)
    customer = django_filters.NumberFilter(field_name="customer_id")
    source_reference = django_filters.CharFilter()
    number = django_filters.CharFilter()

    class Meta:
        model = Invoice
        fields = ("date_from", "date_to", "series", "fiscal_year", "kind", "customer", "source_reference", "number")


def _download(invoice: Invoice, format_code: str, filename: str) -> HttpResponse:
    file = selectors.invoice_file(invoice=invoice, format_code=format_code)
    if file is None:
        raise ConflictError(
            _("The document is not rendered yet (or this format does not apply to it); try again shortly."),
            code=InvoiceErrorCode.NOT_RENDERED,
        )
    response = HttpResponse(bytes(file.content), content_type=file.media_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


_READ = Access(scope=Scope.INVOICES_READ, staff=("invoicing.view_invoice",))


class InvoiceViewSet(viewsets.ReadOnlyModelViewSet[Invoice]):
    """Issued documents. Staff with the view permission see all; a channel client sees every document
    if it reaches all customers, else only those issued for it (invoicing.selectors.invoice_list)."""

    access = {
        "list": _READ,
        "retrieve": _READ,
        "pdf": _READ,
        "xml": _READ,
        # Only a ticket the caller reaches: get_object() reads through invoice_list, another's is a 404.
        "exchange": Access(scope=Scope.INVOICES_WRITE, staff=("invoicing.add_invoice",)),
    }
    filterset_class = InvoiceFilter
    search_fields = ("number", "buyer_tax_id", "buyer_name", "source_reference")
    ordering_fields = ("issued_at", "number", "payable_total")

    def get_queryset(self) -> QuerySet[Invoice]:
        if getattr(self, "swagger_fake_view", False):
            return Invoice.objects.none()
        invoices = selectors.invoice_list(client=request_channel_client(self.request)).select_related("series")
        if self.action == "retrieve":
            files = InvoiceFile.objects.only("pk", "invoice_id", "format_code")
            invoices = invoices.prefetch_related("lines", "taxes", Prefetch("files", queryset=files))
        return invoices

    def get_serializer_class(self) -> Any:
        return s.InvoiceDetailSerializer if self.action == "retrieve" else s.InvoiceSerializer

    @extend_schema(
        summary="The document's PDF (a Factur-X hybrid for full invoices and credit notes)",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **api_errors({409: {InvoiceErrorCode.NOT_RENDERED: "not rendered yet; try again shortly"}}),
        },
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        invoice = self.get_object()
        return _download(invoice, "pdf", f"{invoice.number}.pdf")

    @extend_schema(
        summary="The document's structured XML",
        parameters=[
            OpenApiParameter("syntax", str, enum=["factur-x", "ubl"], description="Factur-X CII (default) or UBL.")
        ],
        responses={
            (200, "application/xml"): OpenApiTypes.BINARY,
            **api_errors(
                {
                    409: {
                        InvoiceErrorCode.NOT_RENDERED: "not rendered yet, or this syntax does not apply to the document"
                    }
                }
            ),
        },
    )
    @action(detail=True, methods=["get"])
    def xml(self, request: Request, pk: str | None = None) -> HttpResponse:
        invoice = self.get_object()
        format_code = request.query_params.get("syntax", "factur-x")
        if format_code not in ("factur-x", "ubl"):
            raise ValidationError({"syntax": [_("Use factur-x or ubl.")]})
        return _download(invoice, format_code, f"{invoice.number}-{format_code}.xml")

    @extend_schema(
        summary="Exchange a simplified invoice for a full one",
        description="When the customer later gives a tax id. A ticket is exchanged at most once (409 after).",
        request=s.ExchangeSerializer,
        responses={201: s.InvoiceDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def exchange(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        data = s.ExchangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        full = services.invoice_ticket_exchange(ticket=ticket, buyer=Buyer(**data.validated_data))
        return Response(s.InvoiceDetailSerializer(full).data, status=status.HTTP_201_CREATED)


class InvoiceExportView(APIView):
    """Every document of a period, whoever issued it: the accountants' books, never a channel's."""

    access = {"get": Access(scope=None, staff=("invoicing.export_invoices",))}

    @extend_schema(
        summary="Export documents for accountants (staff)",
        description="One row per document and tax rate, credit notes negative. CSV or JSON.",
        parameters=[s.ExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        query = s.ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        dates = {"date_from": query.validated_data["date_from"], "date_to": query.validated_data["date_to"]}
        invoices = selectors.invoices_issued_between(**dates)
        name = f"invoices-{dates['date_from']}-{dates['date_to']}"
        if query.validated_data["file_format"] == "json":
            response = HttpResponse(exports.invoice_export_json(invoices=invoices), content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        else:
            response = HttpResponse(
                exports.invoice_export_csv(invoices=invoices), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
