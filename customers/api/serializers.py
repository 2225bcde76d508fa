from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import serializers

from catalog.serializers import VariantDetailSerializer
from config.channels import Channel
from customers.identities import IdentityKind
from customers.models import (
    REPORTED_EVENT_KIND_CHOICES,
    Consent,
    ConsentPurpose,
    ContactPoint,
    Customer,
    CustomerEvent,
    EventKind,
    LoyaltyEntry,
    Segment,
)

MAX_EVENTS_PER_BATCH = 1000


class IdentitySerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=254)


class ContactPointSerializer(serializers.ModelSerializer[ContactPoint]):
    class Meta:
        model = ContactPoint
        fields = ("kind", "value", "normalised_value", "channel", "created_at")


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    """What a channel sees: the profile and preferences, never staff notes or audit fields."""

    identities = ContactPointSerializer(source="contact_points", many=True, read_only=True)
    loyalty_points = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields: tuple[str, ...] = (
            "id",
            *Customer.PROFILE_FIELDS,
            "identities",
            "loyalty_points",
        )

    def get_loyalty_points(self, customer: Customer) -> int:
        account = getattr(customer, "loyalty_account", None)
        return account.balance if account else 0


class CustomerStaffSerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        fields = (
            *CustomerSerializer.Meta.fields,
            "first_seen_channel",
            "notes",
            "created_at",
            "updated_at",
            "erased_at",
        )


STAFF_ONLY = "Staff only."


class CustomerAsSeenSerializer(CustomerStaffSerializer):
    """The profile as its caller sees it, for the schema: staff also get the audit fields.

    The answer is CustomerSerializer's for a channel and CustomerStaffSerializer's for staff; the
    fields only staff get are declared here, not required.
    """

    first_seen_channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text=STAFF_ONLY)
    notes = serializers.CharField(required=False, allow_blank=True, help_text=STAFF_ONLY)
    created_at = serializers.DateTimeField(required=False, help_text=STAFF_ONLY)
    updated_at = serializers.DateTimeField(required=False, help_text=STAFF_ONLY)
    erased_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text=f"{STAFF_ONLY} When the customer was erased (GDPR)."
    )


class ResolveInputSerializer(serializers.Serializer[Any]):
    identities = serializers.ListField(child=IdentitySerializer(), min_length=1, max_length=20)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ResolveOutputSerializer(serializers.Serializer[Any]):
    created = serializers.BooleanField()
    customer_id = serializers.IntegerField(
        allow_null=True, help_text="Null when the identities belong to a customer the caller does not reach."
    )
    customer = CustomerAsSeenSerializer(
        allow_null=True, help_text="The profile; null when it belongs to a customer the caller does not reach."
    )


class LookupInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=254)


class CustomerUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    country = serializers.CharField(max_length=2, min_length=2, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, allow_blank=True)
    preferred_contact_channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    tax_id = serializers.CharField(max_length=20, required=False, allow_blank=True)


class ConsentInputSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=Channel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(max_length=120)  # type: ignore[assignment]  # a declared field, not Field.source


class ConsentSerializer(serializers.ModelSerializer[Consent]):
    class Meta:
        model = Consent
        fields = ("channel", "purpose", "granted", "source", "recorded_at", "recorded_by_channel")


class EventInputSerializer(serializers.Serializer[Any]):
    client_event_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=REPORTED_EVENT_KIND_CHOICES)
    occurred_at = serializers.DateTimeField()
    identity = IdentitySerializer()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    location_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    query = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    payload = serializers.DictField(required=False, default=dict)

    REQUIRED_BY_KIND = {
        EventKind.PRODUCT_VIEWED: "sku",
        EventKind.SEARCH: "query",
        EventKind.STORE_VISIT: "location_code",
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = self.REQUIRED_BY_KIND.get(attrs["kind"])
        if needed and not attrs.get(needed):
            raise serializers.ValidationError({needed: [gettext("Required for this kind of event.")]})
        return attrs


class EventBatchSerializer(serializers.Serializer[Any]):
    # Items are validated one by one in the view, so one bad event does not drop the rest.
    events = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_EVENTS_PER_BATCH, help_text="Up to 1,000 events."
    )


class EventResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    customer_id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField()  # type: ignore[assignment]  # a declared field, not Serializer.errors


class EventBatchResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a declared field, not Serializer.errors
    results = EventResultSerializer(many=True)


class CustomerEventSerializer(serializers.ModelSerializer[CustomerEvent]):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True, help_text="The kind, in words.")

    class Meta:
        model = CustomerEvent
        fields = (
            "id",
            "kind",
            "kind_label",
            "channel",
            "occurred_at",
            "sku",
            "location_code",
            "query",
            "payload",
        )


class RecentlyViewedSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    last_viewed_at = serializers.DateTimeField()
    variant = VariantDetailSerializer(allow_null=True)


class RecentSearchSerializer(serializers.Serializer[Any]):
    query = serializers.CharField()
    last_searched_at = serializers.DateTimeField()


class LoyaltyEntrySerializer(serializers.ModelSerializer[LoyaltyEntry]):
    class Meta:
        model = LoyaltyEntry
        fields = ("id", "kind", "points", "reference", "channel", "reason", "created_at")


class LoyaltySerializer(serializers.Serializer[Any]):
    balance = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    entries = LoyaltyEntrySerializer(many=True)


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    class Meta:
        model = Segment
        fields = ("id", "name", "description", "rules")


class SegmentMemberSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ("id", "name", "country", "city", "preferred_language", "preferred_contact_channel")
