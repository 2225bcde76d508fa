from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Variant
from config.api.access import Access
from config.api.authentication import request_channel_client
from config.api.idempotency import idempotent
from config.scopes import Scope
from inventory import selectors, services
from inventory.api import serializers as s
from inventory.feed import FEED_PAGE, START, FeedCursor, stock_changes_after
from inventory.models import Location, StockLevel


def _variants_by_sku(skus: list[str], field: str = "sku") -> dict[str, Variant]:
    variants = Variant.objects.in_bulk(skus, field_name="sku")
    unknown = [sku for sku in skus if sku not in variants]
    if unknown:
        raise ValidationError({field: [gettext("Unknown SKU: %(skus)s.") % {"skus": ", ".join(unknown)}]})
    return variants


def _location(code: str) -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise ValidationError({"location": [gettext("Unknown location %(code)s.") % {"code": repr(code)}]})
    return location


class LocationViewSet(viewsets.ReadOnlyModelViewSet[Location]):
    """Active locations: stores, warehouses and lockers (for choosing where to pick up)."""

    access = {
        "list": Access(scope=Scope.INVENTORY_READ, staff=("inventory.view_location",)),
        "retrieve": Access(scope=Scope.INVENTORY_READ, staff=("inventory.view_location",)),
    }
    serializer_class = s.LocationSerializer
    queryset = Location.objects.filter(is_active=True).order_by("kind", "code")
    lookup_field = "code"
    filterset_fields = ("kind", "is_pickup_point", "can_ship", "city")
    search_fields = ("code", "name", "city")


class AvailabilityView(APIView):
    access = {"get": Access(scope=Scope.INVENTORY_READ, staff=("inventory.view_stocklevel",))}

    @extend_schema(
        summary="Live stock of one or many SKUs at every location",
        description=(
            "Per location: available, on hand, reserved, whether it can be picked up today and the earliest "
            "pickup date through a transfer; plus totals. `sku` may repeat or be comma-separated (up to 100)."
        ),
        parameters=[OpenApiParameter("sku", str, many=True, required=True)],
        responses=s.VariantAvailabilitySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        skus = [sku for value in request.query_params.getlist("sku") for sku in value.split(",") if sku.strip()]
        data = s.AvailabilityQuerySerializer(data={"sku": [sku.strip() for sku in skus]})
        data.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(data.validated_data["sku"]))
        variants = _variants_by_sku(wanted)
        availability = selectors.variant_availability(variants=[variants[sku] for sku in wanted])
        return Response(s.VariantAvailabilitySerializer(availability, many=True).data)


class StockChangesView(APIView):
    access = {"get": Access(scope=Scope.INVENTORY_READ, staff=("inventory.view_stockmovement",))}

    @extend_schema(
        summary="Stock change feed",
        description=(
            "Movements after the cursor, oldest first. Keep `next` and send it as `after`: a channel that polls "
            "never misses nor double-counts a change. Without `after` the feed starts at the beginning. "
            "`reference` (an order number, a transfer, a delivery note) is shown only to staff, at the "
            "locations they work at: it is empty for channel credentials."
        ),
        parameters=[
            OpenApiParameter("after", str, description="A cursor from a previous answer."),
            OpenApiParameter("limit", int, description=f"At most {FEED_PAGE}."),
        ],
        responses=s.StockChangesSerializer,
    )
    def get(self, request: Request) -> Response:
        after = FeedCursor.parse(request.query_params["after"]) if request.query_params.get("after") else START
        try:
            limit = max(1, min(int(request.query_params.get("limit", FEED_PAGE)), FEED_PAGE))
        except ValueError:
            raise ValidationError({"limit": [gettext("A whole number.")]}) from None
        references_at = selectors.feed_reference_location_ids(client=request_channel_client(request), user=request.user)
        changes, cursor = stock_changes_after(after=after, limit=limit, references_at=references_at)
        body = {"changes": changes, "next": str(cursor), "has_more": len(changes) == limit}
        return Response(s.StockChangesSerializer(body).data)


class StockLevelFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="variant__sku")
    low = django_filters.BooleanFilter(method="filter_low", label="Below the low-stock threshold")

    class Meta:
        model = StockLevel
        fields = ("location", "sku", "low")

    def filter_low(self, queryset: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return queryset
        below = queryset.filter(low_stock_threshold__isnull=False, available__lt=F("low_stock_threshold"))
        return below if value else queryset.exclude(pk__in=below.values("pk"))


class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[StockLevel]):
    """Stock levels for staff: store staff see only their own locations; managers see all."""

    access = {"list": Access(scope=None, staff=("inventory.view_stocklevel",))}
    serializer_class = s.StockLevelSerializer
    filterset_class = StockLevelFilter
    ordering_fields = ("available", "on_hand", "updated_at")

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return StockLevel.objects.none()
        locations = selectors.location_list_for_user(user=self.request.user)
        return selectors.stock_level_list().filter(location__in=locations).order_by("location__code", "variant__sku")


class AdjustmentView(APIView):
    # The service checks the location: another store's stock answers 403.
    access = {"post": Access(scope=None, staff=("inventory.change_stocklevel",))}

    @extend_schema(
        summary="Adjust stock with a reason (staff)",
        request=s.AdjustmentSerializer,
        responses={
            201: inline_serializer(
                "AdjustmentDone", {"movement_id": serializers.IntegerField(help_text="The ledger's new movement.")}
            )
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.AdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        variant = _variants_by_sku([values["sku"]])[values["sku"]]
        movement = services.stock_adjust(
            location=_location(values["location"]),
            variant=variant,
            quantity=values["quantity"],
            reason=values["reason"],
            user=request.user,
        )
        return Response({"movement_id": movement.pk}, status=status.HTTP_201_CREATED)


class ReceiptView(APIView):
    # Receiving changes the stock levels, as an adjustment does in the admin; the service
    # checks the location.
    access = {"post": Access(scope=None, staff=("inventory.change_stocklevel",))}

    @extend_schema(
        summary="Receive goods at a location (staff)",
        request=s.ReceiptSerializer,
        responses={
            201: inline_serializer(
                "ReceiptDone",
                {"movement_ids": serializers.ListField(child=serializers.IntegerField(), help_text="One per line.")},
            )
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.ReceiptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        skus = [line["sku"] for line in values["lines"]]
        variants = _variants_by_sku(skus, field="lines")
        movements = services.stock_receive(
            location=_location(values["location"]),
            lines=[(variants[line["sku"]], line["quantity"]) for line in values["lines"]],
            reference=values["reference"],
            user=request.user,
        )
        return Response({"movement_ids": [m.pk for m in movements]}, status=status.HTTP_201_CREATED)
