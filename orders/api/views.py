from collections.abc import Mapping
from functools import cached_property
from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.api.access import Access
from config.api.authentication import request_channel, request_channel_client
from config.api.errors import api_errors
from config.api.idempotency import idempotency_own, idempotent
from config.channels import Channel
from config.exceptions import ConfigErrorCode
from config.idempotency import idempotency_fingerprint
from config.scopes import Scope
from customers.exceptions import CustomerErrorCode
from inventory.exceptions import InventoryErrorCode
from inventory.selectors import location_ids_bound_to_client, location_ids_for_user
from orders import codes, selectors, services
from orders.api import serializers as s
from orders.exceptions import OrderErrorCode, OrderInputError, OrderNotFound, OrderStateError
from orders.models import FulfilmentType, Order, OrderStatus, ParcelStatus, PaymentMode
from orders.services import Actor, Address, LineRequest, OrderRequest, ParcelLineRequest

PICKUP_TYPES = (FulfilmentType.PICKUP, FulfilmentType.SHIP_TO_STORE, FulfilmentType.LOCKER)
# Who may not act on an order, as the schema tells it.
NOT_AT_PICKUP = "not working at, or bound to, the pickup location"
NOT_AT_EVERY_SOURCE = "not working at, or bound to, every location the lines come from"
NOT_AT_PARCEL_SOURCE = "not working at, or bound to, the location the parcel leaves from"
PARCEL_PARAMETER = OpenApiParameter(
    "parcel", int, OpenApiParameter.PATH, description="The parcel's number within the order (1, 2...)."
)
QR_MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def request_actor(request: Request) -> Actor:
    """Who acts: the channel client of the token, or the staff member signed in (for the store)."""
    user = request.user if getattr(request.user, "is_staff", False) else None
    return Actor(channel=request_channel(request), client=request_channel_client(request), user=user)


def order_queryset(request: Request, *, detail: bool) -> QuerySet[Order]:
    """The orders this caller reaches: a channel client's (orders.selectors), staff's by location."""
    client = request_channel_client(request)
    if client is not None:
        orders = selectors.order_list_for_client(client=client)
    else:
        orders = selectors.order_list_for_staff(user=request.user)
    return selectors.order_detail_list(orders) if detail else orders


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    fulfilment_type = django_filters.ChoiceFilter(choices=FulfilmentType.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    payment_mode = django_filters.ChoiceFilter(choices=PaymentMode.choices)
    customer = django_filters.NumberFilter(method="filter_customer", help_text="Customer id.")
    pickup_location = django_filters.CharFilter(field_name="pickup_location__code", help_text="Location code.")
    placed_from = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__gte")
    placed_to = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte")
    parcel_status = django_filters.ChoiceFilter(
        choices=ParcelStatus.choices,
        method="filter_parcels",
        help_text="Orders with a parcel in this status (with `ships_from`: leaving that location), e.g. pending: to ship.",
    )
    ships_from = django_filters.CharFilter(
        method="filter_parcels", help_text="Location code: orders with a parcel leaving it."
    )

    class Meta:
        model = Order
        fields = (
            "status",
            "fulfilment_type",
            "channel",
            "payment_mode",
            "customer",
            "pickup_location",
            "placed_from",
            "placed_to",
            "parcel_status",
            "ships_from",
        )

    def filter_parcels(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        # Both filters are one condition on the same parcel: applied once, by the first that comes.
        if getattr(self, "_parcels_filtered", False):
            return queryset
        self._parcels_filtered = True
        data = self.form.cleaned_data
        return queryset.filter(
            pk__in=selectors.order_ids_with_parcels(
                status=data.get("parcel_status") or "", ships_from=data.get("ships_from") or ""
            )
        )

    def filter_customer(self, queryset: QuerySet[Order], name: str, value: int) -> QuerySet[Order]:
        # Staff who only supply an order never learn whose it is, not even by filtering on a customer.
        return selectors.order_list_seen_whole(queryset).filter(customer_id=value)


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """For the QR image: the image itself bypasses rendering; errors are always JSON."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return (renderers[0], renderers[0].media_type)


_READ = Access(scope=Scope.ORDERS_READ, staff=("orders.view_order",))
_FULFIL = Access(scope=Scope.ORDERS_FULFIL, staff=("orders.change_order",))

# What staff get depends on the order: the whole of it, or the picking view of a supplier (`view`).
ORDER_ROWS = PolymorphicProxySerializer(
    component_name="OrderRowAsSeen",
    serializers={"full": s.OrderSerializer, "picking": s.OrderPickingSerializer},
    resource_type_field_name="view",
    many=True,
)
ORDER_DETAIL = PolymorphicProxySerializer(
    component_name="OrderDetailAsSeen",
    serializers={"full": s.OrderDetailSerializer, "picking": s.OrderPickingDetailSerializer},
    resource_type_field_name="view",
    many=False,
)


_PICKUP_CODE = Access(scope=Scope.ORDERS_READ, staff=("orders.view_order", selectors.PICKUP_CODE_PERMISSION))


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Order]):
    """The order book: place, follow, pay and fulfil orders from any channel.

    Access (config.api.access) checks the operation: the credential's scope or the staff member's
    permission, as in the admin. The order is then looked up among those the caller reaches
    (orders.selectors): another's is not found. Whether this caller may do this to this order (its
    location, its binding, who placed it) is the services' rule (orders.services.access).
    """

    access = {
        "list": _READ,
        "retrieve": _READ,
        "create": Access(scope=Scope.ORDERS_WRITE, staff=("orders.add_order",)),
        "payments": Access(scope=Scope.ORDERS_WRITE, staff=("orders.add_payment",)),
        "cancel": Access(scope=Scope.ORDERS_WRITE, staff=("orders.cancel_order",)),
        # The integration that gives the money back, or the till (staff at the till: cash).
        "refund_confirm": Access(scope=Scope.ORDERS_WRITE, staff=("orders.change_refund",)),
        "ready": _FULFIL,
        "transfers_received": _FULFIL,
        "ship": _FULFIL,
        "deliver": _FULFIL,
        "parcel_ship": _FULFIL,
        "parcel_deliver": _FULFIL,
        "parcel_cancel": Access(scope=Scope.ORDERS_WRITE, staff=("orders.cancel_order",)),
        "hand_over": Access(scope=Scope.ORDERS_FULFIL, staff=("orders.hand_over_order",)),
        # Staff who re-send codes to customers read them; the counter checks codes, it never reads
        # them. A supplier's staff, and a client that did not place the order, never get the code
        # (404, as for an order they do not reach: selectors.order_pickup_code_visible).
        "pickup_code": _PICKUP_CODE,
        "pickup_qr": _PICKUP_CODE,
    }
    _order: Order | None = None  # the order of a detail action, once looked up
    lookup_field = "number"
    lookup_value_regex = "[0-9A-Za-z-]+"
    filterset_class = OrderFilter
    search_fields = ("number",)
    ordering_fields = ("placed_at", "total", "ready_date")

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Order.objects.none()
        return order_queryset(self.request, detail=self.action == "retrieve")

    def get_serializer_class(self) -> Any:
        return s.OrderDetailSerializer if self.action == "retrieve" else s.OrderSerializer

    def get_object(self) -> Order:
        # Read once per request: staff have it looked up before their permissions (check_permissions).
        if self._order is None:
            # Numbers are read over the phone and typed in any case, without the dash: as in the admin.
            self.kwargs[self.lookup_field] = codes.order_number_normalise(self.kwargs[self.lookup_field])
            self._order = super().get_object()
        return self._order

    def check_permissions(self, request: Request) -> None:
        # As in the admin, an order outside a staff member's reach does not exist for them, whatever
        # they ask to do with it: 404 before being told what they may not do (403). A credential is
        # told first that it lacks the scope, which says nothing about any order.
        staff = request_channel_client(request) is None and getattr(request.user, "is_staff", False)
        if staff and self.detail and self.lookup_field in self.kwargs:
            self.get_object()
        super().check_permissions(request)

    def caller_view(self, order: Order) -> selectors.OrderView:
        """The whole order, or the picking view for staff whose locations only supply it."""
        if request_channel_client(self.request) is not None:
            return selectors.order_client_view(order)  # a bound credential's parcels of another's order
        return selectors.order_staff_view(order, user=self.request.user)

    @cached_property
    def supplier_location_ids(self) -> set[int]:
        """The staff member's locations, or the credential's bound ones, read once per request: which
        lines and parcels a picking view lists."""
        client = request_channel_client(self.request)
        if client is not None:
            return location_ids_bound_to_client(client=client)
        return location_ids_for_user(user=self.request.user)

    def render(self, order: Order, *, detail: bool) -> Any:
        context = dict(self.get_serializer_context())
        if self.caller_view(order) == selectors.PICKING_VIEW:
            if detail:
                context["supplier_location_ids"] = self.supplier_location_ids
                return s.OrderPickingDetailSerializer(order, context=context).data
            return s.OrderPickingSerializer(order, context=context).data
        serializer = s.OrderDetailSerializer if detail else s.OrderSerializer
        return serializer(order, context=context).data

    def detail_response(self, order: Order, *, status_code: int = status.HTTP_200_OK) -> Response:
        # Re-read whole, through the caller's reach: found in it, or just placed by the caller.
        fresh = order_queryset(self.request, detail=True).get(pk=order.pk)
        return Response(self.render(fresh, detail=True), status=status_code)

    @extend_schema(
        summary="List orders",
        description=(
            "A channel client sees every order if it reaches every customer, else the orders it placed and, bound "
            "to locations (a warehouse's integration), the orders with a parcel leaving them, in the picking view. "
            "Staff see the orders of their locations; those their locations only supply come in the picking view."
        ),
        responses={200: ORDER_ROWS},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        orders = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(orders)
        if page is None:
            return Response([self.render(order, detail=False) for order in orders])
        return self.get_paginated_response([self.render(order, detail=False) for order in page])

    @extend_schema(summary="One order with its lines, payments and history", responses={200: ORDER_DETAIL})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.render(self.get_object(), detail=True))

    @extend_schema(
        summary="Place an order",
        description=(
            "Resolves the customer from the identities (or the e-mail and phone), prices the lines at the "
            "shop's current prices, plans where each unit comes from and reserves the stock, all or nothing. "
            "Prices are never accepted from the client. Delivery is priced by `delivery_method` (or the default "
            "method of the fulfilment's kind) and is part of the total: `POST /delivery-quotes/` shows the methods "
            "and prices first. The `Idempotency-Key` header makes retries safe: the "
            "same key with the same body answers 200 with the same order; with another body, 409."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Unique per order attempt, 1 to 100 characters; reuse it only to retry.",
            )
        ],
        request=s.OrderCreateSerializer,
        responses={
            201: s.OrderDetailSerializer,
            200: OpenApiResponse(s.OrderDetailSerializer, description="A replay: the order this key placed."),
            **api_errors(
                {
                    400: {
                        OrderErrorCode.IDEMPOTENCY_KEY_REQUIRED: "",
                        ConfigErrorCode.INVALID: "fields, prices sent, an unknown pickup location",
                        OrderErrorCode.INVALID_LINES: "an unknown SKU, a quantity",
                        OrderErrorCode.INVALID_ORDER: "destination, payment mode, contact, invoicing details",
                        OrderErrorCode.DELIVERY_METHOD_UNKNOWN: "no active delivery method has this code",
                        OrderErrorCode.DELIVERY_ZONE_UNKNOWN: "no delivery zone covers the shipping address",
                        OrderErrorCode.DELIVERY_UNAVAILABLE: "no method, or not the one named, serves this basket there",
                    },
                    409: {
                        ConfigErrorCode.IDEMPOTENCY_KEY_REUSED: "",
                        InventoryErrorCode.OUT_OF_STOCK: "`lines` lists sku, requested, available",
                    },
                }
            ),
        },
    )
    @idempotency_own  # the order row keeps the key (orders.services.placing): required, replays answer 200
    def create(self, request: Request) -> Response:
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key:
            raise OrderInputError(
                _("Send an Idempotency-Key header of 1 to 100 characters."),
                code=OrderErrorCode.IDEMPOTENCY_KEY_REQUIRED,
                fields={"Idempotency-Key": [_("Required, at most 100 characters.")]},
            )
        data = s.OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        identities = values.get("customer", {}).get("identities") or [
            {"kind": kind, "value": values[kind]} for kind in ("email", "phone") if values[kind].strip()
        ]
        shipping, billing = values["shipping_address"], values["billing"] or {}
        # The service recognises a replay, resolves the customer and places the order, in one transaction.
        placement = services.order_place(
            actor=request_actor(request),
            idempotency_key=key,
            fingerprint=idempotency_fingerprint(cast(Mapping[str, Any], request.data)),
            request=OrderRequest(
                identities=identities,
                lines=[LineRequest(sku=line["sku"], quantity=line["quantity"]) for line in values["lines"]],
                fulfilment_type=values["fulfilment_type"],
                pickup_location=values["pickup_location"],
                shipping=Address(**shipping) if shipping else None,
                payment_mode=values["payment_mode"],
                email=values["email"],
                phone=values["phone"],
                name=values.get("customer", {}).get("name", ""),
                language=values["language"],
                billing_tax_id=billing.get("tax_id", ""),
                billing=Address(**{k: v for k, v in billing.items() if k != "tax_id"}) if billing else None,
                delivery_method=values["delivery_method"],
            ),
        )
        code = status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK
        return self.detail_response(placement.order, status_code=code)

    @extend_schema(
        summary="Record a payment",
        description=(
            "A capture the channel's provider made (card, PayPal, store card: with its reference), money at the "
            "till, store credit or loyalty points. When the payments cover the total the order is paid and "
            "invoiced at once. A capture reported twice is answered with the order as it is. A credential "
            "records payments for the orders it placed, or as a till bound to the order's pickup location. "
            "`billing` (the buyer's tax id, name and address) makes the invoice a full one; an order above the "
            "limit of a simplified invoice of the seller's country (Spain: 3,000 EUR) needs it."
        ),
        request=s.PaymentInputSerializer,
        responses={
            201: ORDER_DETAIL,
            **api_errors(
                {
                    400: {
                        OrderErrorCode.INVALID_PAYMENT: "",
                        OrderErrorCode.PAYMENT_EXCEEDS_DUE: "",
                        OrderErrorCode.DUPLICATE_CAPTURE: "",
                        OrderErrorCode.FULL_INVOICE_REQUIRED: (
                            "above the seller country's limit for a simplified invoice: send `billing` (tax id, "
                            "name, address); `limit` says the limit"
                        ),
                        OrderErrorCode.INVALID_ORDER: "`billing` is not valid",
                    },
                    403: {
                        OrderErrorCode.PAYMENT_METHOD_NOT_ALLOWED: "the channel may not take this method",
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "a credential records payments for the orders it placed or as the till of the pickup "
                            "location, staff at the order's pickup location"
                        ),
                    },
                    409: {
                        OrderErrorCode.ORDER_STATE: "nothing to pay",
                        CustomerErrorCode.INSUFFICIENT_STORE_CREDIT: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def payments(self, request: Request, number: str) -> Response:
        order = self.get_object()
        data = s.PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        billing = values.pop("billing", None)
        order = services.order_payment_add(
            order=order,
            actor=request_actor(request),
            billing=services.BillingDetails(**billing) if billing else None,
            **values,
        )
        return self.detail_response(order, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel an order",
        description="Before it ships or is handed over: stock back on sale, money refunded, a credit note if invoiced.",
        request=s.CancelInputSerializer,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "only the channel that placed the order, a till bound to its pickup location, the "
                            "pickup location's staff or staff reaching every order cancel it"
                        )
                    },
                    409: {OrderErrorCode.ORDER_STATE: ""},
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, number: str) -> Response:
        order = self.get_object()
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_cancel(order=order, actor=request_actor(request), reason=data.validated_data["reason"])
        return self.detail_response(order)

    @extend_schema(
        summary="Confirm a refund (the integration that gives the money back, or the till)",
        description=(
            "A refund owed by a provider (card, PayPal, store card) is handed to the integration that reported "
            "the capture by an `order.refund` webhook carrying the refund's id; it says here how it went, for "
            "the refund's amount. Cash and card-at-till refunds are confirmed by a till bound to the order's "
            "pickup location (or the one that took the money) or staff who take the order's payments. "
            "Idempotent: the same confirmation again answers the refund as it is (200); another amount (400) "
            "or another outcome once settled (409) changes nothing. A refund this caller does not confirm "
            "is not found."
        ),
        request=s.RefundConfirmInputSerializer,
        responses={
            200: s.RefundSerializer,
            **api_errors(
                {
                    400: {
                        ConfigErrorCode.INVALID: "",
                        OrderErrorCode.INVALID_REFUND: "a provider's success needs its refund reference",
                        OrderErrorCode.REFUND_AMOUNT_MISMATCH: "`amount` says the refund's",
                    },
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "staff confirm only money given back at the till where they take the order's payments"
                        )
                    },
                    404: {OrderErrorCode.REFUND_NOT_FOUND: "no such refund, or not one this credential confirms"},
                    409: {OrderErrorCode.REFUND_SETTLED: "`status` says how it was settled"},
                }
            ),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"refunds/(?P<refund_id>[0-9]{1,18})/confirm",
        url_name="refund-confirm",
    )
    @idempotent
    def refund_confirm(self, request: Request, number: str, refund_id: str) -> Response:
        order = self.get_object()
        data = s.RefundConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.refund_confirm(
            order=order, refund_id=int(refund_id), actor=request_actor(request), **data.validated_data
        )
        return Response(s.RefundSerializer(refund).data)

    @extend_schema(
        summary="Ship everything left of an order",
        description=(
            "Every parcel still to ship leaves with this carrier and tracking number (one per source): the "
            "sale is committed in inventory. For staff or a credential of every location the lines come from; "
            "each source ships its own parcels with `parcels/{parcel}/ship/`."
        ),
        request=s.ShipInputSerializer,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {ConfigErrorCode.PERMISSION_DENIED: NOT_AT_EVERY_SOURCE},
                    409: {
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                        OrderErrorCode.ORDER_NOT_PAID: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def ship(self, request: Request, number: str) -> Response:
        order = self.get_object()
        data = s.ShipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_ship(order=order, actor=request_actor(request), **data.validated_data)
        return self.detail_response(order)

    @extend_schema(
        summary="Report a shipped order delivered",
        description=(
            "The carrier's report, through the channel that placed the order or a credential bound to every "
            "location the parcel left from, or by staff working at all of them."
        ),
        request=None,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "neither the channel that placed the order, nor working at, or bound to, every location "
                            "the lines come from"
                        )
                    },
                    409: {OrderErrorCode.ORDER_STATE: "", OrderErrorCode.WRONG_FULFILMENT: ""},
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def deliver(self, request: Request, number: str) -> Response:
        order = services.order_deliver(order=self.get_object(), actor=request_actor(request))
        return self.detail_response(order)

    @extend_schema(
        summary="Ship one parcel",
        description=(
            "The parcel leaves its source with a carrier and a tracking number; the sale of its units is "
            "committed there. Name `lines` (order line positions and units) to ship part of it: what stays "
            "behind becomes the next parcel from the same source. The order is shipped, and the customer "
            "told, when nothing is left to ship. Staff of the parcel's source, or a credential bound to it."
        ),
        parameters=[PARCEL_PARAMETER],
        request=s.ParcelShipInputSerializer,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    400: {
                        OrderErrorCode.INVALID_PARCEL: "a line the order or the parcel does not have, a quantity",
                        OrderErrorCode.INVALID_ORDER: "no carrier or tracking number",
                    },
                    403: {ConfigErrorCode.PERMISSION_DENIED: NOT_AT_PARCEL_SOURCE},
                    404: {OrderErrorCode.PARCEL_NOT_FOUND: ""},
                    409: {
                        OrderErrorCode.PARCEL_STATE: "shipped already",
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                        OrderErrorCode.ORDER_NOT_PAID: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path=r"parcels/(?P<parcel>[0-9]{1,5})/ship", url_name="parcel-ship")
    @idempotent
    def parcel_ship(self, request: Request, number: str, parcel: str) -> Response:
        order = self.get_object()
        data = s.ParcelShipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        lines = values["lines"]
        services.parcel_ship(
            order=order,
            position=int(parcel),
            actor=request_actor(request),
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            lines=None if lines is None else [ParcelLineRequest(line["line"], line["quantity"]) for line in lines],
        )
        return self.detail_response(order)

    @extend_schema(
        summary="Report one parcel delivered",
        description=(
            "The carrier's report of one parcel, through the channel that placed the order or a credential bound "
            "to the parcel's source, or by its staff. The order is delivered with its last parcel."
        ),
        parameters=[PARCEL_PARAMETER],
        request=None,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "neither the channel that placed the order, nor working at, or bound to, the location "
                            "the parcel left from"
                        )
                    },
                    404: {OrderErrorCode.PARCEL_NOT_FOUND: ""},
                    409: {
                        OrderErrorCode.PARCEL_STATE: "not shipped yet, or delivered",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                    },
                }
            ),
        },
    )
    @action(
        detail=True, methods=["post"], url_path=r"parcels/(?P<parcel>[0-9]{1,5})/deliver", url_name="parcel-deliver"
    )
    @idempotent
    def parcel_deliver(self, request: Request, number: str, parcel: str) -> Response:
        order = self.get_object()
        services.parcel_deliver(order=order, position=int(parcel), actor=request_actor(request))
        return self.detail_response(order)

    @extend_schema(
        summary="Cancel one parcel that has not left",
        description=(
            "For an order of which part has left, or will: the parcel's units go back on sale at its source, "
            "its lines' money is refunded (the delivery charge only when nothing of the order ships: then the "
            "order is cancelled whole) and credited on the invoice. The order is shipped when nothing else is "
            "left to ship. Whoever may cancel the order cancels its parcels."
        ),
        parameters=[PARCEL_PARAMETER],
        request=s.CancelInputSerializer,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: (
                            "only the channel that placed the order, a till bound to its pickup location, the "
                            "pickup location's staff or staff reaching every order cancel it"
                        )
                    },
                    404: {OrderErrorCode.PARCEL_NOT_FOUND: ""},
                    409: {
                        OrderErrorCode.PARCEL_STATE: "left already, or cancelled",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path=r"parcels/(?P<parcel>[0-9]{1,5})/cancel", url_name="parcel-cancel")
    @idempotent
    def parcel_cancel(self, request: Request, number: str, parcel: str) -> Response:
        order = self.get_object()
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.parcel_cancel(
            order=order, position=int(parcel), actor=request_actor(request), reason=data.validated_data["reason"]
        )
        return self.detail_response(order)

    @extend_schema(
        summary="Put a pickup order aside: ready for the customer",
        request=None,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {ConfigErrorCode.PERMISSION_DENIED: NOT_AT_PICKUP},
                    409: {
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                        OrderErrorCode.ORDER_NOT_PAID: "",
                        OrderErrorCode.GOODS_NOT_ARRIVED: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def ready(self, request: Request, number: str) -> Response:
        order = services.order_make_ready(order=self.get_object(), actor=request_actor(request))
        return self.detail_response(order)

    @extend_schema(
        summary="Hand a pickup order over against its code",
        request=s.HandOverInputSerializer,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    400: {OrderErrorCode.INVALID_PICKUP_CODE: ""},
                    403: {ConfigErrorCode.PERMISSION_DENIED: NOT_AT_PICKUP},
                    409: {
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                        OrderErrorCode.ORDER_NOT_PAID: "",
                        OrderErrorCode.PICKUP_CODE_USED: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="hand-over")
    @idempotent
    def hand_over(self, request: Request, number: str) -> Response:
        order = self.get_object()
        data = s.HandOverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_hand_over(order=order, actor=request_actor(request), code=data.validated_data["code"])
        return self.detail_response(order)

    @extend_schema(
        summary="The goods sent to the pickup point arrived",
        description="Receives the order's transfers in transit and reserves their units; ready when all is there.",
        request=None,
        responses={
            200: ORDER_DETAIL,
            **api_errors(
                {
                    403: {ConfigErrorCode.PERMISSION_DENIED: NOT_AT_PICKUP},
                    409: {
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.WRONG_FULFILMENT: "",
                        OrderErrorCode.TRANSFER_NOT_SHIPPED: "",
                    },
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="transfers-received")
    @idempotent
    def transfers_received(self, request: Request, number: str) -> Response:
        order = services.order_transfers_receive(order=self.get_object(), actor=request_actor(request))
        return self.detail_response(order)

    def pickup_order(self) -> Order:
        order = self.get_object()
        client = request_channel_client(self.request)
        if not selectors.order_pickup_code_visible(order, client=client, user=self.request.user):
            raise Http404  # as for an order they do not reach
        if order.fulfilment_type not in PICKUP_TYPES or order.status in (OrderStatus.CANCELLED, OrderStatus.PICKED_UP):
            raise OrderStateError(
                _("This order has no pickup code to show."),
                extra={"status": order.status, "fulfilment_type": order.fulfilment_type},
            )
        return order

    @extend_schema(
        summary="The pickup code for the customer's QR",
        description=(
            "Only for the channel that placed the order, and staff who re-send codes and see the order whole: "
            "for anyone else the order is not found."
        ),
        responses={
            200: s.PickupCodeSerializer,
            **api_errors({409: {OrderErrorCode.ORDER_STATE: "not a pickup order, or cancelled or picked up"}}),
        },
    )
    @action(detail=True, methods=["get"], url_path="pickup-code")
    def pickup_code(self, request: Request, number: str) -> Response:
        order = self.pickup_order()
        url = request.build_absolute_uri(reverse("v1:order-pickup-qr", kwargs={"number": order.number}))
        body = {
            "code": codes.pickup_code(number=order.number, secret=order.pickup_secret),
            "short_code": codes.pickup_short_code(secret=order.pickup_secret),
            "qr_svg_url": f"{url}?image=svg",
            "qr_png_url": f"{url}?image=png",
        }
        return Response(s.PickupCodeSerializer(body).data)

    @extend_schema(
        summary="The pickup code as a QR image",
        parameters=[OpenApiParameter("image", str, enum=("svg", "png"), description="svg (default) or png.")],
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            **api_errors({409: {OrderErrorCode.ORDER_STATE: "not a pickup order, or cancelled or picked up"}}),
        },
    )
    @action(detail=True, methods=["get"], url_path="pickup-qr", content_negotiation_class=IgnoreAcceptNegotiation)
    def pickup_qr(self, request: Request, number: str) -> HttpResponse:
        kind = request.query_params.get("image", "svg")
        if kind not in QR_MEDIA_TYPES:
            raise ValidationError({"image": [_("Use svg or png.")]})
        order = self.pickup_order()
        image = codes.pickup_qr(code=codes.pickup_code(number=order.number, secret=order.pickup_secret), kind=kind)
        response = HttpResponse(image, content_type=QR_MEDIA_TYPES[kind])
        response["Cache-Control"] = "private, no-store"
        return response


class PickupRedeemView(APIView):
    """A locker opens its door: only a device credential, only at the lockers it is bound to."""

    access = {"post": Access(scope=Scope.PICKUPS_REDEEM, staff=None)}

    @extend_schema(
        summary="A locker redeems a pickup code (locker credentials)",
        description=(
            "The locker scans the customer's QR and opens the door when the code is genuine, for this locker, "
            "for a ready and paid order, and unused. The locker is one the credential is bound to: `location` "
            "may be left out by a credential bound to one locker. A forged code, another locker's code and an "
            "unknown order all answer the same 404."
        ),
        request=s.RedeemInputSerializer,
        responses={
            200: s.RedeemedSerializer,
            **api_errors(
                {
                    400: {OrderErrorCode.LOCATION_REQUIRED: "bound to several lockers, say which"},
                    403: {
                        ConfigErrorCode.PERMISSION_DENIED: "staff",
                        OrderErrorCode.LOCATION_NOT_BOUND: "not one of the credential's lockers, or bound to none",
                    },
                    404: {OrderErrorCode.ORDER_NOT_FOUND: "a forged code, another locker's code, an unknown order"},
                    409: {
                        OrderErrorCode.PICKUP_CODE_USED: "",
                        OrderErrorCode.ORDER_STATE: "",
                        OrderErrorCode.ORDER_NOT_PAID: "",
                    },
                }
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.RedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_pickup_redeem(
            code=data.validated_data["code"],
            location_code=data.validated_data["location"] or None,
            actor=request_actor(request),
        )
        return Response(s.RedeemedSerializer({"number": order.number, "status": order.status}).data)


class OrderTrackingThrottle(SimpleRateThrottle):
    """Per address, whoever calls: enough for a customer, too few to guess second factors."""

    scope = "order_tracking"

    def get_rate(self) -> str | None:
        # Read at each request, not at import: the rate follows the settings.
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class OrderTrackView(APIView):
    """The customer's public tracking page, behind the order number and a second factor."""

    authentication_classes = ()
    access = {"get": Access.anyone()}
    throttle_classes = (OrderTrackingThrottle,)

    @extend_schema(
        summary="Track an order (public)",
        description=(
            "Give the order number and one second factor: the e-mail or phone it was placed with (any case or "
            "format), or the token from the order's e-mails. Shows where the order stands and nothing about who "
            "placed it. A wrong factor answers exactly like an unknown number. Throttled per address."
        ),
        auth=[],
        parameters=[s.TrackQuerySerializer],
        responses={
            200: s.TrackSerializer,
            **api_errors({404: {OrderErrorCode.ORDER_NOT_FOUND: "no order with this number and these details"}}),
        },
    )
    def get(self, request: Request, number: str) -> Response:
        query = s.TrackQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        order = selectors.order_track(number=number, **query.validated_data)
        if order is None:
            raise OrderNotFound(_("No order with this number and these details."))
        return Response(s.TrackSerializer(order).data)
