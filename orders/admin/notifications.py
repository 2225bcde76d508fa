"""Messages owed to customers about their orders, and how they went."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin_kit import ReadOnlyAdminMixin, ReadOnlyInline
from orders import selectors
from orders.models import OrderNotification


class SendingColumns:
    """How the sending went: its outbox message's attempts and last error (config.outbox)."""

    @admin.display(description=_("attempts"))
    def attempts(self, notification: OrderNotification) -> int:
        return notification.message.attempts

    @admin.display(description=_("last error"))
    def last_error(self, notification: OrderNotification) -> str:
        return notification.message.last_error


class NotificationInline(SendingColumns, ReadOnlyInline):
    model = OrderNotification
    fields = ("kind", "status", "channel", "attempts", "created_at", "sent_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderNotification]:
        return super().get_queryset(request).select_related("message")


@admin.register(OrderNotification)
class OrderNotificationAdmin(SendingColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Messages owed to customers and how they went; the worker sends them."""

    list_display = ("created_at", "order", "kind", "status", "channel", "attempts", "sent_at")
    list_filter = ("status", "kind", "channel")
    search_fields = ("=order__number",)
    search_help_text = _("Order number.")
    list_select_related = ("order", "message")
    fields = ("order_link", "kind", "status", "channel", "attempts", "created_at", "sent_at", "last_error")
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderNotification]:
        # Messages carry the customer's contact: only for orders seen whole, never a supplier's.
        visible = selectors.order_list_for_staff(user=request.user, full_view_only=True).values("pk")
        return super().get_queryset(request).filter(order__in=visible).select_related("order", "message")

    @admin.display(description=_("order"))
    def order_link(self, notification: OrderNotification) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_order_change", args=[notification.order_id]),
            notification.order.number,
        )
