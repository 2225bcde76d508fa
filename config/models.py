import hashlib
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.channels import FIRST_PARTY_CHANNELS, Channel, ChannelKind, channel_kind
from config.scopes import Reach, Scope, access_problems

THROTTLE_RATE_RE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def validate_throttle_rate(value: str) -> None:
    if value and not THROTTLE_RATE_RE.match(value):
        raise ValidationError(_("Write a rate as requests/period, e.g. 600/min or 20/s."), code="invalid_throttle_rate")


def token_digest(token: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked database leaks no credential."""
    return hashlib.sha256(token.encode()).hexdigest()


class ChannelClient(models.Model):
    """One credential per integration: a web shop, a store till, a locker bank...

    Whatever a client creates takes its channel from here, never from the request body.
    """

    name = models.CharField(_("name"), max_length=120)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    token_prefix = models.CharField(_("token prefix"), max_length=8, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    throttle_rate = models.CharField(
        _("throttle rate"),
        max_length=20,
        blank=True,
        validators=[validate_throttle_rate],
        help_text=_("Requests allowed per period, e.g. 600/min. Empty: the default rate."),
    )
    scopes = models.JSONField(
        _("scopes"),
        default=list,
        blank=True,
        help_text=_("What this credential may do through the API; every operation names the scope it needs."),
    )
    reach = models.CharField(
        _("reach"),
        max_length=10,
        choices=Reach.choices,
        default=Reach.OWN,
        help_text=_("Whose customers and orders it sees. Every customer only for the retailer's own channels."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel client")
        verbose_name_plural = _("channel clients")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=("name",), name="channel_client_name_unique"),
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="channel_client_channel_valid"),
            models.CheckConstraint(condition=models.Q(reach__in=Reach.values), name="channel_client_reach_valid"),
            # A marketplace, a social integration or a locker never reaches other channels' customers.
            models.CheckConstraint(
                condition=models.Q(reach=Reach.OWN) | models.Q(channel__in=sorted(FIRST_PARTY_CHANNELS)),
                name="channel_client_reach_all_first_party_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"

    def clean(self) -> None:
        problems = access_problems(channel=self.channel, scopes=self.scopes, reach=self.reach)
        if problems:
            raise ValidationError(problems)

    @property
    def kind(self) -> ChannelKind:
        return channel_kind(self.channel)

    @property
    def reaches_all(self) -> bool:
        """Every customer and order: a first-party channel given that reach."""
        return self.reach == Reach.ALL and self.channel in FIRST_PARTY_CHANNELS

    def has_scope(self, scope: Scope | str) -> bool:
        return str(scope) in (self.scopes or [])


class AppendOnlyError(Exception):
    """A ledger row was about to be edited: ledgers are corrected by new rows, never in place."""


class AppendOnlyModel(models.Model):
    """Base for ledgers and timelines: saving an existing row is refused.

    Bulk maintenance that must touch rows (re-pointing on a customer merge, scrubbing
    personal data on erasure) goes through querysets in services, on purpose and visibly.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)


class WebhookSubscription(models.Model):
    """A channel client asks to be told of an event (e.g. `stock.changed`) at a URL.

    Every delivery is signed with the subscription's secret (HMAC-SHA256 of the body).
    """

    client = models.ForeignKey(
        ChannelClient,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("channel client"),
    )
    event = models.CharField(_("event"), max_length=60, help_text=_("e.g. stock.changed"))
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        editable=False,
        help_text=_("Signs every delivery (HMAC-SHA256 of the body); give it to the receiver."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    cursor = models.CharField(
        _("cursor"),
        max_length=100,
        blank=True,
        help_text=_("Where a feed-based event stopped: the last position already handed to a delivery."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ("client__name", "event", "url")
        constraints = [
            models.UniqueConstraint(fields=("client", "event", "url"), name="webhook_subscription_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client.name}: {self.event} → {self.url}"


class OutboxKind(models.TextChoices):
    """What a message is; each kind has one handler, registered by the app that owns the work.

    The platform names the kinds (a lower app names what an upper one does by a code, as
    DESIGN.md says); `config.outbox.outbox_handler_register` is the port the apps fill from
    their `AppConfig.ready()`, and a test fails when a kind has no handler. A new kind is a
    line here, no migration: the field reads its choices from this list when asked.
    """

    WEBHOOK = "webhook", _("Webhook")
    INVOICE_EMAIL = "invoice.email", _("Invoice e-mail")
    ORDER_NOTIFICATION = "order.notification", _("Order notification")
    VERIFACTU_SUBMISSION = "verifactu.submission", _("VeriFactu submission")
    LOW_STOCK_ALERT_EMAIL = "low_stock_alert.email", _("Low-stock alert e-mail")


def outbox_kind_choices() -> list[tuple[str, Any]]:
    return OutboxKind.choices


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead letter")
    UNDELIVERABLE = "undeliverable", _("No way to reach the recipient")


class OutboxMessage(models.Model):
    """One thing owed to another system or person: the row says what must happen, a Celery task does it.

    Pending rows are due at `next_attempt_at`. A worker claims one with a lease (`leased_until`,
    the next attempt pushed past it), sends with no transaction open and settles it: sent, or
    a failed attempt that pushes the next one back (exponential backoff with jitter) until the
    attempts run out and the row becomes a dead letter, replayable by staff.
    """

    kind = models.CharField(_("kind"), max_length=30, choices=outbox_kind_choices, default=OutboxKind.WEBHOOK)
    event = models.CharField(_("event"), max_length=60, blank=True)
    target = models.CharField(
        _("target"), max_length=500, help_text=_("A URL, an e-mail address or the name of the system it goes to.")
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
        verbose_name=_("subscription"),
    )
    # Copied from the subscription, so that a replay signs as the first attempt did.
    secret = models.CharField(_("signing secret"), max_length=128, blank=True)
    body = models.JSONField(_("body"), encoder=DjangoJSONEncoder)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # What the owning domain needs once (one e-mail per invoice...): unique per kind when given.
    dedupe_key = models.CharField(_("dedupe key"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # While a worker sends: a second worker skips the row, a crashed one frees it when this passes.
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Whose personal data the message carries ("customer:12"), set by the domain app that owes it:
    # erasing that person redacts it (config.outbox.privacy).
    subject = models.CharField(_("about"), max_length=60, blank=True, db_index=True)
    # Still owed when its subject is erased (an ERP's copy of a fiscal document): sent, then purged.
    owed_after_erasure = models.BooleanField(_("owed after erasure"), default=False)
    # When its personal data was purged (its subject erased, or the retention period over).
    redacted_at = models.DateTimeField(_("redacted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ("-created_at", "-pk")
        indexes = [
            # The sweeper's query: pending rows whose next attempt is due, oldest first.
            models.Index(fields=("status", "next_attempt_at"), name="outbox_message_due_idx"),
            # The retention purge's queries (config.outbox.privacy): the rows not redacted yet,
            # sent ones by when they were sent, the others settled by their last attempt.
            models.Index(
                fields=("sent_at", "id"),
                name="outbox_message_purge_sent_idx",
                condition=models.Q(redacted_at__isnull=True, status="sent"),
            ),
            models.Index(
                fields=("next_attempt_at", "id"),
                name="outbox_message_purge_idx",
                condition=models.Q(redacted_at__isnull=True, status__in=("undeliverable", "dead")),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(attempts__gte=0), name="outbox_message_attempts_gte_0"),
            models.CheckConstraint(
                condition=models.Q(status__in=OutboxStatus.values), name="outbox_message_status_valid"
            ),
            # Sent rows say when; no other row claims to have been sent.
            models.CheckConstraint(
                condition=models.Q(status=OutboxStatus.SENT, sent_at__isnull=False)
                | (~models.Q(status=OutboxStatus.SENT) & models.Q(sent_at__isnull=True)),
                name="outbox_message_sent_has_sent_at",
            ),
            models.UniqueConstraint(
                fields=("kind", "dedupe_key"), condition=~models.Q(dedupe_key=""), name="outbox_message_once_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.event} → {self.target}".replace("  ", " ")


class IdempotentRequest(models.Model):
    """A write made with an `Idempotency-Key`, and its first answer (config.api.idempotency).

    The key belongs to who sent it: a channel credential or a staff member, exactly one. The row
    is written in the same transaction as the write it stands for and its answer, so a committed
    row always has its answer and a write retried with its key is answered from here instead of
    happening twice. Rows older than IDEMPOTENCY_KEY_RETENTION_DAYS are swept.
    """

    client = models.ForeignKey(
        ChannelClient,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel client"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    key = models.CharField(_("idempotency key"), max_length=100)
    operation = models.CharField(
        _("operation"),
        max_length=300,
        help_text=_("The method, the URL's name and its arguments, e.g. POST v1:order-payments(number=ABCD2345)."),
    )
    fingerprint = models.CharField(_("request fingerprint"), max_length=64, help_text=_("SHA-256 of the request body."))
    # Set before the transaction that wrote the row commits: never empty once committed.
    status_code = models.PositiveSmallIntegerField(_("answer status"), null=True, blank=True)
    body = models.JSONField(_("answer body"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    # Whose personal data the answer shows ("customer:12", as the outbox's `subject`): erasing
    # them empties the body (config.idempotency.idempotent_requests_subject_erase).
    subject = models.CharField(_("about"), max_length=60, blank=True, db_default="")
    # When the answer was emptied because its subject was erased: a replay is refused.
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(client__isnull=False) & models.Q(user__isnull=True))
                | (models.Q(client__isnull=True) & models.Q(user__isnull=False)),
                name="idempotent_request_one_owner",
            ),
            models.UniqueConstraint(
                fields=("client", "key"), condition=models.Q(client__isnull=False), name="idempotent_request_client_key"
            ),
            models.UniqueConstraint(
                fields=("user", "key"), condition=models.Q(user__isnull=False), name="idempotent_request_user_key"
            ),
            models.CheckConstraint(
                condition=models.Q(status_code__isnull=True) | models.Q(status_code__gte=100, status_code__lte=599),
                name="idempotent_request_status_code_http",
            ),
            models.CheckConstraint(condition=~models.Q(key=""), name="idempotent_request_key_not_empty"),
        ]
        indexes = [
            # An erasure's lookup: only the rows about somebody.
            models.Index(fields=("subject",), name="idempotent_request_subject_idx", condition=~models.Q(subject="")),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.operation}"
