"""What orders' admin pages share: staff act for the store, and how an order's refusals read."""

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.admin_kit import ServiceAdminMixin
from config.channels import Channel
from orders import selectors, services
from orders.exceptions import OrderNotPaid
from orders.models import Order


def store_actor(request: HttpRequest) -> services.Actor:
    """Staff in the admin act for the store, as themselves."""
    return services.Actor(channel=Channel.STORE, user=request.user)


def picking_row(order: Order) -> bool:
    """A changelist row in the picking view (read through selectors.order_list_for_staff)."""
    return getattr(order, "staff_view", selectors.FULL_VIEW) == selectors.PICKING_VIEW


class OrderServiceAdminMixin(ServiceAdminMixin):
    """Refusals of the order services as staff read them: an unpaid order says what is due."""

    def refusal_text(self, exc: Exception) -> str:
        if isinstance(exc, OrderNotPaid):
            return str(_("Not paid yet: %(due)s still due.") % {"due": exc.extra.get("amount_due")})
        return super().refusal_text(exc)
