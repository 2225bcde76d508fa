"""Refunds: money owed back to customers, and how it went (orders.services.refunds).

Staff see every refund of the orders they see whole: those still pending (nobody confirmed them:
a capture staff recorded, an integration without a subscription, a till that has not given the
cash back yet) and those that failed. Two actions, each a service call audited in the order's
history with the staff member: hand a refund to its integration again, or settle a pending one
by hand (succeeded or failed) with a reason, and the provider's refund reference to say that one
already handed to the payment provider succeeded. Both need `settle_refund` (accounts and
managers).
"""

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from config.admin_kit import (
    NoAddMixin,
    NoChangeMixin,
    NoDeleteMixin,
    QueryChoiceFilter,
    ReadOnlyInline,
    TermSearchMixin,
)
from config.channels import Channel
from orders import selectors, services
from orders.admin.common import OrderServiceAdminMixin, store_actor
from orders.codes import order_number_normalise
from orders.models import Refund, RefundStatus
from orders.services.access import SETTLE_REFUND_PERMISSION

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class AttentionFilter(QueryChoiceFilter):
    title = _("needs attention")
    parameter_name = "attention"
    queries = {
        "yes": (
            _("Pending, or failed and not tried again"),
            Q(status=RefundStatus.PENDING) | Q(status=RefundStatus.FAILED, retry__isnull=True),
        ),
    }


class ChannelFilter(admin.SimpleListFilter):
    """The channel of the order (where the customer bought)."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, "StrOrPromise"]]:
        return list(Channel.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Refund]) -> QuerySet[Refund]:
        return queryset.filter(order__channel=self.value()) if self.value() else queryset


class SettleForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("outcome"),
        choices=[(RefundStatus.SUCCEEDED, _("The money went back")), (RefundStatus.FAILED, _("It failed"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=250,
        help_text=_("Kept on the refund and in the order's history, with your name."),
    )
    provider_reference = forms.CharField(
        label=_("provider's refund reference"),
        max_length=120,
        required=False,
        help_text=_(
            "Needed to settle as succeeded a card, PayPal or store card refund already handed to the "
            "payment provider: it proves the money went back once."
        ),
    )


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = ("created_at", "method", "amount", "points", "status", "provider_reference", "failure_reason")
    readonly_fields = fields
    ordering = ("id",)


@admin.register(Refund)
class RefundAdmin(OrderServiceAdminMixin, TermSearchMixin, NoAddMixin, NoChangeMixin, NoDeleteMixin, admin.ModelAdmin):
    """Refunds are written by the order services; this page shows them and runs the two actions."""

    list_display = (
        "created_at",
        "order_link",
        "method",
        "amount",
        "status",
        "client",
        "handed_over_at",
        "confirmed_at",
    )
    list_filter = (AttentionFilter, "status", "method", ChannelFilter)
    search_fields = ("order__number",)
    search_help_text = _("Order number.")
    list_select_related = ("order", "client")
    fields = (
        "order_link",
        "capture",
        "method",
        "amount",
        "points",
        "status",
        "reason",
        "client",
        "handed_over_at",
        "retry_of",
        "channel",
        "requested_by_client",
        "requested_by_user",
        "created_at",
        "provider_reference",
        "failure_reason",
        "settled_reason",
        "confirmed_at",
        "confirmed_by_client",
        "confirmed_by_user",
        "payment",
    )
    readonly_fields = fields
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ("hand_over_again", "settle_by_hand")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return selectors.refund_list_for_staff(user=request.user)

    def search(self, request: HttpRequest, queryset: QuerySet[Refund], term: str) -> QuerySet[Refund]:
        return queryset.filter(Q(order__number__iexact=term) | Q(order__number=order_number_normalise(term)))

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(SETTLE_REFUND_PERMISSION))

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, refund: Refund) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[refund.order_id]), refund.order.number
        )

    @admin.action(description=_("Hand over again to the channel's integration"), permissions=["settle"])
    def hand_over_again(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        actor = store_actor(request)
        self.run_for_each(
            request,
            list(queryset.order_by("pk")),
            lambda refund: services.refund_retry(refund=refund, actor=actor),
            label=self._label,
            done=ngettext_lazy("%(count)d refund handed over again.", "%(count)d refunds handed over again.", "count"),
        )

    @admin.action(description=_("Settle by hand, with a reason"), permissions=["settle"])
    def settle_by_hand(self, request: HttpRequest, queryset: QuerySet[Refund]) -> HttpResponse | None:
        refunds = list(queryset.order_by("pk"))
        form = self.action_step_form(request, SettleForm)
        if form.is_valid():
            actor = store_actor(request)
            succeeded = form.cleaned_data["outcome"] == RefundStatus.SUCCEEDED
            self.run_for_each(
                request,
                refunds,
                lambda refund: services.refund_settle(
                    refund=refund,
                    actor=actor,
                    succeeded=succeeded,
                    reason=form.cleaned_data["reason"],
                    provider_reference=form.cleaned_data["provider_reference"],
                ),
                label=self._label,
                done=ngettext_lazy("%(count)d refund settled.", "%(count)d refunds settled.", "count"),
            )
            return None
        return self.action_form_page(
            request,
            form,
            action="settle_by_hand",
            selected=refunds,
            rows=[f"{self._label(refund)} · {refund.get_status_display()}" for refund in refunds],
            title=str(_("Settle refunds by hand")),
            submit_label=str(_("Settle")),
            intro=str(_("Only pending refunds are settled: say how it went and why. These refunds:")),
        )

    def _label(self, refund: Refund) -> str:
        return f"{refund.order.number} · {refund.get_method_display()} {refund.amount} {refund.order.currency}"
