"""Messages to the customer at the right moment: placed, ready for pickup, shipped, delivered, and
the reminder before a pickup's hold ends, the cancellation (why, and what is given back) when staff,
the expiry or a hold's end cancel the order, and each refund when its money is on its way (one
message per refund).

The order's transaction writes an `OrderNotification` row and its outbox message (kind
`order.notification`, `order_notification_due`); the outbox sends it after commit through
this module's handler (`OrderNotificationHandler`), through the customer's preferred
channel: e-mail through Django's mail, any other channel through the signed outbound
webhook (`order.notification`) of that channel's integration. Only the integration that
placed the order carries its messages; a message without a pickup code may also go to a
first-party client reaching every customer (the retailer's own app). A third party or a
device that did not place the order never gets one, whatever the preferred channel says:
a client that reaches the customer may set it to its own channel. An integration is told no
more of the customer than it reaches: a client that did not bring her (and does not reach
every customer) gets the e-mail and phone given with the order, not her other identities nor
her id. When no integration may carry it, or the customer has no identity it could use,
e-mail to the order's address is the fallback; with no e-mail address either the row ends
`unreachable`. Each message sent goes on the customer's timeline (`notification_sent`). These
messages are transactional: they go whatever the marketing consents say (consents govern
marketing only).

Sending is the outbox's: the message is claimed with a lease and an attempt counted before
anything is sent, so a replayed task, or a second worker, finds it taken. A failed attempt
leaves it pending for a backoff; after `ORDER_NOTIFICATION_MAX_ATTEMPTS` it is a dead letter
and the notification failed. The outbox's sweeper re-enqueues what is due: lost tasks,
retries, and sends whose worker died (its lease ran out). The handler records the outcome
on the notification in the outbox's settling transaction, with the channel's webhooks and
the timeline entry; a replayed dead letter makes the notification pending again. A hold's
reminder whose order is no longer waiting when it is to go (collected, cancelled, its hold
ended) is not sent: the message is settled as undeliverable and the notification `not_needed`.

The ready-for-pickup e-mail carries the pickup QR code: shown inline in the HTML part and
attached as PNG and SVG, with the short code in the text for staff to type.
"""

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.channels import Channel
from config.models import OutboxKind, OutboxMessage, OutboxStatus, WebhookSubscription
from config.outbox import (
    EMAIL_LEASE,
    Email,
    OutboxHandler,
    Outcome,
    email_send,
    outbox_enqueue,
    webhook_enqueue,
)
from config.selectors import webhook_subscriptions_active
from customers.identities import HANDLE_KINDS, IdentityKind
from customers.models import EventKind
from customers.selectors import customer_reached_by
from customers.services.events import customer_event_record
from customers.services.privacy import customer_outbox_subject
from orders.codes import pickup_code, pickup_qr, pickup_short_code, tracking_url
from orders.holds import order_hold_reminder_current
from orders.models import (
    NotificationKind,
    NotificationStatus,
    Order,
    OrderNotification,
    Parcel,
    ParcelStatus,
    PaymentMethod,
    PaymentMode,
    Refund,
    RefundStatus,
)

NOTIFICATION_EVENT = "order.notification"
TIMELINE_KIND = EventKind.NOTIFICATION_SENT
# What a cancelled order gives back: its refunds pending or succeeded (a failed one gave nothing).
REFUNDS_OWED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
HTML_TEMPLATE = "orders/email/notification.html"
# The identities a messaging channel's integration needs to reach the customer; a channel not
# listed gets every identity and decides itself.
CHANNEL_IDENTITY_KINDS: dict[str, frozenset[str]] = {
    Channel.WHATSAPP: frozenset({IdentityKind.WHATSAPP, IdentityKind.PHONE}),
    Channel.SOCIAL: frozenset(HANDLE_KINDS),
    Channel.APP: frozenset({IdentityKind.APP_DEVICE, IdentityKind.WEB_ACCOUNT}),
}


def order_notification_due(order: Order, *, kind: str, refund: Refund | None = None) -> OrderNotification:
    """Record the message owed and its outbox message, in the caller's transaction; the outbox sends it after commit.

    Once per order and kind (a refund's: once per refund): the caller holds the order's row
    lock, so asking again returns the row already there.
    """
    existing = OrderNotification.objects.filter(order=order, kind=kind, refund=refund).first()
    if existing is not None:
        return existing
    # The notification row is the "once" (one per order and kind): the message needs no dedupe key.
    body: dict[str, Any] = {"order": order.number, "notification": kind}
    if refund is not None:
        body["refund"] = refund.pk
    message = outbox_enqueue(
        kind=OutboxKind.ORDER_NOTIFICATION,
        target=f"order:{order.number}",
        event=kind,
        body=body,
        language=order.language,
        subject=customer_outbox_subject(order.customer_id),
    )
    return OrderNotification.objects.create(order=order, kind=kind, refund=refund, message=message)


# What the message says


@dataclass(frozen=True)
class Message:
    """One notification's texts, in the customer's language, and the pickup code when there is one."""

    language: str
    subject: str
    paragraphs: list[str]
    link: str
    text: str
    pickup_code: str = ""
    pickup_short_code: str = ""


def _language(order: Order) -> str:
    supported = dict(settings.LANGUAGES)
    for code in (order.language, order.customer.preferred_language):
        base = (code or "").split("-")[0].lower()
        if base in supported:
            return base
    return str(settings.LANGUAGE_CODE)


def _amount(value: Any) -> str:
    return formats.number_format(value, decimal_pos=2, use_l10n=True)


def _refund_paragraphs(refund: Refund, currency: str, number: str) -> list[str]:
    values = {"amount": _amount(refund.amount), "currency": currency, "number": number, "points": refund.points}
    if refund.method == PaymentMethod.STORE_CREDIT:
        return [_("%(amount)s %(currency)s of order %(number)s are back on your store credit.") % values]
    if refund.method == PaymentMethod.LOYALTY_POINTS:
        return [_("The %(points)s points you spent on order %(number)s are back on your account.") % values]
    if refund.method == PaymentMethod.CASH:
        return [_("We gave you back %(amount)s %(currency)s in cash for order %(number)s.") % values]
    return [
        _("We are giving back %(amount)s %(currency)s for order %(number)s, the way you paid (%(method)s).")
        % {**values, "method": PaymentMethod(refund.method).label},
        _("Depending on your bank it may take a few days to show."),
    ]


def _paragraphs(order: Order, kind: str, short_code: str, refund: Refund | None = None) -> list[str]:
    values = {
        "number": order.number,
        "total": _amount(order.total),
        "due": _amount(order.amount_due),
        "currency": order.currency,
        "place": order.pickup_location.name if order.pickup_location is not None else "",
        "code": short_code,
        "carrier": order.carrier or "-",
        "tracking": order.tracking_number or "-",
    }
    if kind == NotificationKind.PLACED:
        paragraphs = [_("Thank you: your order %(number)s for %(total)s %(currency)s is placed.") % values]
        if order.delivery_charge > 0 and order.delivery_method is not None:
            paragraphs.append(
                _("It includes %(charge)s %(currency)s for delivery (%(method)s).")
                % {**values, "charge": _amount(order.delivery_charge), "method": order.delivery_method.name}
            )
    elif kind == NotificationKind.READY:
        paragraphs = [
            _("Your order %(number)s is waiting for you at %(place)s.") % values,
            _("Show the attached QR code, or give the code %(code)s.") % values,
        ]
        if order.payment_mode == PaymentMode.AT_PICKUP and not order.is_paid and order.payment_due_by:
            last_day = formats.date_format(timezone.localtime(order.payment_due_by), "SHORT_DATE_FORMAT")
            paragraphs.append(
                _("You pay %(due)s %(currency)s when you collect it, at the latest on %(date)s.")
                % {**values, "date": last_day}
            )
        elif order.hold_ends_at:
            until = formats.date_format(timezone.localtime(order.hold_ends_at), "SHORT_DATETIME_FORMAT")
            paragraphs.append(_("We keep it for you until %(until)s.") % {"until": until})
    elif kind == NotificationKind.HOLD_ENDING:
        paragraphs = _hold_ending_paragraphs(order, values)
    elif kind == NotificationKind.CANCELLED:
        paragraphs = _cancelled_paragraphs(order, values)
    elif kind == NotificationKind.REFUND and refund is not None:
        paragraphs = _refund_paragraphs(refund, order.currency, order.number)
    elif kind == NotificationKind.SHIPPED:
        parcels = _parcels_sent(order)
        if len(parcels) > 1:  # one sentence per box, each followed with its own carrier
            paragraphs = [
                ngettext(
                    "Your order %(number)s left in %(count)d parcel:",
                    "Your order %(number)s left in %(count)d parcels:",
                    len(parcels),
                )
                % {**values, "count": len(parcels)},
                *(
                    _("Parcel %(parcel)s: %(carrier)s, tracking number %(tracking)s.")
                    % {"parcel": parcel.position, "carrier": parcel.carrier, "tracking": parcel.tracking_number}
                    for parcel in parcels
                ),
            ]
        else:
            paragraphs = [_("Your order %(number)s left with %(carrier)s, tracking number %(tracking)s.") % values]
    else:
        paragraphs = [_("Your order %(number)s was delivered. Thank you for shopping with us.") % values]
    greeting = _("Hello %(name)s,") % {"name": order.customer_name} if order.customer_name else _("Hello,")
    return [greeting, *paragraphs]


def _hold_ending_paragraphs(order: Order, values: dict[str, str]) -> list[str]:
    """The reminder before a pickup's hold ends (orders.services.holds): until when, and what happens then."""
    until = timezone.localtime(order.hold_ends_at) if order.hold_ends_at else timezone.now()
    values = {**values, "until": formats.date_format(until, "SHORT_DATETIME_FORMAT")}
    paragraphs = [
        _("Your order %(number)s is still waiting for you at %(place)s, until %(until)s.") % values,
        _("Bring the pickup code we sent you when it was ready."),
    ]
    if order.is_paid:
        paragraphs.append(
            _("If it is not collected by then, it goes back to stock and we refund %(total)s %(currency)s.") % values
        )
    else:
        paragraphs.append(
            _("You pay %(due)s %(currency)s when you collect it; if it is not collected by then, it is cancelled.")
            % values
        )
    return paragraphs


def _cancelled_paragraphs(order: Order, values: dict[str, str]) -> list[str]:
    """The order was cancelled (orders.services.cancelling): why, as the order's history says it, and
    what is given back (its refunds, each told again when its money is on its way)."""
    reason = order.cancel_reason
    paragraphs = [
        _("Your order %(number)s was cancelled: %(reason)s.") % {**values, "reason": reason}
        if reason
        else _("Your order %(number)s was cancelled.") % values
    ]
    owed = sum((refund.amount for refund in order.refunds.filter(status__in=REFUNDS_OWED)), Decimal(0))
    if owed:
        paragraphs.append(
            _("We give back %(amount)s %(currency)s the way you paid; we write again as each refund goes.")
            % {**values, "amount": _amount(owed)}
        )
    return paragraphs


def _parcels_sent(order: Order) -> list[Parcel]:
    """The order's parcels that left (orders.services.parcels), in their order."""
    sent = (ParcelStatus.SHIPPED, ParcelStatus.DELIVERED)  # not those waiting, nor those cancelled
    return list(order.parcels.filter(status__in=sent).order_by("position"))


def _subject(order: Order, kind: str) -> str:
    subjects = {
        NotificationKind.PLACED: _("We have your order %(number)s"),
        NotificationKind.READY: _("Your order %(number)s is ready for pickup"),
        NotificationKind.SHIPPED: _("Your order %(number)s is on its way"),
        NotificationKind.DELIVERED: _("Your order %(number)s was delivered"),
        NotificationKind.HOLD_ENDING: _("Reminder: your order %(number)s is waiting for you"),
        NotificationKind.REFUND: _("Your refund for order %(number)s is on its way"),
        NotificationKind.CANCELLED: _("Your order %(number)s was cancelled"),
    }
    return subjects[NotificationKind(kind)] % {"number": order.number}


def order_notification_message(notification: OrderNotification) -> Message:
    """The texts of a notification in the customer's language (the order's, else their profile's)."""
    order = notification.order
    with_code = notification.kind == NotificationKind.READY and bool(order.pickup_secret)
    short_code = pickup_short_code(secret=order.pickup_secret) if with_code else ""
    language = _language(order)
    link = tracking_url(number=order.number)
    with translation.override(language):
        paragraphs = _paragraphs(order, notification.kind, short_code, notification.refund)
        return Message(
            language=language,
            subject=_subject(order, notification.kind),
            paragraphs=paragraphs,
            link=link,
            text="\n\n".join([*paragraphs, _("Follow your order: %(link)s") % {"link": link}]),
            pickup_code=pickup_code(number=order.number, secret=order.pickup_secret) if with_code else "",
            pickup_short_code=short_code,
        )


# How it goes


def order_notification_email(notification: OrderNotification, message: Message) -> Email:
    """The e-mail: plain text, an HTML alternative, and the pickup QR code (inline, PNG and SVG)."""
    order = notification.order
    qr_png = pickup_qr(code=message.pickup_code, kind="png") if message.pickup_code else b""
    qr_cid = f"pickup-qr-{order.number}@orders" if qr_png else ""
    with translation.override(message.language):
        html = render_to_string(
            HTML_TEMPLATE,
            {"message": message, "qr_cid": qr_cid, "number": order.number, "language": message.language},
        )
    attachments = (
        [
            (f"{order.number}-pickup.png", qr_png, "image/png"),
            (f"{order.number}-pickup.svg", pickup_qr(code=message.pickup_code, kind="svg"), "image/svg+xml"),
        ]
        if qr_png
        else []
    )
    return Email(
        subject=message.subject,
        text=message.text,
        html=html,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
        attachments=attachments,
        inline_images=[(qr_cid, qr_png, "image/png")] if qr_png else [],
    )


@dataclass(frozen=True)
class Integration:
    """A channel integration carrying the message, and the identities of the customer it is told."""

    subscription: WebhookSubscription
    identities: list[dict[str, str]]
    reaches_customer: bool  # it may know who she is (her id), not only the contact given with the order


@dataclass(frozen=True)
class Route:
    """Where a notification goes: a channel ("" when there is no way) and, for a webhook, the integrations."""

    channel: str
    integrations: list[Integration] = field(default_factory=list)


def _identities(order: Order, channel: str, *, whole: bool) -> list[dict[str, str]]:
    """The identities the channel's integration can use (empty: it cannot reach the customer).

    `whole`: the customer's identities, for a client that reaches her; otherwise only the e-mail
    and phone given with the order (the client had them already), never her other identities.
    """
    kinds = CHANNEL_IDENTITY_KINDS.get(channel)
    found = (
        [
            {"kind": kind, "value": value}
            for kind, value in order.customer.contact_points.order_by("kind", "id").values_list(
                "kind", "normalised_value"
            )
            if kinds is None or kind in kinds
        ]
        if whole
        else []
    )
    # What was given with the order counts too (it may not be one of the customer's identities).
    known = {identity["value"] for identity in found}
    for kind, value in ((IdentityKind.EMAIL, order.email), (IdentityKind.PHONE, order.phone)):
        if value and value not in known and (kinds is None or kind in kinds):
            found.append({"kind": kind, "value": value})
            known.add(value)
    return found


def _may_carry(subscription: WebhookSubscription, order: Order, *, with_pickup_code: bool) -> bool:
    """The client that placed the order; for a message without a pickup code, a first-party client reaching all too.

    Never anyone else: the preferred channel may have been set by the integration itself,
    and a pickup code opens a locker.
    """
    if subscription.client_id == order.client_id:
        return True
    return not with_pickup_code and subscription.client.reaches_all


def order_notification_route(order: Order, *, with_pickup_code: bool) -> Route:
    """The preferred channel if an integration that may carry the message is active and can reach the customer.

    Else e-mail to the order's address; else none.
    """
    if order.customer.erased_at is not None:
        return Route(channel="")
    preferred = order.customer.preferred_contact_channel
    if preferred and preferred != Channel.EMAIL:
        integrations = []
        identities: dict[bool, list[dict[str, str]]] = {}  # read once per kind of client
        for subscription in webhook_subscriptions_active(event=NOTIFICATION_EVENT).filter(client__channel=preferred):
            if not _may_carry(subscription, order, with_pickup_code=with_pickup_code):
                continue
            reached = customer_reached_by(customer=order.customer, client=subscription.client)
            if reached not in identities:
                identities[reached] = _identities(order, preferred, whole=reached)
            if identities[reached]:
                integrations.append(Integration(subscription, identities[reached], reaches_customer=reached))
        if integrations:
            return Route(channel=preferred, integrations=integrations)
    if order.email:
        return Route(channel=Channel.EMAIL)
    return Route(channel="")


def _webhook_body(
    notification: OrderNotification, message: Message, channel: str, integration: Integration
) -> dict[str, Any]:
    """What the channel's integration gets: who, the texts to send, and the pickup code for a QR.

    Who, as far as it reaches: the customer's id only for a client that reaches her.
    """
    order = notification.order
    body: dict[str, Any] = {
        "event": NOTIFICATION_EVENT,
        "notification": notification.pk,  # the receiver's key against repeats
        "kind": notification.kind,
        "channel": channel,
        "language": message.language,
        "order": {
            "number": order.number,
            "status": order.status,
            "fulfilment_type": order.fulfilment_type,
            "total": order.total,
            "currency": order.currency,
            "pickup_location": order.pickup_location.code if order.pickup_location is not None else None,
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
            "tracking_url": message.link,
            "parcels": [
                {
                    "parcel": parcel.position,
                    "status": parcel.status,
                    "carrier": parcel.carrier,
                    "tracking_number": parcel.tracking_number,
                }
                for parcel in _parcels_sent(order)
            ],
        },
        "recipient": {
            "customer": order.customer_id if integration.reaches_customer else None,
            "name": order.customer_name,
            "identities": integration.identities,
        },
        "subject": message.subject,
        "text": message.text,
    }
    if message.pickup_code:
        png = pickup_qr(code=message.pickup_code, kind="png")
        body["pickup"] = {
            "code": message.pickup_code,
            "short_code": message.pickup_short_code,
            "qr_png": base64.b64encode(png).decode(),
        }
    return body


# Sending: the outbox's handler of `order.notification`


@dataclass(frozen=True)
class Decided:
    """What one attempt decided and did: the texts and where they went (for the settling transaction)."""

    notification: OrderNotification
    message: Message
    route: Route


@dataclass(frozen=True)
class NotNeeded:
    """The message is no longer true when it is to go (a hold's reminder once the order is not waiting)."""

    notification: OrderNotification


class OrderNotificationHandler(OutboxHandler):
    """Builds the message in the customer's language at send time and sends it by the route it finds."""

    kind = OutboxKind.ORDER_NOTIFICATION
    max_attempts_setting = "ORDER_NOTIFICATION_MAX_ATTEMPTS"
    body_is_reference = True  # the order's number and the notification's kind

    def lease(self) -> timedelta:
        return EMAIL_LEASE

    def send(self, message: OutboxMessage) -> Outcome:
        notification = (
            OrderNotification.objects.select_related("order__customer", "order__pickup_location", "refund")
            .filter(message=message)
            .first()
        )
        if notification is None:  # its order was deleted: nobody to tell
            return Outcome(undeliverable=True)
        if notification.kind == NotificationKind.HOLD_ENDING and not order_hold_reminder_current(
            notification.order, now=timezone.now()
        ):  # collected, cancelled or ended meanwhile: "still waiting for you" would be false
            return Outcome(undeliverable=True, context=NotNeeded(notification))
        texts = order_notification_message(notification)
        route = order_notification_route(notification.order, with_pickup_code=bool(texts.pickup_code))
        if route.channel == Channel.EMAIL:
            email_send(order_notification_email(notification, texts))
        return Outcome(undeliverable=not route.channel, context=Decided(notification, texts, route))

    def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        """The outcome on the notification; a webhook's deliveries and the timeline entry are written with it."""
        if message.status == OutboxStatus.DEAD:
            OrderNotification.objects.filter(message=message).update(status=NotificationStatus.FAILED)
            return
        if isinstance(outcome.context, NotNeeded):
            OrderNotification.objects.filter(message=message).update(status=NotificationStatus.NOT_NEEDED)
            return
        if outcome.context is None:
            if message.status == OutboxStatus.UNDELIVERABLE:  # e.g. its customer was erased before it went
                OrderNotification.objects.filter(message=message).update(status=NotificationStatus.UNREACHABLE)
            return
        decided: Decided = outcome.context
        route, texts, notification = decided.route, decided.message, decided.notification
        sent = message.status == OutboxStatus.SENT
        OrderNotification.objects.filter(pk=notification.pk).update(
            status=NotificationStatus.SENT if sent else NotificationStatus.UNREACHABLE,
            channel=route.channel,
            sent_at=message.sent_at if sent else None,
        )
        for integration in route.integrations:
            subscription = integration.subscription
            webhook_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=NOTIFICATION_EVENT,
                body=_webhook_body(notification, texts, route.channel, integration),
                subscription=subscription,
                subject=customer_outbox_subject(notification.order.customer_id),
            )
        if sent:
            order = notification.order
            customer_event_record(
                customer=order.customer,
                channel=route.channel,
                kind=TIMELINE_KIND,
                location_code=order.pickup_location.code if order.pickup_location is not None else "",
                payload={
                    "order": order.number,
                    "notification": notification.kind,
                    "subject": texts.subject,
                    "language": texts.language,
                },
            )

    def replayed(self, message: OutboxMessage) -> None:
        OrderNotification.objects.filter(message=message).update(
            status=NotificationStatus.PENDING, channel="", sent_at=None
        )
