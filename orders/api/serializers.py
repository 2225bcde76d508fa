from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.identities import IdentityKind
from inventory.models import Location
from orders.codes import tracking_url
from orders.models import (
    FulfilmentType,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Parcel,
    ParcelLine,
    Payment,
    PaymentMethod,
    PaymentMode,
    Refund,
    RefundStatus,
)
from orders.selectors import order_lines_supplied_by, order_parcels_shipped_from

MAX_LINES = 200
MAX_QUANTITY = 1_000_000
# The shop sets every price; a client that sends one is told so instead of being silently ignored.
PRICE_KEYS = ("price", "unit_price", "regular_unit_price", "line_total", "total", "tax_total", "discount")


# --- Input ------------------------------------------------------------------------------------


class IdentityInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=254)


class CustomerInputSerializer(serializers.Serializer[Any]):
    identities = serializers.ListField(child=IdentityInputSerializer(), max_length=20, required=False, default=list)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(max_value=MAX_QUANTITY, help_text="Units; a whole number above zero.")


class AddressInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    street = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, default="")


class BillingInputSerializer(AddressInputSerializer):
    tax_id = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default="", help_text="Give it for a full invoice."
    )


class OrderCreateSerializer(serializers.Serializer[Any]):
    """What a channel sends to place an order. Prices are never sent: the shop's price applies."""

    customer = CustomerInputSerializer(
        required=False,
        help_text="Identities of the customer; when empty, the e-mail and phone below are used.",
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    lines = serializers.ListField(child=LineInputSerializer(), max_length=MAX_LINES)
    fulfilment_type = serializers.ChoiceField(choices=FulfilmentType.choices)
    pickup_location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Code of the store or locker where the customer picks the order up.",
    )
    shipping_address = AddressInputSerializer(required=False, allow_null=True, default=None)
    payment_mode = serializers.ChoiceField(choices=PaymentMode.choices, default=PaymentMode.NOW)
    billing = BillingInputSerializer(required=False, allow_null=True, default=None)
    delivery_method = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "Code of a delivery method offered for this basket (POST /delivery-quotes/). "
            "Empty: the default method of the fulfilment's kind."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        data = self.initial_data if isinstance(self.initial_data, dict) else {}
        message = _("Prices are set by the shop; do not send them.")
        for key in PRICE_KEYS:
            if key in data:
                errors[key] = [message]
        for index, line in enumerate(data.get("lines") or []):
            if isinstance(line, dict):
                for key in PRICE_KEYS:
                    if key in line:
                        errors[f"lines[{index}].{key}"] = [message]
        customer = attrs.get("customer") or {}
        if not customer.get("identities") and not attrs["email"].strip() and not attrs["phone"].strip():
            errors["customer"] = [_("Give the customer's identities, or an e-mail or a phone.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PaymentInputSerializer(serializers.Serializer[Any]):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True, default=None)
    points = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Loyalty points to spend (method loyalty_points)."
    )
    provider_reference = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payment provider's capture reference (card, PayPal, store card).",
    )
    billing = BillingInputSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "The buyer's tax id, name and address: the invoice is a full one. Required (`full_invoice_required`) "
            "when the order is above the seller country's limit for a simplified invoice and was placed without them."
        ),
    )


class RefundConfirmInputSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=[RefundStatus.SUCCEEDED, RefundStatus.FAILED], help_text="How the refund went: succeeded or failed."
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The refund's amount, as asked.")
    provider_reference = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payment provider's refund reference (required for a provider's refund that succeeded).",
    )
    failure_reason = serializers.CharField(
        max_length=250, required=False, allow_blank=True, default="", help_text="Why it failed."
    )


class CancelInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ShipInputSerializer(serializers.Serializer[Any]):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=100)


class ParcelLineInputSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(min_value=1, max_value=32767, help_text="The order line's `position`.")
    quantity = serializers.IntegerField(max_value=MAX_QUANTITY, help_text="Units of it in this box.")


class ParcelShipInputSerializer(ShipInputSerializer):
    lines = serializers.ListField(
        child=ParcelLineInputSerializer(),
        max_length=MAX_LINES,
        required=False,
        allow_null=True,
        default=None,
        help_text="What goes in this box; left out, the whole parcel. What stays behind is the next parcel.",
    )


class HandOverInputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=200, help_text="The signed code in the QR, or its 8-character short form.")


class RedeemInputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=200, help_text="The signed code read from the customer's QR.")
    location = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The code of the locker that scanned it: one of those the credential is bound to. "
            "May be left out by a credential bound to a single locker."
        ),
    )


class TrackQuerySerializer(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    token = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


# --- Output -----------------------------------------------------------------------------------


class AddressSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    street = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class OrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    source_location = serializers.CharField(
        source="source.code", read_only=True, help_text="Code of the location the units come from."
    )
    needs_transfer = serializers.SerializerMethodField(help_text="The units travel to the pickup point first.")

    class Meta:
        model = OrderLine
        fields = (
            "position",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "regular_unit_price",
            "tax_rate",
            "line_total",
            "source_location",
            "needs_transfer",
            "arrived_at",
        )

    def get_needs_transfer(self, line: OrderLine) -> bool:
        return line.transfer_id is not None


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    class Meta:
        model = Payment
        fields = ("kind", "method", "amount", "points", "provider_reference", "channel", "created_at")


class RefundSerializer(serializers.ModelSerializer[Refund]):
    """Money owed back for one capture: pending, then succeeded or failed."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    settled_by_hand = serializers.SerializerMethodField(help_text="Staff settled it, with a reason.")

    class Meta:
        model = Refund
        fields = (
            "id",
            "method",
            "amount",
            "points",
            "status",
            "status_label",
            "reason",
            "provider_reference",
            "failure_reason",
            "settled_by_hand",
            "retry_of",
            "created_at",
            "confirmed_at",
        )

    def get_settled_by_hand(self, refund: Refund) -> bool:
        return bool(refund.settled_reason)


class HistorySerializer(serializers.ModelSerializer[OrderStatusChange]):
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = OrderStatusChange
        fields = ("event", "status", "channel", "at", "note")


class ParcelLineSerializer(serializers.ModelSerializer[ParcelLine]):
    line = serializers.IntegerField(
        source="order_line.position", read_only=True, help_text="The order line's position."
    )
    sku = serializers.CharField(source="order_line.sku", read_only=True)
    description = serializers.CharField(source="order_line.description", read_only=True)

    class Meta:
        model = ParcelLine
        fields = ("line", "sku", "description", "quantity")


class ParcelSerializer(serializers.ModelSerializer[Parcel]):
    """A box leaving one location: what is in it, with which carrier, where it stands."""

    parcel = serializers.IntegerField(source="position", read_only=True, help_text="Its number within the order.")
    source_location = serializers.CharField(source="source.code", read_only=True, help_text="Where it leaves from.")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    lines = ParcelLineSerializer(many=True, read_only=True)

    class Meta:
        model = Parcel
        fields = (
            "parcel",
            "source_location",
            "status",
            "status_label",
            "carrier",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "lines",
        )


VIEW_HELP = (
    "full: the whole order. picking: staff of a location that only supplies the order see what to pick "
    "and where it goes, nothing about the customer, the payment or the pickup code."
)


class OrderSerializer(serializers.ModelSerializer[Order]):
    """An order in a list: what it is and where it stands."""

    view = serializers.SerializerMethodField(help_text=VIEW_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    pickup_location = serializers.CharField(
        source="pickup_location.code", default=None, allow_null=True, read_only=True, help_text="Null when shipped."
    )
    invoice = serializers.CharField(
        source="invoice.number", default=None, allow_null=True, read_only=True, help_text="Null until paid."
    )
    amount_due = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Order
        fields: tuple[str, ...] = (
            "view",
            "number",
            "channel",
            "status",
            "status_label",
            "fulfilment_type",
            "payment_mode",
            "customer",
            "pickup_location",
            "currency",
            "total",
            "amount_due",
            "invoice",
            "ready_date",
            "placed_at",
        )

    def get_view(self, order: Order) -> str:
        return "full"


class OrderDeliverySerializer(serializers.Serializer[Any]):
    """How the order travels and what that costs: part of `total` and `tax_total`."""

    method = serializers.CharField(
        source="delivery_method.code",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="Null when no method was configured for the order's kind: nothing charged.",
    )
    method_name = serializers.CharField(source="delivery_method.name", default=None, allow_null=True, read_only=True)
    zone = serializers.CharField(source="delivery_zone.code", default=None, allow_null=True, read_only=True)
    charge = serializers.DecimalField(
        source="delivery_charge", max_digits=12, decimal_places=2, read_only=True, help_text="VAT included."
    )
    tax_rate = serializers.DecimalField(source="delivery_tax_rate", max_digits=5, decimal_places=2, read_only=True)
    weight_grams = serializers.IntegerField(read_only=True)


class OrderDetailSerializer(OrderSerializer):
    """The whole order: lines, payments, history, documents and where to follow it."""

    pickup_location_name = serializers.CharField(
        source="pickup_location.name", default=None, allow_null=True, read_only=True
    )
    shipping_address = serializers.SerializerMethodField()
    credit_note = serializers.CharField(
        source="credit_note.number", default=None, allow_null=True, read_only=True, help_text="Null unless credited."
    )
    lines = OrderLineSerializer(many=True, read_only=True)
    parcels = ParcelSerializer(
        many=True, read_only=True, help_text="Ship orders, once paid: one box or more per source."
    )
    payments = PaymentSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True, help_text="Money owed back, oldest first.")
    history = HistorySerializer(many=True, read_only=True)
    tracking_url = serializers.SerializerMethodField(help_text="The public tracking page, token included.")
    delivery = OrderDeliverySerializer(source="*", read_only=True)

    class Meta(OrderSerializer.Meta):
        fields: tuple[str, ...] = (
            *OrderSerializer.Meta.fields,
            "pickup_location_name",
            "shipping_address",
            "tax_total",
            "delivery",
            "paid_amount",
            "refunded_amount",
            "credit_note",
            "payment_due_by",
            "carrier",
            "tracking_number",
            "paid_at",
            "ready_at",
            "hold_ends_at",
            "shipped_at",
            "delivered_at",
            "picked_up_at",
            "cancelled_at",
            "cancel_reason",
            "lines",
            "parcels",
            "payments",
            "refunds",
            "history",
            "tracking_url",
        )

    @extend_schema_field(AddressSerializer(allow_null=True))
    def get_shipping_address(self, order: Order) -> dict[str, str] | None:
        return shipping_label(order)

    def get_tracking_url(self, order: Order) -> str:
        return tracking_url(number=order.number)


def shipping_label(order: Order) -> dict[str, str] | None:
    if not order.shipping_street:
        return None
    return {
        "name": order.shipping_name,
        "street": order.shipping_street,
        "city": order.shipping_city,
        "postal_code": order.shipping_postal_code,
        "country": order.shipping_country,
    }


class PickingLineSerializer(serializers.ModelSerializer[OrderLine]):
    """A line to pick: what and how many, from where. No prices."""

    source_location = serializers.CharField(
        source="source.code", read_only=True, help_text="Code of the location the units come from."
    )
    needs_transfer = serializers.SerializerMethodField(help_text="The units travel to the pickup point first.")

    class Meta:
        model = OrderLine
        fields = ("position", "sku", "description", "quantity", "source_location", "needs_transfer", "arrived_at")

    def get_needs_transfer(self, line: OrderLine) -> bool:
        return line.transfer_id is not None


class OrderPickingSerializer(serializers.ModelSerializer[Order]):
    """An order a location only supplies, in a list: what it is, where it stands, where it goes."""

    view = serializers.SerializerMethodField(help_text=VIEW_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    pickup_location = serializers.CharField(
        source="pickup_location.code",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="Where the goods go to be picked up; null when shipped.",
    )

    class Meta:
        model = Order
        fields: tuple[str, ...] = (
            "view",
            "number",
            "status",
            "status_label",
            "fulfilment_type",
            "pickup_location",
            "ready_date",
            "placed_at",
        )

    def get_view(self, order: Order) -> str:
        return "picking"


class OrderPickingDetailSerializer(OrderPickingSerializer):
    """What the staff of a supplying location need: their own lines and, for a parcel, its label.

    The lines are those sourced from the locations in the context's `supplier_location_ids`.
    """

    shipping_address = serializers.SerializerMethodField(help_text="The parcel's label, for shipped orders.")
    lines = serializers.SerializerMethodField()
    parcels = serializers.SerializerMethodField(help_text="The parcels leaving the caller's locations.")

    class Meta(OrderPickingSerializer.Meta):
        fields: tuple[str, ...] = (
            *OrderPickingSerializer.Meta.fields,
            "ready_at",
            "shipped_at",
            "delivered_at",
            # Not the order's carrier and tracking number: they join every source's parcels. Each
            # parcel listed carries its own.
            "shipping_address",
            "lines",
            "parcels",
        )

    @extend_schema_field(AddressSerializer(allow_null=True))
    def get_shipping_address(self, order: Order) -> dict[str, str] | None:
        return shipping_label(order) if order.fulfilment_type == FulfilmentType.SHIP else None

    @extend_schema_field(ParcelSerializer(many=True))
    def get_parcels(self, order: Order) -> list[Any]:
        parcels = order_parcels_shipped_from(order, location_ids=self.context.get("supplier_location_ids", ()))
        return list(ParcelSerializer(parcels, many=True).data)

    @extend_schema_field(PickingLineSerializer(many=True))
    def get_lines(self, order: Order) -> list[Any]:
        lines = order_lines_supplied_by(order, location_ids=self.context.get("supplier_location_ids", ()))
        return list(PickingLineSerializer(lines, many=True).data)


class PickupCodeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The signed code to put in the QR; single use.")
    short_code = serializers.CharField(help_text="Eight characters staff may type instead.")
    qr_svg_url = serializers.URLField()
    qr_png_url = serializers.URLField()


class RedeemedSerializer(serializers.Serializer[Any]):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)


class TrackHistorySerializer(serializers.ModelSerializer[OrderStatusChange]):
    at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = OrderStatusChange
        fields = ("event", "status", "at")


class TrackParcelSerializer(serializers.ModelSerializer[Parcel]):
    """A parcel as the public page shows it: where it stands and how to follow it with the carrier."""

    parcel = serializers.IntegerField(source="position", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Parcel
        fields = ("parcel", "status", "status_label", "carrier", "tracking_number", "shipped_at", "delivered_at")


class PickupPointSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    city = serializers.CharField()


class TrackSerializer(serializers.ModelSerializer[Order]):
    """The public view of an order: where it stands, nothing about who ordered it."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    pickup_point = serializers.SerializerMethodField()
    parcels = TrackParcelSerializer(many=True, read_only=True, help_text="A shipped order's boxes, each on its own.")
    history = TrackHistorySerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = (
            "number",
            "status",
            "status_label",
            "fulfilment_type",
            "placed_at",
            "ready_date",
            "carrier",
            "tracking_number",
            "pickup_point",
            "parcels",
            "history",
        )

    @extend_schema_field(PickupPointSerializer(allow_null=True))
    def get_pickup_point(self, order: Order) -> dict[str, str] | None:
        location = order.pickup_location
        return None if location is None else {"name": location.name, "city": location.city}
