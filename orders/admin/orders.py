"""The order book: orders read-only, moved on by actions that call the order services."""

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from config.admin_kit import (
    BOTH_LOCATIONS,
    IdChoiceFilter,
    NoAddMixin,
    NoDeleteMixin,
    ReadOnlyInline,
    ReadOnlyPageMixin,
    TermSearchMixin,
)
from inventory.selectors import location_ids_for_user, location_list_for_user
from orders import selectors, services
from orders.admin.common import picking_row, store_actor
from orders.admin.notifications import NotificationInline
from orders.admin.parcels import ParcelInline, PickingParcelInline, ship_form_page
from orders.admin.payments import PaymentInline
from orders.admin.pickups_counter import PickupsCounterMixin
from orders.admin.refunds import RefundInline
from orders.codes import order_number_normalise
from orders.models import FulfilmentType, Order, OrderLine, OrderStatusChange
from orders.services.access import CANCEL_PERMISSION

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class PickupLocationFilter(IdChoiceFilter):
    """The user's pickup points only."""

    title = _("pickup location")
    parameter_name = "pickup_at"
    paths = ("pickup_location",)

    def options(self, request: HttpRequest) -> list[tuple[str, str]]:
        locations = location_list_for_user(user=request.user).filter(is_pickup_point=True)
        rows = locations.order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} · {name}") for pk, code, name in rows]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=200,
        help_text=_("Kept in the order's history and written on the credit note, if there is one."),
    )


class OrderLineInline(ReadOnlyInline):
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
        "source",
        "transfer",
        "arrived_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("source", "transfer")


class PickingLineInline(ReadOnlyInline):
    """A supplier's lines only: what to pick, from where. No prices."""

    model = OrderLine
    fields = ("position", "sku", "description", "quantity", "source", "transfer", "arrived_at")
    readonly_fields = fields
    verbose_name_plural = _("lines to pick")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        locations = location_ids_for_user(user=request.user)
        return super().get_queryset(request).filter(source__in=locations).select_related("source", "transfer")


class StatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "event", "status", "channel", "client", "user", "note")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderStatusChange]:
        return super().get_queryset(request).select_related("client", "user")


@admin.register(Order)
class OrderAdmin(PickupsCounterMixin, TermSearchMixin, NoAddMixin, NoDeleteMixin, ReadOnlyPageMixin, admin.ModelAdmin):
    """Orders come from the channels through order_place; an order's page is read-only, and moving
    orders on (the actions) needs the change permission."""

    list_display = (
        "number",
        "channel",
        "customer_column",
        "status",
        "fulfilment_type",
        "pickup_location",
        "total_column",
        "paid_column",
        "placed_at",
    )
    list_filter = ("status", "channel", "fulfilment_type", "payment_mode", PickupLocationFilter)
    # The box; `search` looks the term up as a number and as any customer identity.
    search_fields = ("number",)
    search_help_text = _("Order number, or the customer's e-mail, phone, social handle, loyalty card or name.")
    list_select_related = ("customer", "pickup_location")
    date_hierarchy = "placed_at"
    list_per_page = 50
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("number", "status", "channel", "client", "placed_by_user", "placed_at")}),
        (_("Customer"), {"fields": ("customer", "customer_name", "email", "phone", "language")}),
        (
            _("Fulfilment"),
            {
                "fields": (
                    "fulfilment_type",
                    "pickup_location",
                    "shipping_address",
                    "weight_grams",
                    "ready_date",
                    "ready_at",
                    "hold_ends_at",
                    "hold_reminded_at",
                    "carrier",
                    "tracking_number",
                    "shipped_at",
                    "delivered_at",
                    "picked_up_at",
                )
            },
        ),
        (
            _("Payment"),
            {
                "fields": (
                    "payment_mode",
                    "total_with_currency",
                    "tax_total",
                    "delivery_method",
                    "delivery_zone",
                    "delivery_charge",
                    "delivery_tax_rate",
                    "paid_amount",
                    "amount_due_display",
                    "refunded_amount",
                    "payment_due_by",
                    "paid_at",
                    "invoice",
                    "credit_note",
                    "billing",
                )
            },
        ),
        (_("Cancellation"), {"fields": ("cancelled_at", "cancel_reason")}),
    )
    # What staff of a location that only supplies an order see: what to pick and where it goes.
    picking_fieldsets = (
        (None, {"fields": ("number", "status", "channel", "placed_at")}),
        (
            _("Fulfilment"),
            {
                "fields": (
                    "fulfilment_type",
                    "delivery_method",
                    "weight_grams",
                    "pickup_location",
                    "parcel_label",
                    "ready_date",
                    "ready_at",
                    "carrier",
                    "tracking_number",
                    "shipped_at",
                    "delivered_at",
                )
            },
        ),
    )
    inlines = (OrderLineInline, ParcelInline, PaymentInline, RefundInline, StatusChangeInline, NotificationInline)
    picking_inlines = (PickingLineInline, PickingParcelInline)
    actions = ("make_ready", "receive_transfers", "ship_parcel", "mark_delivered", "cancel_orders")
    change_list_template = "orders/admin/order/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        # Annotated with each order's view for this user (`staff_view`): the list and the page read it.
        return selectors.order_list_for_staff(user=request.user)

    def picking_only(self, request: HttpRequest, obj: Order | None) -> bool:
        return obj is not None and selectors.order_staff_view(obj, user=request.user) == selectors.PICKING_VIEW

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.picking_fieldsets if self.picking_only(request, obj) else super().get_fieldsets(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.picking_inlines if self.picking_only(request, obj) else super().get_inlines(request, obj)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(CANCEL_PERMISSION))

    def search(self, request: HttpRequest, queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
        # A number typed without its dash still finds the order.
        by_number = Q(number__iexact=term) | Q(number=order_number_normalise(term))
        # Identities are many per customer: matched in a subquery, so no order comes twice. Only
        # among orders seen whole: a supplier's staff must not learn whose an order is by searching.
        by_customer = Q(pk__in=Order.objects.filter(selectors.order_search_q(term)).values("pk"))
        return queryset.filter(by_number) | selectors.order_list_seen_whole(queryset).filter(by_customer)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    # --- Read-only fields

    # The changelist reads each row's view from the queryset's annotation (`staff_view`): no query
    # per row. A supplier's staff learn neither whose an order is nor what it cost.

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_column(self, order: Order) -> str:
        return "—" if picking_row(order) else str(order.customer)

    @admin.display(description=_("total"), ordering="total")
    def total_column(self, order: Order) -> Decimal | str:
        return "—" if picking_row(order) else order.total

    @admin.display(description=_("paid"), ordering="paid_amount")
    def paid_column(self, order: Order) -> Decimal | str:
        return "—" if picking_row(order) else order.paid_amount

    @admin.display(description=_("ship to"))
    def parcel_label(self, order: Order) -> str:
        """The parcel's label for a shipped order; nothing of the customer otherwise."""
        return self.shipping_address(order) if order.fulfilment_type == FulfilmentType.SHIP else "—"

    @admin.display(description=_("total"))
    def total_with_currency(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    @admin.display(description=_("still due"))
    def amount_due_display(self, order: Order) -> str:
        return f"{order.amount_due} {order.currency}"

    @admin.display(description=_("ship to"))
    def shipping_address(self, order: Order) -> str:
        parts = (
            order.shipping_name,
            order.shipping_street,
            f"{order.shipping_postal_code} {order.shipping_city}".strip(),
            order.shipping_country,
        )
        return ", ".join(part for part in parts if part) if order.shipping_street else "—"

    @admin.display(description=_("full invoice for"))
    def billing(self, order: Order) -> str:
        if not order.billing_tax_id:
            return "—"
        parts = (
            order.billing_name,
            order.billing_tax_id,
            order.billing_street,
            f"{order.billing_postal_code} {order.billing_city}".strip(),
            order.billing_country,
        )
        return ", ".join(part for part in parts if part)

    # --- Actions

    def _move_each(
        self,
        request: HttpRequest,
        orders: QuerySet[Order] | list[Order],
        service: Callable[..., Any],
        done: "StrOrPromise",
        **arguments: Any,
    ) -> None:
        """One order service on each selected order, oldest first, acting for the store."""
        actor = store_actor(request)
        self.run_for_each(
            request,
            orders.order_by("pk") if isinstance(orders, QuerySet) else orders,
            lambda order: service(order=order, actor=actor, **arguments),
            label=lambda order: order.number,
            done=done,
        )

    @admin.action(
        description=_("Ready for pickup: put the goods aside and tell the customer"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def make_ready(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move_each(
            request,
            queryset,
            services.order_make_ready,
            ngettext_lazy("%(count)d order is ready for pickup.", "%(count)d orders are ready for pickup.", "count"),
        )

    @admin.action(
        description=_("Goods arrived: receive the transfers at the pickup point"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def receive_transfers(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move_each(
            request,
            queryset,
            services.order_transfers_receive,
            ngettext_lazy("Goods received for %(count)d order.", "Goods received for %(count)d orders.", "count"),
        )

    @admin.action(
        description=_("Ship a parcel: carrier, tracking number, what goes in the box"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def ship_parcel(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        orders = list(queryset.order_by("pk")[:2])
        if len(orders) != 1:
            self.message_user(request, _("Ship the parcels of one order at a time."), messages.ERROR)
            return None
        return ship_form_page(self, request, orders[0], action="ship_parcel", selected=orders)

    @admin.action(
        description=_("Delivered: the carrier handed the parcel over"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move_each(
            request,
            queryset,
            services.order_deliver,
            ngettext_lazy("%(count)d order delivered.", "%(count)d orders delivered.", "count"),
        )

    @admin.action(
        description=_("Cancel: stock back on sale, money back, credit note"),
        permissions=["cancel"],
        location=BOTH_LOCATIONS,
    )
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        orders = list(queryset.order_by("pk"))
        form = self.action_step_form(request, CancelForm)
        if form.is_valid():
            self._move_each(
                request,
                orders,
                services.order_cancel,
                ngettext_lazy("%(count)d order cancelled.", "%(count)d orders cancelled.", "count"),
                reason=form.cleaned_data["reason"],
            )
            return None
        return self.action_form_page(
            request,
            form,
            action="cancel_orders",
            selected=orders,
            rows=[self._cancel_line(request, order) for order in orders],
            title=str(_("Cancel orders")),
            submit_label=str(_("Cancel the orders")),
            intro=str(_("Paid orders are refunded the way they were paid and get a credit note. These orders:")),
        )

    def _cancel_line(self, request: HttpRequest, order: Order) -> str:
        """An order as the cancel page lists it: whose and how much only for an order seen whole."""
        if selectors.order_staff_view(order, user=request.user) == selectors.PICKING_VIEW:
            return f"{order.number} · {order.get_status_display()}"
        return f"{order.number} · {order.customer_name} · {order.get_status_display()} · {order.total} {order.currency}"
