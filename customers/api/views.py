from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.pricing import running_promotions_for_request, variant_prices
from config.api.access import Access
from config.api.authentication import request_channel, request_channel_client
from config.api.errors import api_errors
from config.api.idempotency import idempotent
from config.exceptions import ApplicationError, ConfigErrorCode
from config.scopes import Scope
from customers import selectors, services
from customers.api import serializers as s
from customers.exceptions import CustomerErrorCode
from customers.models import Customer, Segment
from customers.segments import segment_members

READ_PROFILE = Access(scope=Scope.CUSTOMERS_READ, staff=("customers.view_customer",))
# Views and searches are events: staff read them as they read the timeline.
READ_BROWSING = Access(scope=Scope.CUSTOMERS_READ, staff=("customers.view_customer", "customers.view_customerevent"))
READ_SEGMENTS = Access(scope=Scope.SEGMENTS_READ, staff=("customers.view_segment",))
LIMIT = OpenApiParameter("limit", int, description="At most 100 (default 20).")
PERSONALISED = (
    "Empty while the customer's personalisation consent in force on any channel is a withdrawal "
    "(until a newer grant on that channel); a customer never asked sees it. The events stay on the timeline."
)


@extend_schema_view(retrieve=extend_schema(summary="A customer's profile", responses=s.CustomerAsSeenSerializer))
class CustomerViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[Customer]):
    """One profile across every channel. Channels see the profiles they reach; staff also see audit fields."""

    # Its answers show the customer its URL names (a stored idempotent answer's subject).
    answers_about_customer_kwarg = "pk"

    access = {
        "retrieve": READ_PROFILE,
        "partial_update": Access(scope=Scope.CUSTOMERS_WRITE, staff=("customers.change_customer",)),
        # Resolving a known identity answers with its profile: staff need to read profiles too.
        "resolve": Access(scope=Scope.CUSTOMERS_WRITE, staff=("customers.add_customer", "customers.view_customer")),
        "lookup": READ_PROFILE,
        "consents": Access(scope=Scope.CUSTOMERS_READ, staff=("customers.view_consent",)),
        # Recording one answers with the consents in force.
        "consents.post": Access(scope=Scope.CUSTOMERS_WRITE, staff=("customers.add_consent", "customers.view_consent")),
        "recently_viewed": READ_BROWSING,
        "recent_searches": READ_BROWSING,
        "loyalty": Access(
            scope=Scope.CUSTOMERS_READ, staff=("customers.view_loyaltyaccount", "customers.view_loyaltyentry")
        ),
        "timeline": Access(staff=("customers.view_customerevent",)),
        "export": Access(staff=("customers.export_customer",)),
    }

    def get_queryset(self) -> QuerySet[Customer]:
        # Another client's customer is absent here: it answers 404 exactly like a missing id.
        return selectors.customer_list_for(client=request_channel_client(self.request))

    def get_serializer_class(self) -> Any:
        return s.CustomerStaffSerializer if self.request.user.is_staff else s.CustomerSerializer

    def customer_out(self, customer: Customer) -> dict[str, Any] | None:
        """The profile as the caller sees it, or None when the caller does not reach it."""
        fresh = self.get_queryset().filter(pk=customer.pk).first()
        if fresh is None:
            return None
        return self.get_serializer_class()(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Resolve identities to the one customer",
        description=(
            "Returns the customer who owns any of the identities, attaching the new ones; creates a customer "
            "when none does (the calling client brought it, and reaches it from then on). Identities owned by "
            "different customers are never merged silently: the best match is returned and a duplicate "
            "candidate is recorded for staff.\n\n"
            "`customer` is the profile and `customer_id` its id when the caller reaches it. When the identities "
            "belong to a customer the caller does not reach (one another channel brought), both are `null` and "
            "nothing the caller sent is added to that customer's profile."
        ),
        request=s.ResolveInputSerializer,
        responses={200: s.ResolveOutputSerializer, 201: s.ResolveOutputSerializer},
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def resolve(self, request: Request) -> Response:
        data = s.ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resolution = services.customer_resolve(
            identities=data.validated_data["identities"],
            name=data.validated_data["name"],
            channel=request_channel(request),
            client=request_channel_client(request),
        )
        body = {
            "created": resolution.created,
            "customer_id": resolution.customer.pk if resolution.reached else None,
            "customer": self.customer_out(resolution.customer) if resolution.reached else None,
        }
        return Response(body, status=status.HTTP_201_CREATED if resolution.created else status.HTTP_200_OK)

    @extend_schema(
        summary="Find a customer by one identity",
        parameters=[
            OpenApiParameter("kind", str, enum=[k for k, _ in s.IdentityKind.choices]),
            OpenApiParameter("value", str, description="As typed: '612 34 56 78' finds '+34612345678'."),
        ],
        responses={
            200: s.CustomerAsSeenSerializer,
            **api_errors({404: {ConfigErrorCode.NOT_FOUND: "no customer with this identity among those you reach"}}),
        },
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request: Request) -> Response:
        data = s.LookupInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        try:
            customer = selectors.customer_find_by_identity(
                **data.validated_data, client=request_channel_client(request)
            )
        except ValidationError as exc:
            raise ValidationError({"value": exc.messages}) from exc
        if customer is None:
            raise Http404
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        summary="Update profile and preferences",
        request=s.CustomerUpdateSerializer,
        responses=s.CustomerAsSeenSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        data = s.CustomerUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.customer_update(customer=customer, **data.validated_data)
        return Response(self.customer_out(customer))

    @extend_schema(methods=["GET"], summary="Consents in force", responses=s.ConsentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Record a consent",
        description="Answers with the consents in force, the new one included.",
        request=s.ConsentInputSerializer,
        responses={201: s.ConsentSerializer(many=True)},
    )
    # One list, neither paginated nor filtered.
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    @idempotent
    def consents(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        if request.method == "POST":
            data = s.ConsentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.consent_record(
                customer=customer, recorded_by_channel=request_channel(request), **data.validated_data
            )
        current = selectors.consent_current(customer=customer)
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        return Response(s.ConsentSerializer(current, many=True).data, status=code)

    @extend_schema(
        summary="Products recently viewed, on every channel and device",
        description=PERSONALISED,
        parameters=[LIMIT],
        responses=s.RecentlyViewedSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="recently-viewed", pagination_class=None, filter_backends=[])
    def recently_viewed(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        viewed = selectors.customer_recently_viewed(customer=customer, limit=self.limit(request))
        variants = [item.variant for item in viewed if item.variant is not None]
        prices = variant_prices(variants=variants, running=running_promotions_for_request(request))
        context = {**self.get_serializer_context(), "prices": prices}
        return Response(s.RecentlyViewedSerializer(viewed, many=True, context=context).data)

    @extend_schema(
        summary="Recent searches",
        description=PERSONALISED,
        parameters=[LIMIT],
        responses=s.RecentSearchSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="recent-searches", pagination_class=None, filter_backends=[])
    def recent_searches(self, request: Request, pk: str) -> Response:
        searches = selectors.customer_recent_searches(customer=self.get_object(), limit=self.limit(request))
        return Response(s.RecentSearchSerializer(searches, many=True).data)

    @extend_schema(
        summary="Loyalty balance and latest entries",
        parameters=[OpenApiParameter("limit", int, description="Entries: at most 100 (default 20).")],
        responses=s.LoyaltySerializer,
    )
    @action(detail=True, methods=["get"])
    def loyalty(self, request: Request, pk: str) -> Response:
        customer = self.get_object()
        account = getattr(customer, "loyalty_account", None)
        balance = account.balance if account else 0
        body = {
            "balance": balance,
            "value": services.loyalty_points_value(balance),
            "currency": settings.DEFAULT_CURRENCY,
            "entries": selectors.loyalty_entries_for(customer=customer)[: self.limit(request)],
        }
        return Response(s.LoyaltySerializer(body).data)

    @extend_schema(summary="The whole timeline (staff)", responses=s.CustomerEventSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])  # paginated, not filtered
    def timeline(self, request: Request, pk: str) -> Response:
        events = selectors.customer_timeline(customer=self.get_object())
        page: Any = self.paginate_queryset(events)  # type: ignore[arg-type]
        return self.get_paginated_response(s.CustomerEventSerializer(page, many=True).data)

    @extend_schema(summary="Everything held about the customer, as JSON (staff, GDPR)", responses=dict)
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Response:
        return Response(services.customer_export(customer=self.get_object()))

    @staticmethod
    def limit(request: Request) -> int:
        try:
            return max(1, min(int(request.query_params.get("limit", 20)), 100))
        except ValueError:
            raise ApplicationError(
                gettext("limit is a whole number."),
                code=ConfigErrorCode.INVALID,
                fields={"limit": [gettext("A whole number.")]},
            ) from None


class EventViewSet(viewsets.GenericViewSet[Any]):
    # Events are what a channel saw; staff have nothing to report here.
    access = {"create": Access(scope=Scope.EVENTS_WRITE, staff=None)}
    serializer_class = s.EventBatchSerializer

    @extend_schema(
        summary="Report a batch of customer events (views, searches, store visits, carts)",
        description=(
            "Up to 1,000 events. Each carries one identity; a new identity creates its customer. Idempotent "
            "per `client_event_id`. Every event gets its own result; a bad one does not drop the others."
        ),
        request=s.EventBatchSerializer,
        responses={200: s.EventBatchResultSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        client = request_channel_client(request)
        if client is None:
            raise ApplicationError(
                gettext("Events come from a channel client."), code=CustomerErrorCode.CHANNEL_CLIENT_REQUIRED
            )
        batch = s.EventBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        items = batch.validated_data["events"]
        valid: list[dict[str, Any]] = []
        positions: list[int] = []
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            event = s.EventInputSerializer(data=item)
            if event.is_valid():
                valid.append(event.validated_data)
                positions.append(index)
                results.append({})
            else:
                results.append({"index": index, "status": "error", "customer_id": None, "errors": event.errors})
        for outcome in services.customer_events_ingest(client=client, events=valid):
            index = positions[outcome.index]
            results[index] = {
                "index": index,
                "status": outcome.status,
                "customer_id": outcome.customer_id,
                "errors": outcome.errors,
            }
        body = {
            "created": sum(r["status"] == "created" for r in results),
            "duplicates": sum(r["status"] == "duplicate" for r in results),
            "errors": sum(r["status"] == "error" for r in results),
            "results": results,
        }
        return Response(s.EventBatchResultSerializer(body).data)


class SegmentViewSet(viewsets.ReadOnlyModelViewSet[Segment]):
    access = {
        "list": READ_SEGMENTS,
        "retrieve": READ_SEGMENTS,
        "members": Access(scope=Scope.SEGMENTS_READ, staff=("customers.view_segment", "customers.view_customer")),
    }
    serializer_class = s.SegmentSerializer
    queryset = Segment.objects.order_by("name")
    search_fields = ("name",)

    @extend_schema(
        summary="Customers in the segment",
        description="Only the customers the caller reaches: a client reaching its own sees the ones it brought.",
        responses=s.SegmentMemberSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str) -> Response:
        members = selectors.customers_reached(
            segment_members(rules=self.get_object().rules), client=request_channel_client(request)
        )
        page: Any = self.paginate_queryset(members)  # type: ignore[arg-type]
        return self.get_paginated_response(s.SegmentMemberSerializer(page, many=True).data)
