from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers

from inventory.models import Location, StockLevel

MAX_SKUS = 100


class LocationSerializer(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = (
            "id",
            "code",
            "name",
            "kind",
            "address",
            "city",
            "country",
            "latitude",
            "longitude",
            "can_ship",
            "is_pickup_point",
        )


class LocationAvailabilitySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    kind = serializers.CharField(source="location.kind")
    available = serializers.IntegerField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    pickup_today = serializers.BooleanField()
    earliest_pickup = serializers.DateField(allow_null=True, help_text="Today, or the soonest date through a transfer.")


class VariantAvailabilitySerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(source="variant.sku")
    available = serializers.IntegerField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    locations = LocationAvailabilitySerializer(many=True)


class AvailabilityQuerySerializer(serializers.Serializer[Any]):
    sku = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_SKUS)


class StockChangeSerializer(serializers.Serializer[Any]):
    cursor = serializers.CharField()
    sku = serializers.CharField()
    location = serializers.CharField()
    kind = serializers.CharField()
    on_hand_change = serializers.IntegerField()
    reserved_change = serializers.IntegerField()
    reference = serializers.CharField(
        help_text=(
            "The order, transfer or delivery note behind the change: for staff at their locations; "
            "empty for channel credentials."
        )
    )
    at = serializers.DateTimeField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class StockChangesSerializer(serializers.Serializer[Any]):
    changes = StockChangeSerializer(many=True)
    next = serializers.CharField(help_text="Pass as `after` next time.")
    has_more = serializers.BooleanField()


class StockLevelSerializer(serializers.ModelSerializer[StockLevel]):
    location = serializers.CharField(source="location.code")
    sku = serializers.CharField(source="variant.sku")
    product = serializers.CharField(source="variant.product.name")

    class Meta:
        model = StockLevel
        fields = (
            "id",
            "location",
            "sku",
            "product",
            "on_hand",
            "reserved",
            "available",
            "low_stock_threshold",
            "updated_at",
        )


class AdjustmentSerializer(serializers.Serializer[Any]):
    location = serializers.CharField(max_length=40)
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(help_text="Signed: +3 found, -2 damaged.")
    reason = serializers.CharField(max_length=200)

    def validate_quantity(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError(gettext("A non-zero whole number."))
        return value


class ReceiptLineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)


class ReceiptSerializer(serializers.Serializer[Any]):
    location = serializers.CharField(max_length=40)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = ReceiptLineSerializer(many=True, allow_empty=False)
