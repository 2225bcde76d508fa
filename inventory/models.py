from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from config.channels import Channel
from config.models import AppendOnlyModel


class LocationKind(models.TextChoices):
    STORE = "store", _("Store")
    WAREHOUSE = "warehouse", _("Warehouse")
    LOCKER = "locker", _("Locker")


class Location(models.Model):
    """Where stock is: a store, a warehouse or a locker bank."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=LocationKind.choices)
    address = models.CharField(_("address"), max_length=250, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="ES")
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    can_ship = models.BooleanField(_("ships orders"), default=False)
    is_pickup_point = models.BooleanField(_("pickup point"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        blank=True,
        related_name="inventory_locations",
        help_text=_("Store staff who see and change this location's stock. Managers see every location."),
    )
    channel_clients = models.ManyToManyField(
        "config.ChannelClient",
        verbose_name=_("bound credentials"),
        blank=True,
        related_name="locations",
        help_text=_(
            "Devices and tills that work here: a locker redeems codes only at its own locations, a till "
            "makes ready and hands over only at its store."
        ),
    )

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ("kind", "name")
        constraints = [models.CheckConstraint(condition=Q(kind__in=LocationKind.values), name="location_kind_valid")]
        permissions = [("manage_all_locations", _("Can see and change every location's stock"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StockLevel(models.Model):
    """Stock of one variant at one location. `available` is what every channel may sell."""

    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="stock")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    available = models.GeneratedField(
        expression=F("on_hand") - F("reserved"),
        output_field=models.IntegerField(),
        db_persist=True,
        verbose_name=_("available"),
    )
    low_stock_threshold = models.PositiveIntegerField(
        _("low-stock threshold"), null=True, blank=True, help_text=_("Alert staff when available falls below this.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ("location", "variant")
        constraints = [
            models.UniqueConstraint(fields=("location", "variant"), name="stock_level_location_variant_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]
        indexes = [models.Index(fields=("variant", "available"), name="stock_variant_available_idx")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand}/{self.reserved}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SALE = "sale", _("Sale")
    RETURN = "return", _("Return")
    ADJUSTMENT = "adjustment", _("Adjustment")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    COUNT = "count", _("Count")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")


class StockMovement(AppendOnlyModel):
    """The stock ledger: every change to on_hand or reserved, with why, who and when.

    `txid` is the writing transaction (PostgreSQL); the change feed orders by it so a poller
    never skips a movement that committed late.
    """

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("Order, transfer or return."))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    txid = models.BigIntegerField(db_default=0, editable=False)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(
                condition=~Q(on_hand_delta=0) | ~Q(reserved_delta=0), name="stock_movement_changes_something"
            ),
            models.CheckConstraint(condition=Q(kind__in=MovementKind.values), name="stock_movement_kind_valid"),
        ]
        indexes = [
            models.Index(fields=("txid", "id"), name="stock_movement_feed_idx"),
            models.Index(fields=("reference",), name="stock_movement_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}/{self.reserved_delta:+d}"


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class Transfer(models.Model):
    """Goods moving between locations: requested, shipped (left the source), received."""

    source = models.ForeignKey(Location, verbose_name=_("from"), on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(
        Location, verbose_name=_("to"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TransferStatus.choices, default=TransferStatus.REQUESTED
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("e.g. the order it serves."))
    expected_at = models.DateField(_("expected"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_locations"),
            models.CheckConstraint(condition=Q(status__in=TransferStatus.values), name="transfer_status_valid"),
        ]

    def __str__(self) -> str:
        return f"T-{self.pk} {self.source_id}→{self.destination_id}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
            models.UniqueConstraint(fields=("transfer", "variant"), name="transfer_line_variant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"


class TransferLeadTime(models.Model):
    """How many days goods take from one location to another (the default is in settings)."""

    source = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", verbose_name=_("from"))
    destination = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+", verbose_name=_("to"))
    days = models.PositiveSmallIntegerField(_("days"))

    class Meta:
        verbose_name = _("transfer lead time")
        verbose_name_plural = _("transfer lead times")
        constraints = [models.UniqueConstraint(fields=("source", "destination"), name="lead_time_pair_unique")]

    def __str__(self) -> str:
        return f"{self.source_id}→{self.destination_id}: {self.days}"


class CycleCountStatus(models.TextChoices):
    OPEN = "open", _("Open")
    APPLIED = "applied", _("Applied")


class CycleCount(models.Model):
    """A count of some variants at a location; applying it adjusts stock to what was counted."""

    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="counts")
    status = models.CharField(
        _("status"), max_length=10, choices=CycleCountStatus.choices, default=CycleCountStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cycle count")
        verbose_name_plural = _("cycle counts")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"C-{self.pk} {self.location_id}"


class CycleCountLine(models.Model):
    count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+")
    counted = models.PositiveIntegerField(_("counted"))

    class Meta:
        verbose_name = _("counted line")
        verbose_name_plural = _("counted lines")
        constraints = [models.UniqueConstraint(fields=("count", "variant"), name="count_line_variant_unique")]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.counted}"


class LowStockAlert(models.Model):
    """Available fell below a level's threshold: shown to staff until stock comes back."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.CASCADE, related_name="alerts")
    available = models.IntegerField(_("available then"))
    threshold = models.PositiveIntegerField(_("threshold"))
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # When the staff's e-mails were handed to the outbox (inventory.alerts): sending, retries and
    # dead letters are their outbox messages' (kind low_stock_alert.email).
    notified_at = models.DateTimeField(_("staff notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("low-stock alert")
        verbose_name_plural = _("low-stock alerts")
        ordering = ("-created_at",)
        constraints = [
            # One open alert per stock level.
            models.UniqueConstraint(
                fields=("stock_level",), condition=Q(resolved_at__isnull=True), name="low_stock_one_open_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stock_level}: {self.available} < {self.threshold}"
