from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from invoicing.models import EmailStatus, Invoice, InvoiceLine, InvoiceTax
from invoicing.selectors import invoice_email_status, invoice_verification_url


class InvoiceLineSerializer(serializers.ModelSerializer[InvoiceLine]):
    class Meta:
        model = InvoiceLine
        fields = (
            "position",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "tax_rate",
            "gross_amount",
            "net_amount",
            "net_unit_price",
        )


class InvoiceTaxSerializer(serializers.ModelSerializer[InvoiceTax]):
    class Meta:
        model = InvoiceTax
        fields = ("tax_category", "tax_rate", "taxable_amount", "tax_amount")


class PartySerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    tax_id = serializers.CharField()
    street = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


PARTY_FIELDS = ("name", "tax_id", "street", "city", "postal_code", "country")


def _party(invoice: Invoice, prefix: str) -> dict[str, str]:
    return {name: getattr(invoice, f"{prefix}_{name}") for name in PARTY_FIELDS}


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    seller = serializers.SerializerMethodField()
    buyer = serializers.SerializerMethodField()
    series = serializers.CharField(source="series.prefix", read_only=True)
    original_number = serializers.CharField(
        source="original.number",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="What a credit note corrects.",
    )
    replaces_number = serializers.CharField(
        source="replaces.number",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="The simplified invoice a full one replaces.",
    )
    email_status = serializers.SerializerMethodField(help_text="How the e-mail to the buyer stands.")

    class Meta:
        model = Invoice
        fields: tuple[str, ...] = (
            "id",
            "number",
            "kind",
            "series",
            "issue_date",
            "issued_at",
            "currency",
            "seller",
            "buyer",
            "customer",
            "source_reference",
            "original_number",
            "replaces_number",
            "line_total",
            "tax_total",
            "grand_total",
            "rounding_amount",
            "payable_total",
            "paid_amount",
            "render_status",
            "email_status",
        )

    @extend_schema_field(serializers.ChoiceField(choices=EmailStatus.choices))
    def get_email_status(self, invoice: Invoice) -> str:
        return invoice_email_status(invoice=invoice)

    @extend_schema_field(PartySerializer)
    def get_seller(self, invoice: Invoice) -> dict[str, str]:
        return _party(invoice, "seller")

    @extend_schema_field(PartySerializer)
    def get_buyer(self, invoice: Invoice) -> dict[str, str]:
        return _party(invoice, "buyer")


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    taxes = InvoiceTaxSerializer(many=True, read_only=True)
    formats = serializers.SerializerMethodField(help_text="Files ready for download: pdf, factur-x, ubl.")
    verification_url = serializers.SerializerMethodField(help_text="The tax agency's QR verification URL.")

    class Meta(InvoiceSerializer.Meta):
        fields: tuple[str, ...] = (*InvoiceSerializer.Meta.fields, "lines", "taxes", "formats", "verification_url")

    def get_formats(self, invoice: Invoice) -> list[str]:
        return sorted(file.format_code for file in invoice.files.all())

    def get_verification_url(self, invoice: Invoice) -> str:
        return invoice_verification_url(invoice)


class ExchangeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    tax_id = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2)
    street = serializers.CharField(max_length=200)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class ExportQuerySerializer(serializers.Serializer[Any]):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    file_format = serializers.ChoiceField(choices=("csv", "json"), default="csv")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [_("Must not be before date_from.")]})
        if (attrs["date_to"] - attrs["date_from"]).days > 366:
            raise serializers.ValidationError({"date_to": [_("At most one year per export.")]})
        return attrs
