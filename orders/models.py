from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from catalog.models import TaxCategory, Variant
from config.channels import Channel
from config.models import AppendOnlyModel, ChannelClient
from config.money import CURRENCY_MINOR_UNITS, has_valid_precision
from customers.models import Customer
from inventory.models import Location, Transfer
from invoicing.models import Invoice
from orders.exceptions import OrderStateError, ParcelStateError, RefundSettled


class FulfilmentType(models.TextChoices):
    SHIP = "ship", _("Ship home")
    PICKUP = "pickup", _("Pick up in store")
    SHIP_TO_STORE = "ship_to_store", _("Sent to a store for pickup")
    LOCKER = "locker", _("Pick up at a locker")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed, awaiting payment")
    PAID = "paid", _("Paid")
    READY = "ready", _("Ready for pickup")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentMode(models.TextChoices):
    NOW = "now", _("Pay now")
    AT_PICKUP = "at_pickup", _("Pay at pickup")


# Statuses in which the order must already be paid (and so invoiced: both happen in one transaction).
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PICKED_UP)
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.READY)


def postal_code_normalise(value: str) -> str:
    """A postal code as zones compare it: upper case, without spaces or dashes."""
    return "".join(ch for ch in value.upper() if ch.isascii() and ch.isalnum())


class DeliveryKind(models.TextChoices):
    """Which orders a delivery method serves: shipped ones, store pickups (also sent to a store), lockers."""

    SHIP = "ship", _("Delivered to an address")
    PICKUP = "pickup", _("Picked up in a store")
    LOCKER = "locker", _("Picked up at a locker")


class DeliveryMethod(models.Model):
    """How the goods reach the customer, and what it costs (its rates, per zone and weight band).

    Standard and express are two methods of kind `ship`; a store pickup and a locker are of
    their own kinds. Pickup and locker methods without rates are free; a ship method is offered
    only where it has a rate (orders.services.delivery).
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100, help_text=_("As the customer and the invoice read it."))
    kind = models.CharField(_("serves"), max_length=20, choices=DeliveryKind.choices)
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("Applies when an order names no method; one per kind.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    tax_category = models.ForeignKey(
        TaxCategory,
        verbose_name=_("VAT of the charge"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The charge is invoiced as a line of its own at this rate."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Lower first in lists."))

    class Meta:
        verbose_name = _("delivery method")
        verbose_name_plural = _("delivery methods")
        ordering = ("kind", "position", "code")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DeliveryKind.values), name="delivery_method_kind_valid"),
            models.UniqueConstraint(
                fields=("kind",), condition=Q(is_default=True), name="delivery_method_one_default_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DeliveryZone(models.Model):
    """Where a rate applies: countries, or parts of one by postal-code prefix (its areas)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("delivery zone")
        verbose_name_plural = _("delivery zones")
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DeliveryZoneArea(models.Model):
    """A country, or the postal codes of a country starting with a prefix, and the one zone it is in.

    An address is in the zone of its country's area with the longest prefix it starts with (an
    empty prefix: the whole country). Each (country, prefix) belongs to one zone only.
    """

    zone = models.ForeignKey(DeliveryZone, verbose_name=_("zone"), on_delete=models.CASCADE, related_name="areas")
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO code, e.g. ES."))
    postal_code_prefix = models.CharField(
        _("postal codes starting with"), max_length=10, blank=True, help_text=_("Empty: the whole country.")
    )

    class Meta:
        verbose_name = _("zone area")
        verbose_name_plural = _("zone areas")
        ordering = ("zone", "country", "postal_code_prefix")
        constraints = [
            models.UniqueConstraint(fields=("country", "postal_code_prefix"), name="delivery_area_in_one_zone"),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$") & Q(postal_code_prefix__regex=r"^[0-9A-Z]*$"),
                name="delivery_area_codes_normalised",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.postal_code_prefix}*" if self.postal_code_prefix else self.country

    def clean(self) -> None:
        # Stored as addresses are compared: upper case, no spaces or dashes ("07" matches "07001").
        self.country = (self.country or "").strip().upper()
        self.postal_code_prefix = postal_code_normalise(self.postal_code_prefix or "")


class DeliveryRate(models.Model):
    """The price of a method in a zone for baskets up to a weight, and from what goods total it is free."""

    method = models.ForeignKey(DeliveryMethod, verbose_name=_("method"), on_delete=models.CASCADE, related_name="rates")
    zone = models.ForeignKey(DeliveryZone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="rates")
    currency = models.CharField(_("currency"), max_length=3, default=settings.DEFAULT_CURRENCY)
    max_weight_grams = models.PositiveIntegerField(
        _("up to (g)"), null=True, blank=True, help_text=_("Baskets up to this weight; empty: any weight.")
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, help_text=_("VAT included."))
    free_over = models.DecimalField(
        _("free from"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Free when the goods come to this much or more (VAT included); empty: never free."),
    )

    class Meta:
        verbose_name = _("delivery rate")
        verbose_name_plural = _("delivery rates")
        ordering = ("method", "zone", "currency", F("max_weight_grams").asc(nulls_last=True))
        constraints = [
            models.UniqueConstraint(
                fields=("method", "zone", "currency", "max_weight_grams"), name="delivery_rate_band_unique"
            ),
            # NULLs are distinct to a unique index: one open-ended band per method, zone and currency.
            models.UniqueConstraint(
                fields=("method", "zone", "currency"),
                condition=Q(max_weight_grams__isnull=True),
                name="delivery_rate_one_open_band",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="delivery_rate_price_not_negative"),
            models.CheckConstraint(
                condition=Q(free_over__isnull=True) | Q(free_over__gt=0), name="delivery_rate_free_over_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_weight_grams__isnull=True) | Q(max_weight_grams__gt=0),
                name="delivery_rate_band_positive",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="delivery_rate_currency_code"),
        ]

    def __str__(self) -> str:
        band = f"≤ {self.max_weight_grams} g" if self.max_weight_grams else "∞"
        return f"{self.method_id}/{self.zone_id} {band}: {self.price} {self.currency}"

    def clean(self) -> None:
        self.currency = (self.currency or "").strip().upper()
        if self.currency not in CURRENCY_MINOR_UNITS:
            raise ValidationError({"currency": gettext("One of: %s.") % ", ".join(CURRENCY_MINOR_UNITS)})
        errors = {
            field: gettext("At most the currency's decimals.")
            for field in ("price", "free_over")
            if getattr(self, field) is not None and not has_valid_precision(getattr(self, field), self.currency)
        }
        if errors:
            raise ValidationError(errors)


class Order(models.Model):
    """One purchase, whatever the channel. The channel comes from the credential that placed it."""

    # Every move an order's status may make; none comes back. A service changes the status only
    # through `status_move`, so this table is the whole pipeline (returns will add their moves here).
    STATUS_MOVES: ClassVar[dict[OrderStatus, frozenset[OrderStatus]]] = {
        OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.READY, OrderStatus.CANCELLED}),
        OrderStatus.PAID: frozenset({OrderStatus.READY, OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
        OrderStatus.READY: frozenset({OrderStatus.PICKED_UP, OrderStatus.CANCELLED}),
        OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
        OrderStatus.DELIVERED: frozenset(),
        OrderStatus.PICKED_UP: frozenset(),
        OrderStatus.CANCELLED: frozenset(),
    }

    number = models.CharField(_("number"), max_length=20, unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    client = models.ForeignKey(
        ChannelClient, verbose_name=_("placed by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    placed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who asked, and the key they sent: the same key never makes a second order.
    idempotency_scope = models.CharField(max_length=40, editable=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, editable=False)
    request_fingerprint = models.CharField(max_length=64, editable=False)

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    # Contact snapshot: where notifications go and what tracking accepts as a second factor.
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)

    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    fulfilment_type = models.CharField(_("fulfilment"), max_length=20, choices=FulfilmentType.choices)
    payment_mode = models.CharField(_("payment"), max_length=20, choices=PaymentMode.choices, default=PaymentMode.NOW)
    pickup_location = models.ForeignKey(
        Location,
        verbose_name=_("pickup location"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pickup_orders",
    )
    shipping_name = models.CharField(_("ship to"), max_length=200, blank=True)
    shipping_street = models.CharField(_("street"), max_length=250, blank=True)
    shipping_city = models.CharField(_("city"), max_length=100, blank=True)
    shipping_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    # Invoicing details, when the customer wants a full invoice.
    billing_tax_id = models.CharField(_("tax id for the invoice"), max_length=20, blank=True)
    billing_name = models.CharField(_("name on the invoice"), max_length=200, blank=True)
    billing_street = models.CharField(_("billing street"), max_length=250, blank=True)
    billing_city = models.CharField(_("billing city"), max_length=100, blank=True)
    billing_postal_code = models.CharField(_("billing postal code"), max_length=20, blank=True)
    billing_country = models.CharField(_("billing country"), max_length=2, blank=True)

    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    tax_total = models.DecimalField(_("of which tax"), max_digits=12, decimal_places=2)
    # Delivery, priced at placing (orders.services.delivery) and part of `total` and `tax_total`.
    delivery_method = models.ForeignKey(
        DeliveryMethod,
        verbose_name=_("delivery method"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: no delivery method was configured for this kind of order when it was placed."),
    )
    delivery_zone = models.ForeignKey(
        DeliveryZone, verbose_name=_("delivery zone"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    delivery_charge = models.DecimalField(
        _("delivery charge"), max_digits=12, decimal_places=2, default=0, help_text=_("VAT included.")
    )
    delivery_tax_rate = models.DecimalField(_("delivery VAT rate (%)"), max_digits=5, decimal_places=2, default=0)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    paid_amount = models.DecimalField(_("paid"), max_digits=12, decimal_places=2, default=0)
    # Money that went back to the customer: the succeeded refunds (`Refund`), which are exactly the
    # ledger's refund rows (`Payment` of kind refund). Refunds still pending are owed, not counted.
    refunded_amount = models.DecimalField(
        _("refunded"), max_digits=12, decimal_places=2, default=0, help_text=_("Refunds that succeeded.")
    )

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_note = models.ForeignKey(
        Invoice, verbose_name=_("credit note"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ready_date = models.DateField(_("expected ready"), help_text=_("When every line is at its place of dispatch."))
    # Unpaid orders are cancelled after this (pay-now orders whose capture never came, pay-at-pickup
    # orders never collected); the expiry sweeper finds them by this indexed column.
    payment_due_by = models.DateTimeField(_("payment due by"), null=True, blank=True)
    # The secret inside the signed pickup code (QR) of a pickup or locker order; single use.
    pickup_secret = models.CharField(max_length=32, blank=True, editable=False)
    pickup_code_used_at = models.DateTimeField(_("pickup code used at"), null=True, blank=True)

    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)

    placed_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    # A ready pickup waits for the customer until then (orders.services.holds); the holds sweeper
    # reminds the customer before (and records when) and, once it has passed, ends the hold.
    hold_ends_at = models.DateTimeField(_("held until"), null=True, blank=True)
    hold_reminded_at = models.DateTimeField(_("hold reminder sent at"), null=True, blank=True)
    # When the holds sweeper last handed its end to a task (orders.services.holds): one that keeps
    # failing waits `HOLD_END_RETRY_AFTER` before the next, behind the others.
    hold_end_attempted_at = models.DateTimeField(_("hold end last tried at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    # Support schedules follow-up calls from these two (by query: orders never imports support).
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, db_index=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-placed_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("idempotency_scope", "idempotency_key"), name="order_one_per_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="order_channel_valid"),
            models.CheckConstraint(
                condition=Q(fulfilment_type__in=FulfilmentType.values), name="order_fulfilment_valid"
            ),
            models.CheckConstraint(condition=Q(payment_mode__in=PaymentMode.values), name="order_payment_mode_valid"),
            models.CheckConstraint(condition=Q(total__gte=0) & Q(tax_total__gte=0), name="order_totals_not_negative"),
            models.CheckConstraint(
                condition=Q(delivery_charge__gte=0) & Q(delivery_charge__lte=F("total")),
                name="order_delivery_charge_within_total",
            ),
            models.CheckConstraint(
                condition=Q(delivery_charge=0) | Q(delivery_method__isnull=False),
                name="order_delivery_charge_has_method",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("total")), name="order_paid_within_total"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("paid_amount")),
                name="order_refund_within_paid",
            ),
            # Where the goods go: a pickup point, or an address.
            models.CheckConstraint(
                condition=(Q(fulfilment_type="ship") & Q(pickup_location__isnull=True) & ~Q(shipping_street=""))
                | (~Q(fulfilment_type="ship") & Q(pickup_location__isnull=False)),
                name="order_destination_given",
            ),
            # Only customers who come to a store can pay there.
            models.CheckConstraint(
                condition=Q(payment_mode="now") | Q(fulfilment_type__in=("pickup", "ship_to_store")),
                name="order_pay_at_pickup_only_in_store",
            ),
            # Nothing leaves, nor counts as paid, before payment and its invoice.
            models.CheckConstraint(
                condition=~Q(status__in=PAID_STATUSES) | (Q(paid_at__isnull=False) & Q(invoice__isnull=False)),
                name="order_paid_statuses_are_invoiced",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | Q(invoice__isnull=False) | Q(payment_mode="at_pickup"),
                name="order_ready_is_invoiced_or_pays_at_pickup",
            ),
            models.CheckConstraint(
                condition=Q(invoice__isnull=True) | Q(paid_at__isnull=False), name="order_invoiced_when_paid"
            ),
            # Every ready order is held until a known moment: none waits on a shelf forever.
            models.CheckConstraint(
                condition=~Q(status="ready") | Q(hold_ends_at__isnull=False), name="order_ready_is_held_until"
            ),
        ]
        indexes = [
            models.Index(fields=("status", "payment_due_by"), name="order_payment_due_idx"),
            # The holds sweeper's two reads: only ready orders, by when their hold ends.
            models.Index(fields=("hold_ends_at",), condition=Q(status="ready"), name="order_hold_ends_idx"),
            models.Index(fields=("pickup_location", "status"), name="order_pickups_idx"),
            models.Index(fields=("customer", "-placed_at"), name="order_customer_idx"),
            models.Index(fields=("email",), name="order_email_idx"),
        ]
        permissions = [
            ("hand_over_order", _("Can hand orders over to customers")),
            ("cancel_order", _("Can cancel orders")),
            ("view_all_orders", _("Can see and work the orders of every location")),
            # The code opens a locker unattended: read by who re-sends it, never by who checks it.
            ("view_pickup_code", _("Can read pickup codes to send them to customers")),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.paid_amount

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    def can_move_to(self, status: OrderStatus) -> bool:
        return status in self.STATUS_MOVES[OrderStatus(self.status)]

    def status_refusal(self) -> OrderStateError:
        """What refuses anything the order's status does not allow: 409 `order_state`, one message."""
        return OrderStateError(
            gettext("The order is %(status)s.") % {"status": self.get_status_display()},
            extra={"status": self.status},
        )

    def status_move_check(self, status: OrderStatus) -> None:
        """Refuse a move the table does not list: 409 `order_state`, the code every state refusal has."""
        if not self.can_move_to(status):
            raise self.status_refusal()

    def status_move(self, status: OrderStatus) -> None:
        """Set the new status if the table allows the move (the caller saves, with its other fields)."""
        self.status_move_check(status)
        self.status = status


class OrderLine(models.Model):
    """Units of one variant from one source location. A line split across locations is several rows."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"))
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64)
    description = models.CharField(_("description"), max_length=250)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, help_text=_("Tax included."))
    regular_unit_price = models.DecimalField(_("regular unit price"), max_digits=12, decimal_places=2)
    tax_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    source = models.ForeignKey(Location, verbose_name=_("sourced from"), on_delete=models.PROTECT, related_name="+")
    # Endless aisle: the units travel from `source` to the pickup point by this transfer.
    transfer = models.ForeignKey(
        Transfer, verbose_name=_("transfer"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # When the transferred units were received and reserved at the pickup point.
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ("order", "position")
        constraints = [
            models.UniqueConstraint(fields=("order", "position"), name="order_line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_not_negative"),
            models.CheckConstraint(condition=Q(line_total=F("unit_price") * F("quantity")), name="order_line_total"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderEvent(models.TextChoices):
    """What the order's history records: each service appends one of these, never a free string."""

    PLACED = "placed", _("Placed")
    PAYMENT = "payment", _("Payment received")
    PAID = "paid", _("Paid and invoiced")
    TRANSFER_ARRIVED = "transfer_arrived", _("Goods arrived at the pickup point")
    READY = "ready", _("Ready for pickup")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")
    HOLD_REMINDED = "hold_reminded", _("Reminded: the hold ends soon")
    SENT_BACK = "sent_back", _("Uncollected goods sent back to their supplier")
    REFUND_SUCCEEDED = "refund_succeeded", _("Refund succeeded")
    REFUND_FAILED = "refund_failed", _("Refund failed")
    REFUND_HANDED_OVER = "refund_handed_over", _("Refund handed to the channel again")
    PARCEL_SHIPPED = "parcel_shipped", _("Parcel shipped")
    PARCEL_DELIVERED = "parcel_delivered", _("Parcel delivered")
    PARCEL_CANCELLED = "parcel_cancelled", _("Parcel cancelled")


class OrderStatusChange(AppendOnlyModel):
    """The order's history: every event, the status it left the order in, who and which channel."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    event = models.CharField(_("event"), max_length=30, choices=OrderEvent.choices)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    client = models.ForeignKey(
        ChannelClient,
        verbose_name=_("channel client"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=250, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status history")
        ordering = ("order", "id")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_change_status_valid"),
            models.CheckConstraint(condition=Q(event__in=OrderEvent.values), name="order_change_event_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.event} → {self.status}"


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    PAYPAL = "paypal", _("PayPal")
    STORE_CARD = "store_card", _("Store card")
    CASH = "cash", _("Cash")
    CARD_AT_TILL = "card_at_till", _("Card at the till")
    STORE_CREDIT = "store_credit", _("Store credit")
    LOYALTY_POINTS = "loyalty_points", _("Loyalty points")


class PaymentKind(models.TextChoices):
    CAPTURE = "capture", _("Payment")
    REFUND = "refund", _("Refund")


class Payment(AppendOnlyModel):
    """Money in (a capture) or out (a refund), always positive; refunds point at what they refund."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=10, choices=PaymentKind.choices, default=PaymentKind.CAPTURE)
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    points = models.PositiveIntegerField(_("points"), null=True, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=120, blank=True)
    refund_of = models.ForeignKey(
        "self", verbose_name=_("refund of"), on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    client = models.ForeignKey(ChannelClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ("order", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="payment_method_valid"),
            models.CheckConstraint(condition=Q(kind__in=PaymentKind.values), name="payment_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind="capture") & Q(refund_of__isnull=True))
                | (Q(kind="refund") & Q(refund_of__isnull=False)),
                name="payment_refund_points_at_capture",
            ),
            models.CheckConstraint(
                condition=~Q(method="loyalty_points") | Q(points__gt=0), name="payment_points_given_for_loyalty"
            ),
            # A provider's capture is recorded once: a repeated report cannot pay twice.
            models.UniqueConstraint(
                fields=("method", "provider_reference"),
                condition=Q(kind="capture") & ~Q(provider_reference=""),
                name="payment_provider_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.get_method_display()})"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", pgettext_lazy("refund status", "Failed")


class Refund(models.Model):
    """Money owed back to a customer for one capture: pending, then succeeded or failed.

    Store credit and points are the customer's own balances: their refunds succeed at once. A
    provider's refund (card, PayPal, store card) is handed to the integration that reported the
    capture (`client`) and confirmed by it; cash and a card at the till are confirmed by the till.
    When it succeeds, the ledger gets its immutable refund row (`payment`) and the order's
    `refunded_amount` grows; a failed refund gave nothing back and can be tried again (a new row,
    `retry_of`). Staff may settle a pending one by hand, with a reason (`settled_reason`).
    """

    # Every move a refund's status may make: settled once, never again.
    STATUS_MOVES: ClassVar[dict[RefundStatus, frozenset[RefundStatus]]] = {
        RefundStatus.PENDING: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED}),
        RefundStatus.SUCCEEDED: frozenset(),
        RefundStatus.FAILED: frozenset(),
    }

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds")
    capture = models.ForeignKey(
        "Payment", verbose_name=_("payment given back"), on_delete=models.PROTECT, related_name="refund_requests"
    )
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    points = models.PositiveIntegerField(_("points"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # Who gives it back: the integration that reported the capture (null: nobody to hand it to).
    client = models.ForeignKey(
        ChannelClient,
        verbose_name=_("given back by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    retry_of = models.OneToOneField(
        "self", verbose_name=_("retry of"), on_delete=models.PROTECT, null=True, blank=True, related_name="retry"
    )
    # Who asked for it.
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    requested_by_client = models.ForeignKey(
        ChannelClient, verbose_name=_("asked by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    handed_over_at = models.DateTimeField(_("last handed over at"), null=True, blank=True)
    # How it ended.
    provider_reference = models.CharField(_("provider's refund reference"), max_length=120, blank=True)
    failure_reason = models.CharField(_("why it failed"), max_length=250, blank=True)
    settled_reason = models.CharField(_("settled by hand because"), max_length=250, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by_client = models.ForeignKey(
        ChannelClient,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    payment = models.OneToOneField(
        "Payment",
        verbose_name=_("ledger row"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund_request",
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_valid"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="refund_method_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="refund_channel_valid"),
            models.CheckConstraint(
                condition=(Q(method="loyalty_points") & Q(points__gt=0))
                | (~Q(method="loyalty_points") & Q(points__isnull=True)),
                name="refund_points_only_for_loyalty",
            ),
            # Pending until confirmed; succeeded exactly when the ledger has its row; a failure says why.
            models.CheckConstraint(
                condition=Q(status="pending", confirmed_at__isnull=True)
                | (~Q(status="pending") & Q(confirmed_at__isnull=False)),
                name="refund_confirmed_when_settled",
            ),
            models.CheckConstraint(
                condition=Q(status="succeeded", payment__isnull=False)
                | (~Q(status="succeeded") & Q(payment__isnull=True)),
                name="refund_succeeded_is_in_the_ledger",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure_reason=""), name="refund_failure_has_a_reason"
            ),
            models.CheckConstraint(
                condition=Q(settled_reason="") | Q(confirmed_by_user__isnull=False),
                name="refund_settled_by_hand_by_staff",
            ),
        ]
        indexes = [models.Index(fields=("status", "-created_at"), name="refund_status_idx")]
        permissions = [("settle_refund", _("Can settle refunds by hand and hand them to the channel again"))]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} ({self.get_status_display()})"

    def status_move(self, status: RefundStatus) -> None:
        """Settle a pending refund (the caller saves); 409 `refund_settled` once it succeeded or failed."""
        if status not in self.STATUS_MOVES[RefundStatus(self.status)]:
            raise RefundSettled(
                gettext("This refund already %(status)s.") % {"status": self.get_status_display().lower()},
                extra={"status": self.status},
            )
        self.status = status


class NotificationKind(models.TextChoices):
    PLACED = "order_placed", _("Order placed")
    READY = "ready_for_pickup", _("Ready for pickup")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", pgettext_lazy("order notification", "Delivered")
    HOLD_ENDING = "hold_ending", _("Pickup hold ending")
    REFUND = "refund", _("Refund on its way")
    CANCELLED = "cancelled", _("Order cancelled")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", pgettext_lazy("order notification", "Sent")
    FAILED = "failed", _("Failed")
    UNREACHABLE = "unreachable", _("No way to reach the customer")
    NOT_NEEDED = "not_needed", _("Not needed any more")  # e.g. a hold's reminder once collected


class OrderNotification(models.Model):
    """A message owed to the customer. The row exists exactly when the event does, and says how it went.

    The sending is its outbox message (config.outbox, kind `order.notification`): attempts,
    lease, backoff and the last error are there.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    message = models.OneToOneField(
        "config.OutboxMessage", on_delete=models.PROTECT, related_name="+", verbose_name=_("outbox message")
    )
    # The refund a `refund` notification tells of (one message per refund).
    refund = models.OneToOneField(
        Refund, verbose_name=_("refund"), on_delete=models.CASCADE, null=True, blank=True, related_name="notification"
    )
    channel = models.CharField(_("sent through"), max_length=20, choices=Channel.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("order", "kind"), condition=Q(refund__isnull=True), name="order_notification_once_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind="refund", refund__isnull=False) | (~Q(kind="refund") & Q(refund__isnull=True)),
                name="order_notification_refund_given",
            ),
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="order_notification_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values), name="order_notification_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.get_kind_display()} ({self.get_status_display()})"


class ParcelStatus(models.TextChoices):
    PENDING = "pending", _("To ship")
    SHIPPED = "shipped", pgettext_lazy("parcel status", "Shipped")
    DELIVERED = "delivered", pgettext_lazy("parcel status", "Delivered")
    CANCELLED = "cancelled", pgettext_lazy("parcel status", "Cancelled")


class Parcel(models.Model):
    """One box leaving one location for a ship order's address (orders.services.parcels).

    Planned when the order is paid: one pending parcel per location its lines come from, with every
    unit. Shipped by that location's staff with its carrier and tracking number, whole or in part
    (what stays behind is a new pending parcel: a second box); then delivered on its own.
    """

    # Every move a parcel's status may make (set only through `status_move`, as the order's).
    STATUS_MOVES: ClassVar[dict[ParcelStatus, frozenset[ParcelStatus]]] = {
        ParcelStatus.PENDING: frozenset({ParcelStatus.SHIPPED, ParcelStatus.CANCELLED}),
        ParcelStatus.SHIPPED: frozenset({ParcelStatus.DELIVERED}),
        ParcelStatus.DELIVERED: frozenset(),
        # Cancelled before it left (orders.services.parcel_cancelling): its units back on sale, its money back.
        ParcelStatus.CANCELLED: frozenset(),
    }

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="parcels")
    position = models.PositiveSmallIntegerField(_("parcel"), help_text=_("Its number within the order: 1, 2..."))
    source = models.ForeignKey(Location, verbose_name=_("ships from"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=ParcelStatus.choices, default=ParcelStatus.PENDING)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("planned at"), auto_now_add=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Who sent it: staff (in the admin or the API) or a credential bound to the source.
    shipped_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shipped by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    shipped_by_client = models.ForeignKey(
        ChannelClient,
        verbose_name=_("shipped through"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ("order", "position")
        constraints = [
            models.UniqueConstraint(fields=("order", "position"), name="parcel_position_unique"),
            models.CheckConstraint(condition=Q(status__in=ParcelStatus.values), name="parcel_status_valid"),
            models.CheckConstraint(condition=Q(position__gt=0), name="parcel_position_positive"),
            # Waiting or cancelled: nothing sent.  Sent: with its carrier, tracking number and time; delivered after that.
            models.CheckConstraint(
                condition=(
                    Q(status__in=("pending", "cancelled")) & Q(shipped_at__isnull=True) & Q(delivered_at__isnull=True)
                )
                | (
                    Q(status__in=("shipped", "delivered"))
                    & Q(shipped_at__isnull=False)
                    & ~Q(carrier="")
                    & ~Q(tracking_number="")
                    & (
                        Q(status="shipped", delivered_at__isnull=True)
                        | Q(status="delivered", delivered_at__isnull=False)
                    )
                ),
                name="parcel_status_matches_times",
            ),
        ]
        indexes = [models.Index(fields=("source", "status"), name="parcel_source_status_idx")]

    def __str__(self) -> str:
        return gettext("%(order)s, parcel %(position)s") % {"order": self.order.number, "position": self.position}

    def status_move_check(self, status: ParcelStatus) -> None:
        """Refuse a move the table does not list: 409 `parcel_state`, saying where the parcel is."""
        if status not in self.STATUS_MOVES[ParcelStatus(self.status)]:
            message = {
                ParcelStatus.PENDING: gettext("Parcel %(position)s has not left yet."),
                ParcelStatus.SHIPPED: gettext("Parcel %(position)s has left already."),
                ParcelStatus.DELIVERED: gettext("Parcel %(position)s was delivered already."),
                ParcelStatus.CANCELLED: gettext("Parcel %(position)s was cancelled."),
            }[ParcelStatus(self.status)]
            raise ParcelStateError(message % {"position": self.position}, extra={"status": self.status})

    def status_move(self, status: ParcelStatus) -> None:
        """Set the new status if the table allows the move (the caller saves)."""
        self.status_move_check(status)
        self.status = status


class ParcelLine(models.Model):
    """Units of one order line in one parcel. A line's units in parcels never exceed it (the services
    check it with the order locked); its parcel ships from the line's source."""

    parcel = models.ForeignKey(Parcel, verbose_name=_("parcel"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.CASCADE, related_name="parcel_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("parcel line")
        verbose_name_plural = _("parcel lines")
        ordering = ("parcel", "order_line__position")
        constraints = [
            models.UniqueConstraint(fields=("parcel", "order_line"), name="parcel_line_once_per_parcel"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="parcel_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.order_line.sku}"
