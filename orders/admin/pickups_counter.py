"""Today's pickups: the counter page of a store's staff, at /admin/orders/order/pickups/.

The orders waiting at the user's pickup points (ready, overdue, not ready yet; until when each ready
one is held, flagged when its hold ends soon: orders.holds), and the four things
done there: hand an order over with the customer's code, take money at the till, put an order
aside as ready, receive the goods a transfer brought. Each POST is one service call; its outcome
is a message and the page is shown again.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.admin_kit import REFUSALS
from invoicing.selectors import seller_default_country
from orders import selectors, services
from orders.admin.common import OrderServiceAdminMixin, store_actor
from orders.codes import order_number_normalise, pickup_code_parse
from orders.exceptions import OrderNotPaid
from orders.holds import order_hold_ending_soon
from orders.models import Order, PaymentMethod

HAND_OVER_PERMISSION = "orders.hand_over_order"
# Taking money at the till needs what recording a payment needs through the API.
PAYMENT_PERMISSION = "orders.add_payment"
# What a till takes at the counter.
TILL_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD_AT_TILL)


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


BILLING_DETAIL_FIELDS = ("tax_id", "name", "street", "city", "postal_code", "country")


class TillPaymentForm(forms.Form):
    number = forms.CharField(label=_("order number"), max_length=20)
    method = forms.ChoiceField(label=_("method"), choices=[(method.value, method.label) for method in TILL_METHODS])
    amount = forms.DecimalField(label=_("amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    # The buyer's details for a full invoice (required above the limit of a simplified invoice).
    billing_tax_id = forms.CharField(label=_("tax id for the invoice"), max_length=20, required=False)
    billing_name = forms.CharField(label=_("name on the invoice"), max_length=200, required=False)
    billing_street = forms.CharField(label=_("billing street"), max_length=250, required=False)
    billing_city = forms.CharField(label=_("billing city"), max_length=100, required=False)
    billing_postal_code = forms.CharField(label=_("billing postal code"), max_length=20, required=False)
    billing_country = forms.CharField(label=_("billing country"), max_length=2, required=False)


class OrderCommandForm(forms.Form):
    number = forms.CharField(max_length=20)


class PickupsCounterMixin(OrderServiceAdminMixin):
    """The counter page of the orders' admin: its URL, the link on the list, its commands."""

    def get_urls(self) -> list[URLPattern]:
        return [
            path("pickups/", self.admin_site.admin_view(self.pickups_view), name="orders_order_pickups"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "pickups_url": reverse("admin:orders_order_pickups")}
        return super().changelist_view(request, extra_context)

    def pickups_view(self, request: HttpRequest) -> HttpResponse:
        """Orders at the user's pickup points: ready, waiting, overdue; the hand-over and the till."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            self._pickup_command(request)
            return HttpResponseRedirect(request.get_full_path())
        now = timezone.now()
        groups: dict[str, list[Order]] = {"ready": [], "overdue": [], "waiting": []}
        ending_soon: set[int] = set()  # ready orders whose hold ends soon (or ended): collect or chase
        for order in selectors.pickups_today(user=request.user).order_by("ready_at", "ready_date", "pk"):
            groups[selectors.pickup_state(order, now=now)].append(order)
            if order_hold_ending_soon(order, now=now):
                ending_soon.add(order.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Today's pickups at my store"),
            "groups": [
                ("ready", _("Ready: waiting for the customer"), groups["ready"]),
                ("overdue", _("Overdue: not collected and not paid in time"), groups["overdue"]),
                ("waiting", _("Not ready yet"), groups["waiting"]),
            ],
            "ending_soon": ending_soon,
            "may_hand_over": request.user.has_perm(HAND_OVER_PERMISSION),
            "may_take_payment": request.user.has_perm(PAYMENT_PERMISSION),
            "may_change": self.has_change_permission(request),
            "hand_over_form": HandOverForm(),
            "till_methods": [(method.value, method.label) for method in TILL_METHODS],
            # A full invoice's buyer is most often from the seller's own country.
            "billing_country_default": seller_default_country(),
        }
        return TemplateResponse(request, "orders/admin/pickups.html", context)

    def counter_refusal_text(self, exc: Exception) -> str:
        """At the counter, an unpaid order is paid at the till before it is handed over."""
        if isinstance(exc, OrderNotPaid):
            return str(
                _("Not paid yet: take the %(due)s still due at the till first.") % {"due": exc.extra.get("amount_due")}
            )
        return self.refusal_text(exc)

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
            self.message_user(request, f"{order.number}: {self.counter_refusal_text(exc)}", messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)

    def _hand_over(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        order = services.order_hand_over(order=order, actor=store_actor(request), code=data["code"])
        return str(
            _("%(number)s handed over to %(customer)s.") % {"number": order.number, "customer": order.customer_name}
        )

    def _take_payment(self, request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        billing = None
        if data.get("billing_tax_id"):
            billing = services.BillingDetails(
                **{field: data.get(f"billing_{field}") or "" for field in BILLING_DETAIL_FIELDS}
            )
        order = services.order_payment_add(
            order=order, actor=store_actor(request), method=data["method"], amount=data["amount"], billing=billing
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
