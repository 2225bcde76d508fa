"""Reads of the order book for the API, the admin and other apps (support finds work here)."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from config.models import ChannelClient
from customers.identities import IdentityKind, identity_normalise
from inventory.selectors import location_list_for_user
from orders.codes import tracking_token_matches
from orders.models import OPEN_STATUSES, Order, OrderLine, OrderStatus, OrderStatusChange, PaymentMode


def order_list(*, client: ChannelClient | None = None) -> QuerySet[Order]:
    """Orders a caller may see: staff all of them; a channel client the orders it placed."""
    orders = Order.objects.select_related("customer", "pickup_location", "invoice")
    return orders if client is None else orders.filter(client=client)


def order_detail_list(*, client: ChannelClient | None = None) -> QuerySet[Order]:
    """As `order_list`, with lines, payments and history loaded in a fixed number of queries."""
    return order_list(client=client).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("source", "transfer")),
        "payments",
        Prefetch("history", queryset=OrderStatusChange.objects.order_by("id")),
        "credit_note",
    )


def order_list_for_staff(*, user: Any) -> QuerySet[Order]:
    """Store staff see the orders picked up at or sourced from their locations; managers all."""
    locations = location_list_for_user(user=user)
    if user.is_superuser or user.has_perm("inventory.manage_all_locations"):
        return order_list()
    return (
        order_list()
        .filter(Q(pickup_location__in=locations) | Q(lines__source__in=locations) | Q(placed_by_user=user))
        .distinct()
    )


def order_search_q(term: str) -> Q:
    """An order number, or any identity of its customer (e-mail, phone, handle...), or a name."""
    term = term.strip()
    q = Q(number__iexact=term) | Q(email__iexact=term) | Q(customer_name__icontains=term)
    q |= Q(customer__contact_points__value__iexact=term) | Q(customer__contact_points__normalised_value__iexact=term)
    for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
        normalised = _normalised_or_none(kind, term)
        if normalised:
            q |= Q(customer__contact_points__normalised_value=normalised)
            q |= Q(phone=normalised) if kind == IdentityKind.PHONE else Q(email=normalised)
    return q


def order_track(*, number: str, email: str = "", phone: str = "", token: str = "") -> Order | None:
    """The order behind a public tracking request, only with a matching second factor.

    A wrong factor answers exactly like a missing order (None): the page never confirms that a
    number exists.
    """
    order = (
        Order.objects.select_related("pickup_location")
        .prefetch_related(Prefetch("history", queryset=OrderStatusChange.objects.order_by("id")))
        .filter(number=number.strip().upper())
        .first()
    )
    if order is None:
        return None
    if token and tracking_token_matches(number=order.number, token=token):
        return order
    if email and order.email and _normalised_or_none(IdentityKind.EMAIL, email) == order.email:
        return order
    if phone and order.phone and _normalised_or_none(IdentityKind.PHONE, phone) == order.phone:
        return order
    return None


def _normalised_or_none(kind: str, value: str) -> str | None:
    try:
        return identity_normalise(kind, value)
    except ValidationError:
        return None


def order_ids_payment_overdue(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Unpaid open orders past their payment deadline, for the expiry sweeper.

    A pay-at-pickup order only expires once it has been ready for its days: a late transfer
    must not cancel an order the customer was never told to collect.
    """
    return list(
        Order.objects.filter(
            Q(payment_mode=PaymentMode.NOW) | Q(status=OrderStatus.READY),
            status__in=OPEN_STATUSES,
            paid_at__isnull=True,
            payment_due_by__lte=now or timezone.now(),
        )
        .order_by("payment_due_by")
        .values_list("pk", flat=True)[:limit]
    )


def pickups_today(*, user: Any) -> QuerySet[Order]:
    """Orders at the staff member's pickup points: ready (waiting, overdue) and arriving today."""
    # Picked up there, not merely sourced from there (order_list_for_staff shows those too).
    return order_list().filter(
        pickup_location__in=location_list_for_user(user=user),
        fulfilment_type__in=("pickup", "ship_to_store", "locker"),
        status__in=(OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.READY),
    )


def pickup_state(order: Order, *, now: datetime | None = None) -> str:
    """ready / waiting / overdue, as the pickups screen shows them."""
    now = now or timezone.now()
    if order.status != OrderStatus.READY:
        return "waiting"
    if order.payment_mode == PaymentMode.AT_PICKUP and order.payment_due_by and order.payment_due_by < now:
        return "overdue"
    return "ready"


def orders_delivered_or_picked_up_between(*, start: datetime, end: datetime) -> QuerySet[Order]:
    """Orders that reached the customer in [start, end): support schedules follow-up calls from these."""
    return Order.objects.filter(
        Q(delivered_at__gte=start, delivered_at__lt=end) | Q(picked_up_at__gte=start, picked_up_at__lt=end)
    )
