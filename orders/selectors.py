"""Reads of the order book for the API, the admin and other apps (support finds work here).

Who sees which orders (issue 15):
- A channel client sees every order when it reaches every customer (`ChannelClient.reaches_all`),
  otherwise only the orders it placed (`Order.client`). Another's order is simply not there: the
  API answers 404, exactly as for a missing number. Reporting a payment never widens this.
- Staff who reach every order (superusers, `orders.view_all_orders`, `inventory.manage_all_locations`)
  see every order whole. Other staff see, whole, the orders picked up at their locations and those
  they placed themselves; and the orders their locations only supply (a line's source) in the
  picking view: what to pick and where it goes, never who the customer is, how they paid, nor the
  pickup code (with it anyone could open a locker unattended). `order_staff_view` says which.
- The pickup code itself goes to fewer still (`order_pickup_code_visible`): the channel client that
  placed the order, and staff who re-send codes and see the order whole. A till reaching every order
  checks codes at its counter; it never reads one.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, F, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from config.models import ChannelClient
from customers.identities import IdentityKind, identity_normalise
from inventory.selectors import location_ids_bound_to_client, location_ids_for_user, location_list_for_user
from orders.codes import order_number_normalise, tracking_token_matches
from orders.holds import HOLD_END_RETRY_AFTER
from orders.models import (
    OPEN_STATUSES,
    DeliveryMethod,
    DeliveryRate,
    DeliveryZone,
    DeliveryZoneArea,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Parcel,
    ParcelLine,
    ParcelStatus,
    PaymentMode,
    Refund,
    postal_code_normalise,
)

OrderView = Literal["full", "picking"]
FULL_VIEW: OrderView = "full"
PICKING_VIEW: OrderView = "picking"
PICKUP_CODE_PERMISSION = "orders.view_pickup_code"
PARCEL_EVENTS = (OrderEvent.PARCEL_SHIPPED, OrderEvent.PARCEL_DELIVERED, OrderEvent.PARCEL_CANCELLED)


def order_list() -> QuerySet[Order]:
    """Every order, with what a row shows loaded. Callers narrow it to what the caller reaches."""
    return Order.objects.select_related("customer", "pickup_location", "invoice", "delivery_method", "delivery_zone")


def order_list_for_client(*, client: ChannelClient) -> QuerySet[Order]:
    """The orders a channel client reaches: all of them for a first party reaching everyone, else its own
    and, for a credential bound to locations (a warehouse's integration), the orders with a parcel
    leaving them, in the picking view: each order annotated with `staff_view` as staff's are (the
    name says which view, whoever reads it), so `order_list_seen_whole` keeps those out of searches."""
    orders = order_list()
    if client.reaches_all:
        return orders
    bound = location_ids_bound_to_client(client=client)
    if not bound:
        return orders.filter(client=client)
    own = Q(client=client)
    ships = Q(pk__in=Parcel.objects.filter(source_id__in=bound).values("order_id"))
    return orders.filter(own | ships).annotate(
        staff_view=Case(When(own, then=Value(FULL_VIEW)), default=Value(PICKING_VIEW), output_field=CharField())
    )


def order_client_view(order: Order) -> OrderView:
    """Which view of a reached order a channel client gets: "picking" for a bound credential's
    parcels of another's order (as `order_list_for_client` annotated it), else the whole order."""
    return PICKING_VIEW if getattr(order, "staff_view", None) == PICKING_VIEW else FULL_VIEW


def order_detail_list(orders: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """These orders (every order by default) with lines, payments and history, in a fixed number of queries."""
    return (order_list() if orders is None else orders).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("source", "transfer")),
        "payments",
        Prefetch("refunds", queryset=Refund.objects.order_by("id")),
        Prefetch("history", queryset=OrderStatusChange.objects.order_by("id")),
        "credit_note",
        Prefetch("parcels", queryset=parcel_list()),
    )


def parcel_list() -> QuerySet[Parcel]:
    """Parcels with their source and lines (each with its order line), in a fixed number of queries."""
    return Parcel.objects.select_related("source").prefetch_related(
        Prefetch("lines", queryset=ParcelLine.objects.select_related("order_line").order_by("order_line__position"))
    )


def parcel_list_for_staff(*, user: Any, with_lines: bool = True) -> QuerySet[Parcel]:
    """The parcels leaving the staff member's locations (every parcel for staff reaching every order)."""
    parcels = parcel_list() if with_lines else Parcel.objects.select_related("source")
    if staff_reaches_all_orders(user):
        return parcels
    return parcels.filter(source__in=location_list_for_user(user=user))


def parcel_lines_to_ship(order: Order, *, user: Any) -> list[ParcelLine]:
    """The lines of the order's pending parcels leaving the user's locations (all for staff reaching every order)."""
    parcels = parcel_list_for_staff(user=user, with_lines=False).filter(order=order, status=ParcelStatus.PENDING)
    rows = ParcelLine.objects.filter(parcel__in=parcels.values("pk"))
    return list(
        rows.select_related("parcel__source", "order_line").order_by("parcel__position", "order_line__position")
    )


def order_ids_with_parcels(*, status: str = "", ships_from: str = "") -> QuerySet[Parcel, int]:
    """The ids of the orders with a parcel in this status and/or leaving this location (by code): a subquery."""
    parcels = Parcel.objects.all()
    if status:
        parcels = parcels.filter(status=status)
    if ships_from:
        parcels = parcels.filter(source__code=ships_from)
    return parcels.values_list("order_id", flat=True)


def order_parcels_shipped_from(order: Order, *, location_ids: Iterable[int]) -> list[Parcel]:
    """The order's parcels leaving these locations: what a supplier's picking view lists (prefetched)."""
    wanted = set(location_ids)
    return [parcel for parcel in order.parcels.all() if parcel.source_id in wanted]


def staff_reaches_all_orders(user: Any) -> bool:
    """Superusers, customer service and accounts (`view_all_orders`) and managers of every location."""
    return bool(
        user.is_superuser or user.has_perm("orders.view_all_orders") or user.has_perm("inventory.manage_all_locations")
    )


def staff_works_at(*, user: Any, location_ids: Iterable[int]) -> bool:
    """The staff member works the orders of every one of these locations (staff reaching every order do)."""
    if staff_reaches_all_orders(user):
        return True
    wanted = set(location_ids)
    return bool(wanted) and wanted <= location_ids_for_user(user=user)


def order_list_for_staff(*, user: Any, full_view_only: bool = False) -> QuerySet[Order]:
    """The orders a staff member reaches, each annotated with `staff_view`: "full" or "picking".

    One query whatever the number of lines: the orders their locations supply are matched in a
    subquery on the lines, so no order comes twice and no DISTINCT over whole rows is needed.
    `full_view_only` leaves out the orders they only supply (what shows contact data: notifications).
    """
    if staff_reaches_all_orders(user):
        return order_list().annotate(staff_view=Value(FULL_VIEW, output_field=CharField()))
    locations = location_list_for_user(user=user).values("pk")
    whole = Q(pickup_location__in=locations) | Q(placed_by_user=user)
    supplied = Q(pk__in=OrderLine.objects.filter(source__in=locations).values("order_id"))
    return (
        order_list()
        .filter(whole if full_view_only else whole | supplied)
        .annotate(
            staff_view=Case(When(whole, then=Value(FULL_VIEW)), default=Value(PICKING_VIEW), output_field=CharField())
        )
    )


def order_staff_view(order: Order, *, user: Any) -> OrderView:
    """Which view of a reached order this staff member gets: "full", or "picking" for a supplier only.

    An order read through `order_list_for_staff` for this user carries the answer already (no query).
    """
    annotated = getattr(order, "staff_view", None)
    if annotated in (FULL_VIEW, PICKING_VIEW):
        return annotated
    # Otherwise asked of the list itself (one query): the rule is written once, in SQL.
    found = order_list_for_staff(user=user).filter(pk=order.pk).first()
    return FULL_VIEW if getattr(found, "staff_view", None) == FULL_VIEW else PICKING_VIEW


def order_pickup_code_visible(order: Order, *, client: ChannelClient | None, user: Any) -> bool:
    """Whether the caller may read this reached order's pickup code (or its QR).

    Whoever holds the code collects the goods, at a counter or at a locker with nobody there. A
    channel client reads only the codes of the orders it placed (to show the customer): reaching an
    order is not enough. Staff read it with `view_pickup_code` (to re-send it) on an order they see
    whole, never as its supplier. The caller is refused as if the order were not there.
    """
    if client is not None:
        return order.client_id is not None and order.client_id == client.pk
    if user is None or not user.has_perm(PICKUP_CODE_PERMISSION):
        return False
    return order_staff_view(order, user=user) == FULL_VIEW


def order_list_seen_whole(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Of orders read through `order_list_for_staff`, those seen whole: searching or filtering by
    customer must not tell a supplier's staff whose an order is. Other querysets are left as they are."""
    if "staff_view" not in orders.query.annotations:
        return orders
    return orders.filter(Q(staff_view=FULL_VIEW))


def order_lines_supplied_by(order: Order, *, location_ids: Iterable[int]) -> list[OrderLine]:
    """The order's lines sourced from these locations: what a supplier's picking view lists.

    Reads the prefetched lines when there are (order_detail_list), so a page costs no query more.
    """
    wanted = set(location_ids)
    return [line for line in order.lines.all() if line.source_id in wanted]


def order_search_q(term: str) -> Q:
    """An order number, or any identity of its customer (e-mail, phone, handle...), or a name."""
    term = term.strip()
    q = Q(number=order_number_normalise(term)) | Q(email__iexact=term) | Q(customer_name__icontains=term)
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
    # The order's milestones; each parcel's own are in its row (`parcels`).
    history = OrderStatusChange.objects.exclude(event__in=PARCEL_EVENTS).order_by("id")
    order = (
        Order.objects.select_related("pickup_location")
        .prefetch_related(
            Prefetch("history", queryset=history), Prefetch("parcels", queryset=Parcel.objects.order_by("position"))
        )
        .filter(number=order_number_normalise(number))
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


def order_ids_hold_reminder_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ready orders not yet reminded whose hold ends within the reminder's lead, soonest first (one query).

    For the holds sweeper (orders.services.holds): a hold already ended gets no reminder.
    """
    now = now or timezone.now()
    before: timedelta = settings.ORDER_HOLD_REMINDER_BEFORE
    return list(
        Order.objects.filter(
            status=OrderStatus.READY,
            hold_reminded_at__isnull=True,
            hold_ends_at__gt=now,
            hold_ends_at__lte=now + before,
        )
        .order_by("hold_ends_at")
        .values_list("pk", flat=True)[:limit]
    )


def order_ids_hold_ended(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Paid orders still ready (not collected) whose hold has ended, longest ended first (one query).

    For the holds sweeper. Unpaid ones are the expiry sweeper's (`order_ids_payment_overdue`).
    One handed to its task within `HOLD_END_RETRY_AFTER` is left out (its task is on it, or
    retrying); one tried before comes after those never tried, so a failing one starves nobody.
    """
    now = now or timezone.now()
    return list(
        Order.objects.filter(status=OrderStatus.READY, paid_at__isnull=False, hold_ends_at__lte=now)
        .filter(Q(hold_end_attempted_at__isnull=True) | Q(hold_end_attempted_at__lte=now - HOLD_END_RETRY_AFTER))
        .order_by(F("hold_end_attempted_at").asc(nulls_first=True), "hold_ends_at")
        .values_list("pk", flat=True)[:limit]
    )


def pickups_today(*, user: Any) -> QuerySet[Order]:
    """Orders at the staff member's pickup points: ready (waiting, overdue) and arriving today."""
    # Picked up there, not merely sourced from there (order_list_for_staff shows those too, for picking).
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


# --- Delivery (orders.services.delivery) -------------------------------------------------------


def delivery_method_list(*, kind: str | None = None, currency: str) -> QuerySet[DeliveryMethod]:
    """Active methods (of one kind, or all), in their list order, with their VAT and their rates in
    `currency` (each with its zone) loaded: two queries whatever the number of methods and bands."""
    methods = DeliveryMethod.objects.filter(is_active=True).select_related("tax_category")
    if kind is not None:
        methods = methods.filter(kind=kind)
    return methods.prefetch_related(
        Prefetch("rates", queryset=DeliveryRate.objects.filter(currency=currency).select_related("zone"))
    )


def delivery_zone_for(*, country: str, postal_code: str) -> DeliveryZone | None:
    """The zone of an address: its country's area with the longest prefix the postal code starts
    with (an empty prefix is the whole country); None when no area covers it. One query."""
    code = postal_code_normalise(postal_code)
    areas = DeliveryZoneArea.objects.filter(country=(country or "").strip().upper()).select_related("zone")
    matching = [area for area in areas if code.startswith(area.postal_code_prefix)]
    if not matching:
        return None
    return max(matching, key=lambda area: len(area.postal_code_prefix)).zone


def refund_list_for_staff(*, user: Any) -> QuerySet[Refund]:
    """The refunds of the orders a staff member sees whole (a supplier's staff never see money)."""
    visible = order_list_for_staff(user=user, full_view_only=True).values("pk")
    return Refund.objects.filter(order__in=visible).select_related("order", "capture", "client")
