"""Orders in the admin: the order book, read-only; every change goes through orders.services.

Staff act as the store (`Actor(channel="store", user=request.user)`), so the services' checks
apply (orders.services.access): a store employee works the orders of their own locations only,
ships only what their locations supply, and cancels only with `cancel_order`. Reads are scoped the
same way as in the API (selectors.order_list_for_staff): staff see whole the orders picked up at
their locations or placed by them, and in the picking view those their locations only supply (no
customer, contact, payment, history or notifications); staff reaching every order see all.
Nothing on an order is edited in a form: it moves on through the actions and the counter page
("Today's pickups"), each one a service call that either happens whole or leaves the order as it
was, with the reason shown.
"""

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin_kit import BOTH_LOCATIONS, service_error_text
from config.admin_kit import ServiceAdminMixin as FormPageMixin
from config.channels import Channel
from config.exceptions import ApplicationError
from customers.models import Customer
from customers.selectors import customer_search_q
from inventory.admin.common import LocationFilter, user_locations
from inventory.selectors import location_ids_for_user
from orders import selectors, services
from orders.codes import order_number_normalise, pickup_code_parse
from orders.exceptions import OrderNotPaid
from orders.models import (
    FulfilmentType,
    Order,
    OrderLine,
    OrderNotification,
    OrderStatusChange,
    Payment,
    PaymentMethod,
    StoreCreditEntry,
)
from orders.services.access import CANCEL_PERMISSION

NOT_YOURS = _("You do not work at this order's pickup location.")
HAND_OVER_PERMISSION = "orders.hand_over_order"
# Taking money at the till needs what recording a payment needs through the API.
PAYMENT_PERMISSION = "orders.add_payment"
# What a till takes at the counter.
TILL_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD_AT_TILL)
CHANGE_FORM_ACTION = f"{admin.ActionLocation.CHANGE_FORM.value}-action"


def store_actor(request: HttpRequest) -> services.Actor:
    """Staff in the admin act for the store, as themselves."""
    return services.Actor(channel=Channel.STORE, user=request.user)


def refusal_text(exc: Exception, *, at_the_counter: bool = False) -> str:
    """Why a service said no, as staff read it."""
    if isinstance(exc, PermissionDenied):
        return str(exc) or str(NOT_YOURS)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, OrderNotPaid) and at_the_counter:
        return str(
            _("Not paid yet: take the %(due)s still due at the till first.") % {"due": exc.extra.get("amount_due")}
        )
    if isinstance(exc, OrderNotPaid):
        return str(_("Not paid yet: %(due)s still due.") % {"due": exc.extra.get("amount_due")})
    if isinstance(exc, ApplicationError):
        return service_error_text(exc)
    raise exc


REFUSALS = (PermissionDenied, ValidationError, ApplicationError)


def _picking_row(order: Order) -> bool:
    """A changelist row in the picking view (read through selectors.order_list_for_staff)."""
    return getattr(order, "staff_view", selectors.FULL_VIEW) == selectors.PICKING_VIEW


# --- Filters ----------------------------------------------------------------------------------


class PickupLocationFilter(LocationFilter):
    """The user's pickup points only."""

    title = _("pickup location")
    parameter_name = "pickup_at"
    paths = ("pickup_location",)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        rows = user_locations(request).filter(is_pickup_point=True).order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} · {name}") for pk, code, name in rows]


# --- Forms ------------------------------------------------------------------------------------


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=200,
        help_text=_("Kept in the order's history and written on the credit note, if there is one."),
    )


class HandOverForm(forms.Form):
    """The customer's pickup code: scanned (the QR holds the order number) or typed with the number."""

    number = forms.CharField(label=_("order number"), max_length=20, required=False)
    code = forms.CharField(
        label=_("pickup code"),
        max_length=300,
        help_text=_("Scan the customer's QR code, or type the 8-character code with the order number."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        number = order_number_normalise(cleaned.get("number") or "")
        if not number and cleaned.get("code"):
            parsed = pickup_code_parse(cleaned["code"])
            number = parsed[0] if parsed else ""
            if not number:
                raise ValidationError(_("Give the order number with the 8-character code."))
        cleaned["number"] = number
        return cleaned


class TillPaymentForm(forms.Form):
    number = forms.CharField(label=_("order number"), max_length=20)
    method = forms.ChoiceField(label=_("method"), choices=[(method.value, method.label) for method in TILL_METHODS])
    amount = forms.DecimalField(label=_("amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))


class OrderCommandForm(forms.Form):
    number = forms.CharField(max_length=20)


# --- Inlines ----------------------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "order"
    fields = ("created_at", "kind", "method", "amount", "points", "provider_reference", "channel", "user")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("user")


class StatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("created_at", "event", "status", "channel", "client", "user", "note")
    readonly_fields = fields
    ordering = ("id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderStatusChange]:
        return super().get_queryset(request).select_related("client", "user")


class NotificationInline(ReadOnlyInline):
    model = OrderNotification
    fields = ("kind", "status", "channel", "attempts", "created_at", "sent_at")
    readonly_fields = fields


# --- Orders -----------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(FormPageMixin, admin.ModelAdmin):
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
    # The box; get_search_results looks the term up as a number and as any customer identity.
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
                    "ready_date",
                    "ready_at",
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
    inlines = (OrderLineInline, PaymentInline, StatusChangeInline, NotificationInline)
    picking_inlines = (PickingLineInline,)
    actions = ("make_ready", "receive_transfers", "mark_delivered", "cancel_orders")
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # A number typed without its dash still finds the order.
        by_number = Q(number__iexact=term) | Q(number=order_number_normalise(term))
        # Identities are many per customer: matched in a subquery, so no order comes twice. Only
        # among orders seen whole: a supplier's staff must not learn whose an order is by searching.
        by_customer = Q(pk__in=Order.objects.filter(selectors.order_search_q(term)).values("pk"))
        found = queryset.filter(by_number) | selectors.order_list_seen_whole(queryset).filter(by_customer)
        return found, False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the channels through order_place

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An order's page is read-only; moving orders on (the actions) needs the permission.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("pickups/", self.admin_site.admin_view(self.pickups_view), name="orders_order_pickups"),
            *super().get_urls(),
        ]

    # --- Read-only fields

    # The changelist reads each row's view from the queryset's annotation (`staff_view`): no query
    # per row. A supplier's staff learn neither whose an order is nor what it cost.

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_column(self, order: Order) -> str:
        return "—" if _picking_row(order) else str(order.customer)

    @admin.display(description=_("total"), ordering="total")
    def total_column(self, order: Order) -> Decimal | str:
        return "—" if _picking_row(order) else order.total

    @admin.display(description=_("paid"), ordering="paid_amount")
    def paid_column(self, order: Order) -> Decimal | str:
        return "—" if _picking_row(order) else order.paid_amount

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

    def _run(
        self, request: HttpRequest, orders: Iterable[Order], act: Callable[[Order], Any], done: Callable[[int], str]
    ) -> None:
        """Call the service for each order: each refusal is an error message and leaves that order as it was."""
        count = 0
        for order in orders:
            try:
                act(order)
            except REFUSALS as exc:
                self.message_user(request, f"{order.number}: {refusal_text(exc)}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)

    @admin.action(
        description=_("Ready for pickup: put the goods aside and tell the customer"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def make_ready(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = store_actor(request)
        self._run(
            request,
            queryset.order_by("pk"),
            lambda order: services.order_make_ready(order=order, actor=actor),
            lambda count: (
                ngettext("%(count)d order is ready for pickup.", "%(count)d orders are ready for pickup.", count)
                % {"count": count}
            ),
        )

    @admin.action(
        description=_("Goods arrived: receive the transfers at the pickup point"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def receive_transfers(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = store_actor(request)
        self._run(
            request,
            queryset.order_by("pk"),
            lambda order: services.order_transfers_receive(order=order, actor=actor),
            lambda count: (
                ngettext("Goods received for %(count)d order.", "Goods received for %(count)d orders.", count)
                % {"count": count}
            ),
        )

    @admin.action(
        description=_("Delivered: the carrier handed the parcel over"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = store_actor(request)
        self._run(
            request,
            queryset.order_by("pk"),
            lambda order: services.order_deliver(order=order, actor=actor),
            lambda count: (
                ngettext("%(count)d order delivered.", "%(count)d orders delivered.", count) % {"count": count}
            ),
        )

    @admin.action(
        description=_("Cancel: stock back on sale, money back, credit note"),
        permissions=["cancel"],
        location=BOTH_LOCATIONS,
    )
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        orders = list(queryset.order_by("pk"))
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            actor, reason = store_actor(request), form.cleaned_data["reason"]
            self._run(
                request,
                orders,
                lambda order: services.order_cancel(order=order, actor=actor, reason=reason),
                lambda count: (
                    ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.", count) % {"count": count}
                ),
            )
            return None
        # Asked from an order's page, the answer goes back there.
        action_field = CHANGE_FORM_ACTION if CHANGE_FORM_ACTION in request.POST else "action"
        hidden = [(action_field, "cancel_orders"), *((helpers.ACTION_CHECKBOX_NAME, order.pk) for order in orders)]
        return self.form_page(
            request,
            form,
            title=str(_("Cancel orders")),
            submit_label=str(_("Cancel the orders")),
            cancel_url=self.changelist_url(),
            intro=str(_("Paid orders are refunded the way they were paid and get a credit note. These orders:")),
            objects=[self._cancel_line(request, order) for order in orders],
            hidden=hidden,
        )

    def _cancel_line(self, request: HttpRequest, order: Order) -> str:
        """An order as the cancel page lists it: whose and how much only for an order seen whole."""
        if selectors.order_staff_view(order, user=request.user) == selectors.PICKING_VIEW:
            return f"{order.number} · {order.get_status_display()}"
        return f"{order.number} · {order.customer_name} · {order.get_status_display()} · {order.total} {order.currency}"

    # --- Today's pickups: the counter

    def pickups_view(self, request: HttpRequest) -> HttpResponse:
        """Orders at the user's pickup points: ready, waiting, overdue; the hand-over and the till."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            self._pickup_command(request)
            return HttpResponseRedirect(request.get_full_path())
        now = timezone.now()
        groups: dict[str, list[Order]] = {"ready": [], "overdue": [], "waiting": []}
        for order in selectors.pickups_today(user=request.user).order_by("ready_at", "ready_date", "pk"):
            groups[selectors.pickup_state(order, now=now)].append(order)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Today's pickups at my store"),
            "groups": [
                ("ready", _("Ready: waiting for the customer"), groups["ready"]),
                ("overdue", _("Overdue: not collected and not paid in time"), groups["overdue"]),
                ("waiting", _("Not ready yet"), groups["waiting"]),
            ],
            "may_hand_over": request.user.has_perm(HAND_OVER_PERMISSION),
            "may_take_payment": request.user.has_perm(PAYMENT_PERMISSION),
            "may_change": self.has_change_permission(request),
            "hand_over_form": HandOverForm(),
            "till_methods": [(method.value, method.label) for method in TILL_METHODS],
        }
        return TemplateResponse(request, "orders/admin/pickups.html", context)

    def _pickup_command(self, request: HttpRequest) -> None:
        """One POST of the pickups page; the outcome is a message and the page is shown again."""
        commands: dict[str, tuple[type[forms.Form], Callable[[HttpRequest, Order, dict[str, Any]], str], str]] = {
            "hand_over": (HandOverForm, self._hand_over, HAND_OVER_PERMISSION),
            "pay": (TillPaymentForm, self._take_payment, PAYMENT_PERMISSION),
            "make_ready": (OrderCommandForm, self._make_ready, "orders.change_order"),
            "receive": (OrderCommandForm, self._receive, "orders.change_order"),
        }
        command = commands.get(request.POST.get("op", ""))
        if command is None:
            self.message_user(request, _("Unknown command."), messages.ERROR)
            return
        form_class, act, permission = command
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST)
        if not form.is_valid():
            errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
            self.message_user(request, " ".join(errors), messages.ERROR)
            return
        number = order_number_normalise(form.cleaned_data["number"])
        order = self.get_queryset(request).filter(number=number).first()
        if order is None:
            self.message_user(request, _("No order %(number)s among your orders.") % {"number": number}, messages.ERROR)
            return
        try:
            done = act(request, order, form.cleaned_data)
        except REFUSALS as exc:
            text = refusal_text(exc, at_the_counter=True)
            self.message_user(request, f"{order.number}: {text}", messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)

    def _hand_over(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        order = services.order_hand_over(order=order, actor=store_actor(request), code=data["code"])
        return str(
            _("%(number)s handed over to %(customer)s.") % {"number": order.number, "customer": order.customer_name}
        )

    def _take_payment(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        order = services.order_payment_add(
            order=order, actor=store_actor(request), method=data["method"], amount=data["amount"]
        )
        if order.is_paid:
            return str(
                _("%(number)s is paid: invoice %(invoice)s. Hand the goods over with the customer's code.")
                % {"number": order.number, "invoice": order.invoice.number if order.invoice else ""}
            )
        return str(
            _("Payment recorded on %(number)s: %(due)s %(currency)s still due.")
            % {"number": order.number, "due": order.amount_due, "currency": order.currency}
        )

    def _make_ready(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        order = services.order_make_ready(order=order, actor=store_actor(request))
        return str(_("%(number)s is ready: the customer is told.") % {"number": order.number})

    def _receive(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        order = services.order_transfers_receive(order=order, actor=store_actor(request))
        return str(
            _("Goods for %(number)s received: the order is %(status)s.")
            % {"number": order.number, "status": order.get_status_display()}
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "pickups_url": reverse("admin:orders_order_pickups")}
        return super().changelist_view(request, extra_context)


# --- Store credit and notifications -----------------------------------------------------------


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(admin.ModelAdmin):
    """The store-credit ledger, read-only: credit is granted by refunds and spent on orders."""

    list_display = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel")
    list_filter = ("channel", "currency", "reason")
    search_fields = ("reference",)
    search_help_text = _("The customer's e-mail, phone, handle, tax id or name, or an order number.")
    list_select_related = ("customer",)
    fields = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel")
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StoreCreditEntry], search_term: str
    ) -> tuple[QuerySet[StoreCreditEntry], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(customer_search_q(term)).values("pk")
        return queryset.filter(Q(customer__in=customers) | Q(reference__iexact=term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the ledger is append-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderNotification)
class OrderNotificationAdmin(admin.ModelAdmin):
    """Messages owed to customers and how they went; the worker sends them."""

    list_display = ("created_at", "order", "kind", "status", "channel", "attempts", "sent_at")
    list_filter = ("status", "kind", "channel")
    search_fields = ("=order__number",)
    search_help_text = _("Order number.")
    list_select_related = ("order",)
    fields = ("order_link", "kind", "status", "channel", "attempts", "created_at", "sent_at", "last_error")
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderNotification]:
        # Messages carry the customer's contact: only for orders seen whole, never a supplier's.
        visible = selectors.order_list_for_staff(user=request.user, full_view_only=True).values("pk")
        return super().get_queryset(request).filter(order__in=visible).select_related("order")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("order"))
    def order_link(self, notification: OrderNotification) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_order_change", args=[notification.order_id]),
            notification.order.number,
        )
