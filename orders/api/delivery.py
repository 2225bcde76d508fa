"""Delivery quotes: the methods and prices for a basket before placing (orders.services.quoting).

Who may ask: whoever may place orders (`orders:write`, staff with `orders.add_order`). The body
is the order's own, less what delivery does not need: the lines, the fulfilment and where the
goods go (a shipping country and postal code, or the pickup location).
"""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.access import Access
from config.api.errors import api_errors
from config.api.idempotency import changes_nothing
from config.exceptions import ConfigErrorCode
from config.scopes import Scope
from inventory.models import Location
from orders.api.serializers import MAX_LINES, LineInputSerializer
from orders.exceptions import OrderErrorCode
from orders.models import DeliveryKind, FulfilmentType
from orders.services import LineRequest
from orders.services.quoting import delivery_quote

# --- Input ------------------------------------------------------------------------------------


class QuoteDestinationSerializer(serializers.Serializer[Any]):
    country = serializers.CharField(max_length=2, help_text="ISO country code, e.g. ES.")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class DeliveryQuoteInputSerializer(serializers.Serializer[Any]):
    """The basket and where it goes: the same fields as placing an order."""

    lines = serializers.ListField(child=LineInputSerializer(), max_length=MAX_LINES)
    fulfilment_type = serializers.ChoiceField(choices=FulfilmentType.choices)
    shipping_address = QuoteDestinationSerializer(
        required=False, allow_null=True, default=None, help_text="For a shipped order: country and postal code."
    )
    pickup_location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="For a pickup or locker order: the code of the store or locker.",
    )


# --- Output -----------------------------------------------------------------------------------


class DeliveryOptionSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="method.code")
    name = serializers.CharField(source="method.name")
    kind = serializers.ChoiceField(source="method.kind", choices=DeliveryKind.choices)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the order would pay, VAT included."
    )
    regular_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The price before the free-delivery threshold."
    )
    free_over = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Free when the goods reach this total (VAT included); null: never free here.",
    )
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="The charge's VAT rate (%).")
    is_default = serializers.BooleanField(help_text="Applies when the order names no method.")


class DeliveryQuoteSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    goods_total = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="VAT included.")
    weight_grams = serializers.IntegerField()
    zone = serializers.CharField(source="zone.code", default=None, allow_null=True)
    zone_name = serializers.CharField(source="zone.name", default=None, allow_null=True)
    methods = DeliveryOptionSerializer(
        source="options",
        many=True,
        help_text="Empty: no method is configured for this kind of order and nothing is charged.",
    )


# --- View -------------------------------------------------------------------------------------


class DeliveryQuoteView(APIView):
    """POST the basket and its destination; get the delivery methods offered and their prices."""

    access = {"post": Access(scope=Scope.ORDERS_WRITE, staff=("orders.add_order",))}

    @extend_schema(
        summary="Quote delivery for a basket before placing",
        description=(
            "The delivery methods that serve these lines going to this destination, with what each would "
            "cost (by zone, weight band and free-delivery threshold), priced as placing the order would "
            "price them. `is_default` marks the one an order naming no `delivery_method` takes. Nothing is "
            "written. A shipped order gives `shipping_address` (country, postal code); a pickup or locker "
            "order its `pickup_location`."
        ),
        request=DeliveryQuoteInputSerializer,
        responses={
            200: DeliveryQuoteSerializer,
            **api_errors(
                {
                    400: {
                        ConfigErrorCode.INVALID: "fields, an unknown pickup location",
                        OrderErrorCode.INVALID_LINES: "an unknown SKU, a quantity",
                        OrderErrorCode.INVALID_ORDER: "no country to ship to, not a pickup point",
                        OrderErrorCode.DELIVERY_ZONE_UNKNOWN: "no delivery zone covers the address",
                        OrderErrorCode.DELIVERY_UNAVAILABLE: "no method serves this basket there (too heavy...)",
                    },
                }
            ),
        },
    )
    @changes_nothing
    def post(self, request: Request) -> Response:
        data = DeliveryQuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        destination = values["shipping_address"] or {}
        quote = delivery_quote(
            lines=[LineRequest(sku=line["sku"], quantity=line["quantity"]) for line in values["lines"]],
            fulfilment_type=values["fulfilment_type"],
            country=destination.get("country", ""),
            postal_code=destination.get("postal_code", ""),
            pickup_location=values["pickup_location"],
        )
        return Response(DeliveryQuoteSerializer(quote).data)
