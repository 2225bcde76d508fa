from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.channels import Channel
from config.models import AppendOnlyModel
from customers.identities import IdentityKind


class Customer(models.Model):
    """One person, whatever channel they use. Identities (ContactPoint) point here."""

    # What the customer tells us about themselves: channels may read and change these.
    PROFILE_FIELDS = (
        "name",
        "birth_date",
        "country",
        "city",
        "preferred_language",
        "preferred_contact_channel",
        "tax_id",
    )

    name = models.CharField(_("name"), max_length=200, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. ES."))
    city = models.CharField(_("city"), max_length=100, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    preferred_contact_channel = models.CharField(
        _("preferred contact channel"), max_length=20, choices=Channel.choices, blank=True
    )
    tax_id = models.CharField(_("tax id"), max_length=20, blank=True, db_index=True)
    first_seen_channel = models.CharField(_("first seen on"), max_length=20, choices=Channel.choices)
    notes = models.TextField(_("staff notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ("-created_at", "-id")
        permissions = [
            ("export_customer", _("Can export everything held about a customer (GDPR)")),
            ("grant_store_credit", _("Can grant store credit to a customer")),
            ("adjust_loyalty_points", _("Can adjust a customer's loyalty points")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_seen_channel__in=Channel.values), name="customer_first_seen_channel_valid"
            ),
        ]
        indexes = [models.Index(fields=("name", "birth_date"), name="customer_name_birth_idx")]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class ContactPoint(models.Model):
    """An identity: an e-mail, a phone, a social handle, a device... that belongs to one customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contact_points"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value as given"), max_length=254)
    normalised_value = models.CharField(_("normalised value"), max_length=254)
    channel = models.CharField(_("first seen on"), max_length=20, choices=Channel.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ("kind", "id")
        constraints = [
            models.UniqueConstraint(fields=("kind", "normalised_value"), name="contact_point_identity_unique"),
            models.CheckConstraint(condition=Q(kind__in=IdentityKind.values), name="contact_point_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.normalised_value}"


class BroughtCustomer(models.Model):
    """A customer a channel client brought: created through its credential.

    A third party (marketplace, social integration) or a device reaches only these customers
    and its own orders (config.scopes). Resolving an identity that another channel brought
    never adds a row: reporting a customer, an order or a payment does not widen reach.
    """

    client = models.ForeignKey(
        "config.ChannelClient", on_delete=models.CASCADE, related_name="+", verbose_name=_("channel client")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="brought_by", verbose_name=_("customer")
    )
    created_at = models.DateTimeField(_("brought at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer brought by a client")
        verbose_name_plural = _("customers brought by clients")
        constraints = [
            models.UniqueConstraint(fields=("client", "customer"), name="brought_customer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.customer_id}"


class DuplicateReason(models.TextChoices):
    SHARED_EMAIL = "shared_email", _("Same e-mail")
    SHARED_PHONE = "shared_phone", _("Same phone")
    SHARED_TAX_ID = "shared_tax_id", _("Same tax id")
    SAME_NAME_AND_BIRTH_DATE = "same_name_birth_date", _("Same name and birth date")
    IDENTITY_CONFLICT = "identity_conflict", _("Identities of both sent together")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not the same person")


class DuplicateCandidate(models.Model):
    """Two profiles that may be one person, for staff to merge or dismiss. Never merged silently."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    other = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("possible duplicate")
    )
    reason = models.CharField(_("reason"), max_length=30, choices=DuplicateReason.choices)
    status = models.CharField(_("status"), max_length=20, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN)
    created_at = models.DateTimeField(_("found at"), auto_now_add=True)

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        ordering = ("-created_at", "-id")
        constraints = [
            # One row per pair, stored with the lower id first.
            models.CheckConstraint(condition=Q(customer__lt=F("other")), name="duplicate_pair_ordered"),
            models.UniqueConstraint(fields=("customer", "other"), name="duplicate_pair_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ~ {self.other_id} ({self.get_reason_display()})"


class CustomerMerge(models.Model):
    """Audit of a merge: who was folded into whom, what moved, and a copy of the removed profile."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges", verbose_name=_("kept customer")
    )
    removed_customer_id = models.BigIntegerField(_("removed customer id"))
    removed_snapshot = models.JSONField(_("removed profile"))
    moved = models.JSONField(_("rows moved"), default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"#{self.removed_customer_id} → #{self.customer_id}"


class EventKind(models.TextChoices):
    """Every kind of event on the timeline; the database refuses any other.

    Channels report the first four (REPORTED_EVENT_KINDS). The others are what the apps above
    record through `customer_event_record` (orders: its milestones and the messages it sent);
    customers names them by code, as it names a store by its location code.
    """

    PRODUCT_VIEWED = "product_viewed", _("Product viewed")
    # A context keeps this apart from the admin's own "Search" button.
    SEARCH = "search", pgettext_lazy("customer event", "Search")
    STORE_VISIT = "store_visit", _("Store visit")
    CART_UPDATED = "cart_updated", _("Cart updated")
    ORDER_PLACED = "order_placed", _("Order placed")
    ORDER_PAID = "order_paid", _("Order paid")
    ORDER_READY = "order_ready", _("Order ready for pickup")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")
    ORDER_DELIVERED = "order_delivered", _("Order delivered")
    ORDER_PICKED_UP = "order_picked_up", _("Order picked up")
    ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
    NOTIFICATION_SENT = "notification_sent", _("Order message sent")
    # Staff in the admin (customers.services: store_credit_grant_by_staff, loyalty_adjust_by_staff).
    STORE_CREDIT_GRANTED = "store_credit_granted", _("Store credit granted")
    LOYALTY_POINTS_ADJUSTED = "loyalty_points_adjusted", _("Loyalty points adjusted")


# What a channel may report (POST /api/v1/events/): the order kinds are recorded by orders alone.
REPORTED_EVENT_KINDS = (EventKind.PRODUCT_VIEWED, EventKind.SEARCH, EventKind.STORE_VISIT, EventKind.CART_UPDATED)
REPORTED_EVENT_KIND_CHOICES = [(kind.value, kind.label) for kind in REPORTED_EVENT_KINDS]


class CustomerEvent(AppendOnlyModel):
    """The timeline: what a customer did, on which channel, when. Append-only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events", verbose_name=_("customer"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=40, choices=EventKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    location_code = models.CharField(_("location"), max_length=40, blank=True)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    query = models.CharField(_("search"), max_length=200, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    client = models.ForeignKey(
        "config.ChannelClient", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    client_event_id = models.CharField(_("client event id"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        ordering = ("-occurred_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("client", "client_event_id"),
                condition=~Q(client_event_id=""),
                name="customer_event_client_id_unique",
            ),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="customer_event_kind_valid"),
        ]
        indexes = [models.Index(fields=("customer", "kind", "-occurred_at"), name="customer_event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def detail(self) -> str:
        """What the timeline shows beside the kind: the product, the search, the order, the store."""
        if self.sku or self.query:
            return self.sku or self.query
        payload = self.payload if isinstance(self.payload, dict) else {}
        parts = (payload.get("order"), self.location_code, payload.get("change"), payload.get("reason"))
        return " · ".join(str(part) for part in parts if part)


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    PERSONALISATION = "personalisation", _("Personalisation")


class Consent(AppendOnlyModel):
    """A consent given or withdrawn. History is kept; the newest row per channel and purpose holds."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consents", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=120, help_text=_("Where it was given, e.g. web sign-up form."))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by_channel = models.CharField(_("recorded through"), max_length=20, choices=Channel.choices, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ("-recorded_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="consent_channel_valid"),
        ]
        indexes = [
            models.Index(fields=("customer", "channel", "purpose", "-recorded_at"), name="consent_latest_idx"),
        ]

    def __str__(self) -> str:
        state = _("granted") if self.granted else _("withdrawn")
        return f"{self.customer_id} {self.channel}/{self.purpose}: {state}"


class Segment(models.Model):
    """A saved audience: rules evaluated as one query over customers."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict, help_text=_("See the README: segment rules."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    """Points of one customer. `balance` caches the ledger's sum so redeeming is one guarded UPDATE."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="loyalty_account", verbose_name=_("customer")
    )
    balance = models.IntegerField(_("points"), default=0)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.customer} ({self.balance})"


class LoyaltyEntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    REVERSE = "reverse", _("Reversed")
    # Part of an earning taken back (goods returned): an earning may have several.
    REVERSE_PART = "reverse_part", _("Partly reversed")
    ADJUST = "adjust", _("Adjusted")


class LoyaltyEntry(AppendOnlyModel):
    """The points ledger. Append-only: the balance is always explained by these rows."""

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=20, choices=LoyaltyEntryKind.choices)
    points = models.IntegerField(_("points"), help_text=_("Positive adds, negative takes away."))
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("e.g. an order number."))
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals")
    requested_points = models.PositiveIntegerField(
        _("points requested"),
        null=True,
        blank=True,
        help_text=_("For a part taken back: the earning's points it uses up, even if a low balance gave back fewer."),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("The staff member who made it by hand, with the reason."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loyalty entry")
        verbose_name_plural = _("loyalty entries")
        ordering = ("-created_at", "-id")
        constraints = [
            # Zero only for a reversal that found the points already spent: it still settles the entry.
            models.CheckConstraint(
                condition=~Q(points=0) | Q(kind__in=["reverse", "reverse_part"]), name="loyalty_entry_points_not_zero"
            ),
            # A part taken back takes, from the earning it names.
            models.CheckConstraint(
                condition=~Q(kind="reverse_part") | (Q(points__lte=0) & Q(reverses__isnull=False)),
                name="loyalty_reverse_part_takes_back",
            ),
            # Only a part records what it asked, and never less than it took.
            models.CheckConstraint(
                condition=Q(requested_points__isnull=True)
                | (Q(kind="reverse_part") & Q(requested_points__gte=-F("points"))),
                name="loyalty_reverse_part_requested_covers_taken",
            ),
            models.CheckConstraint(condition=~Q(kind="earn") | Q(points__gt=0), name="loyalty_earn_positive"),
            models.CheckConstraint(
                condition=~Q(kind__in=["redeem", "expire"]) | Q(points__lt=0), name="loyalty_spend_negative"
            ),
            # An entry is reversed in full at most once (in parts, as many times as it has points
            # left: the service counts them); an order earns points once.
            models.UniqueConstraint(
                fields=("reverses",), condition=Q(kind="reverse"), name="loyalty_entry_reversed_once"
            ),
            models.UniqueConstraint(
                fields=("account", "reference"),
                condition=Q(kind="earn") & ~Q(reference=""),
                name="loyalty_earn_once_per_reference",
            ),
        ]
        indexes = [models.Index(fields=("reference",), name="loyalty_entry_reference_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class StoreCreditAccount(models.Model):
    """Store credit of one customer in one currency: the row spending locks.

    `balance` is the ledger's sum, kept here so that spending is one guarded UPDATE of this row
    (two channels spending at once queue on it) and the database refuses a negative balance.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="store_credit_accounts", verbose_name=_("customer")
    )
    currency = models.CharField(_("currency"), max_length=3)
    balance = models.DecimalField(_("balance"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("store credit account")
        verbose_name_plural = _("store credit accounts")
        ordering = ("customer", "currency")
        constraints = [
            models.UniqueConstraint(fields=("customer", "currency"), name="store_credit_account_unique"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="store_credit_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ({self.balance} {self.currency})"


class StoreCreditEntry(AppendOnlyModel):
    """The store-credit ledger. Append-only: the account's balance is always explained by these rows."""

    account = models.ForeignKey(
        StoreCreditAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, help_text=_("Negative when spent."))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("The staff member who made it by hand, with the reason."),
    )
    # The one-time token of the admin's grant form: submitting the same form twice grants once.
    form_token = models.UUIDField(_("form token"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("store credit entry")
        verbose_name_plural = _("store credit")
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="store_credit_entry_amount_not_zero"),
            models.UniqueConstraint(fields=("form_token",), name="store_credit_entry_form_token_once"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} {self.account.currency}"
