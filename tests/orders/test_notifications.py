"""Order notifications, run in-process: the e-mails, the webhook for other channels, retries and the sweeper.

Tasks run eagerly; mail goes to Django's locmem outbox unless a test points the mailer at a
real socket. Commit callbacks only run inside `django_capture_on_commit_callbacks`, so a
notification written by a service stays pending until the test sends it. Each notification
is sent as its outbox message (config.outbox): attempts, lease and last error are there.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage as StdlibEmailMessage
from typing import Any, cast

import pytest
from django.core import mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.channels import Channel
from config.models import OutboxKind, OutboxMessage, OutboxStatus, WebhookSubscription
from config.outbox import SWEEP_GRACE, outbox_replay, outbox_send, webhook_subscription_create
from config.roles import Role
from config.scopes import Reach
from config.selectors import outbox_message_ids_due
from config.tasks import outbox_send as outbox_send_task
from config.tasks import outbox_sweep
from customers.models import BroughtCustomer, ConsentPurpose, Customer, CustomerEvent
from customers.services.consents import consent_record
from orders.codes import pickup_code, pickup_code_parse, pickup_qr, pickup_short_code
from orders.models import NotificationKind, NotificationStatus, Order, OrderNotification
from orders.services import Actor, order_cancel, order_hold_remind, order_make_ready, order_ship, refund_confirm
from orders.services.notifications import NOTIFICATION_EVENT, order_notification_due
from tests.factories import ContactPointFactory, channel_client
from tests.receivers import Receiver, verifies
from tests.scenarios import Shop, deliver, pay, place, ship, staff_actor
from tests.smtp import closed_port

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Texts the Spanish catalog is to carry (it is maintained separately; the .po does not have them yet).
SUBJECTS = {
    ("en", NotificationKind.PLACED): "We have your order {number}",
    ("en", NotificationKind.READY): "Your order {number} is ready for pickup",
    ("en", NotificationKind.SHIPPED): "Your order {number} is on its way",
    ("en", NotificationKind.DELIVERED): "Your order {number} was delivered",
    ("es", NotificationKind.PLACED): "Hemos recibido su pedido {number}",
    ("es", NotificationKind.READY): "Su pedido {number} está listo para recoger",
    ("es", NotificationKind.SHIPPED): "Su pedido {number} está en camino",
    ("es", NotificationKind.DELIVERED): "Su pedido {number} ha sido entregado",
    ("en", NotificationKind.HOLD_ENDING): "Reminder: your order {number} is waiting for you",
    ("es", NotificationKind.HOLD_ENDING): "Recordatorio: su pedido {number} le espera",
    ("en", NotificationKind.REFUND): "Your refund for order {number} is on its way",
    ("es", NotificationKind.REFUND): "Su reembolso del pedido {number} está en camino",
    ("en", NotificationKind.CANCELLED): "Your order {number} was cancelled",
    ("es", NotificationKind.CANCELLED): "Su pedido {number} ha sido cancelado",
}
WHATSAPP_URL = "https://whatsapp.example.com/hooks/orders"
MARKETPLACE_URL = "https://marketplace.example.com/hooks/orders"
APP_URL = "https://app.example.com/hooks/push"


@pytest.fixture
def refused_smtp(settings: Any) -> Iterator[int]:
    """The mailer points at a port that refuses connections."""
    with closed_port() as port:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        yield port


def integration(url: str = WHATSAPP_URL, *, channel: str = Channel.WHATSAPP, **fields: Any) -> WebhookSubscription:
    """A channel's integration subscribed to order notifications (its channel's default reach unless given)."""
    client, _token = channel_client(channel, name=f"{channel} integration at {url}", **fields)
    return webhook_subscription_create(client=client, event=NOTIFICATION_EVENT, url=url)


def placed_through(hook: WebhookSubscription) -> Actor:
    """The subscribed integration as the channel placing an order."""
    return Actor(channel=hook.client.channel, client=hook.client)


def app_integration(shop: Shop, **fields: Any) -> WebhookSubscription:
    """The retailer's own app, subscribed, reaching every customer unless told; the customer prefers it."""
    hook = integration(APP_URL, channel=Channel.APP, **fields)
    ContactPointFactory.create(customer=shop.customer, kind="app_device", value="device-ana-1")
    prefers(shop.customer, Channel.APP)
    return hook


def prefers(customer: Customer, channel: str) -> None:
    Customer.objects.filter(pk=customer.pk).update(preferred_contact_channel=channel)


def ready_order(shop: Shop, **request: Any) -> Order:
    """Pay at pickup, in the store that has the shirt on its shelf: ready at once."""
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup", **request)
    return order_make_ready(order=order, actor=shop.store_actor)


def order_notified(shop: Shop, kind: str) -> Order:
    """An order that has just owed the customer a message of `kind`."""
    if kind == NotificationKind.READY:
        return ready_order(shop)
    if kind == NotificationKind.HOLD_ENDING:  # ready, and its hold ends within the reminder's lead
        order = ready_order(shop)
        Order.objects.filter(pk=order.pk).update(hold_ends_at=timezone.now() + timedelta(hours=1))
        assert order_hold_remind(order_id=order.pk)
        return order
    order = place(shop)
    if kind in (NotificationKind.SHIPPED, NotificationKind.DELIVERED):
        order = ship(shop, pay(shop, order), tracking_number="TRK1")
    if kind == NotificationKind.DELIVERED:
        order = deliver(shop, order)
    if kind == NotificationKind.CANCELLED:  # paid, then cancelled by customer service
        return order_cancel(order=pay(shop, order), actor=staff_actor(Role.AGENT), reason="Out of stock")
    if kind == NotificationKind.REFUND:  # cancelled, and the card's refund confirmed by the web shop
        order = order_cancel(order=pay(shop, order), actor=shop.web)
        refund = order.refunds.get()
        refund_confirm(
            order=order,
            refund_id=refund.pk,
            actor=shop.web,
            status="succeeded",
            amount=refund.amount,
            provider_reference="re_1",
        )
    return order


def notification(order: Order, kind: str = NotificationKind.PLACED) -> OrderNotification:
    return OrderNotification.objects.get(order=order, kind=kind)  # one refund at most in these tests


def sending(order: Order, kind: str = NotificationKind.PLACED) -> OutboxMessage:
    """The notification's outbox message: its attempts, lease, next attempt and last error."""
    return OutboxMessage.objects.get(pk=notification(order, kind).message_id)


def due_ids(limit: int = 500) -> list[int]:
    """The outbox messages the sweeper would enqueue."""
    return outbox_message_ids_due(grace=SWEEP_GRACE, limit=limit)


def send(order: Order, kind: str = NotificationKind.PLACED) -> bool:
    """What the outbox's task does with the notification's message: send it if pending and due."""
    return outbox_send(message_id=notification(order, kind).message_id)


def webhooks() -> QuerySet[OutboxMessage]:
    """The signed POSTs owed to channel integrations."""
    return OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK)


def attachments(message: mail.EmailMessage) -> dict[str, tuple[str, bytes]]:
    """File name → (media type, content)."""
    return {name: (media_type, content) for name, content, media_type in message.attachments}


def pickup_png(order: Order) -> bytes:
    return pickup_qr(code=pickup_code(number=order.number, secret=order.pickup_secret), kind="png")


def timeline(customer: Customer, kind: str) -> list[CustomerEvent]:
    return list(CustomerEvent.objects.filter(customer=customer, kind=kind).order_by("id"))


# E-mail: what it says


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("kind", NotificationKind.values)
def test_each_kind_is_emailed_with_its_subject_in_the_order_language(shop: Shop, kind: str, language: str) -> None:
    order = order_notified(shop, kind)
    Order.objects.filter(pk=order.pk).update(language=language)

    assert send(order, kind) is True

    [message] = mail.outbox
    assert message.to == ["ana@example.com"]
    assert message.subject == SUBJECTS[(language, NotificationKind(kind))].format(number=order.number)


def test_the_language_comes_from_the_profile_when_the_order_has_none(shop: Shop) -> None:
    order = place(shop)
    Order.objects.filter(pk=order.pk).update(language="")
    Customer.objects.filter(pk=shop.customer.pk).update(preferred_language="es")

    send(order)

    assert mail.outbox[0].subject == f"Hemos recibido su pedido {order.number}"


def test_the_total_is_written_as_the_language_writes_numbers(shop: Shop) -> None:
    spanish, english = place(shop), place(shop)
    Order.objects.filter(pk=english.pk).update(language="en")

    send(spanish)
    send(english)

    assert "Gracias: su pedido" in mail.outbox[0].body
    assert "19,95 EUR" in mail.outbox[0].body
    assert "19.95 EUR" in mail.outbox[1].body


def test_the_email_links_to_the_order_tracking_page(shop: Shop) -> None:
    order = place(shop)

    send(order)

    assert f"/track/{order.number}/?token=" in mail.outbox[0].body


def test_the_shipped_email_gives_the_carrier_and_tracking_number(shop: Shop) -> None:
    order = order_notified(shop, NotificationKind.SHIPPED)

    send(order, NotificationKind.SHIPPED)

    assert "SEUR" in mail.outbox[0].body
    assert "TRK1" in mail.outbox[0].body


# E-mail: the pickup code


def test_the_ready_email_attaches_the_qr_png_of_the_signed_pickup_code(shop: Shop) -> None:
    order = ready_order(shop)

    send(order, NotificationKind.READY)

    media_type, png = attachments(mail.outbox[0])[f"{order.number}-pickup.png"]
    assert media_type == "image/png"
    assert png.startswith(PNG_MAGIC)
    assert png == pickup_png(order)
    assert pickup_code_parse(pickup_code(number=order.number, secret=order.pickup_secret)) == (
        order.number,
        order.pickup_secret,
    )


def test_the_ready_email_attaches_the_qr_as_svg_too(shop: Shop) -> None:
    order = ready_order(shop)

    send(order, NotificationKind.READY)

    media_type, svg = attachments(mail.outbox[0])[f"{order.number}-pickup.svg"]
    assert media_type == "image/svg+xml"
    assert svg == pickup_qr(code=pickup_code(number=order.number, secret=order.pickup_secret), kind="svg")
    assert b"<svg" in svg


def test_the_ready_email_gives_the_short_code_for_staff_to_type(shop: Shop) -> None:
    order = ready_order(shop)

    send(order, NotificationKind.READY)

    assert pickup_short_code(secret=order.pickup_secret) in mail.outbox[0].body
    assert "Tienda Sol" in mail.outbox[0].body


def test_the_ready_email_of_a_pay_at_pickup_order_says_what_to_pay_and_by_when(shop: Shop) -> None:
    order = ready_order(shop)
    Order.objects.filter(pk=order.pk).update(language="en")
    due_by = timezone.localtime(Order.objects.get(pk=order.pk).payment_due_by)

    send(order, NotificationKind.READY)

    assert "You pay 19.95 EUR when you collect it" in mail.outbox[0].body
    assert due_by.strftime("%m/%d/%Y") in mail.outbox[0].body


def test_the_ready_email_shows_the_qr_inline_in_its_html_part(shop: Shop) -> None:
    order = ready_order(shop)

    send(order, NotificationKind.READY)

    mime = mail.outbox[0].message()
    [related] = [part for part in mime.walk() if part.get_content_type() == "multipart/related"]
    html, image = cast(list[StdlibEmailMessage], list(related.iter_parts()))
    assert html.get_content_type() == "text/html"
    content_id = str(image["Content-ID"]).strip("<>")
    assert f'src="cid:{content_id}"' in html.get_content()
    assert pickup_short_code(secret=order.pickup_secret) in html.get_content()
    assert image.get_content_type() == "image/png"
    assert image.get_content() == pickup_png(order)


def test_the_html_part_escapes_what_the_customer_typed(shop: Shop) -> None:
    order = place(shop)
    Order.objects.filter(pk=order.pk).update(customer_name="<b>Ana</b>")

    send(order)

    html = cast(StdlibEmailMessage, mail.outbox[0].message().get_body(preferencelist=("html",))).get_content()
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html
    assert "<b>Ana</b>" not in html


def test_other_emails_carry_no_qr(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    send(order)

    assert mail.outbox[0].attachments == []
    assert "multipart/related" not in {part.get_content_type() for part in mail.outbox[0].message().walk()}


# Other channels: the webhook to the integration of the channel that placed the order


def test_an_order_placed_through_whatsapp_is_notified_through_the_whatsapp_integration_not_by_email(
    shop: Shop,
) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    assert send(order) is True

    assert mail.outbox == []
    [delivery] = webhooks()
    assert (delivery.target, delivery.event, delivery.subscription_id) == (
        WHATSAPP_URL,
        NOTIFICATION_EVENT,
        hook.pk,
    )
    assert delivery.body["order"]["number"] == order.number
    assert delivery.body["kind"] == NotificationKind.PLACED
    assert {"kind": "phone", "value": order.phone} in delivery.body["recipient"]["identities"]
    assert delivery.body["subject"] == f"Hemos recibido su pedido {order.number}"
    sent = notification(order)
    assert (sent.status, sent.channel) == (NotificationStatus.SENT, Channel.WHATSAPP)


def test_the_whatsapp_integration_gets_only_the_identities_whatsapp_can_use(shop: Shop) -> None:
    hook = integration()
    BroughtCustomer.objects.create(client=hook.client, customer=shop.customer)  # it reaches her
    prefers(shop.customer, Channel.WHATSAPP)
    ContactPointFactory.create(customer=shop.customer, kind="whatsapp", value="+34600000002")
    order = place(shop, phone="", actor=placed_through(hook))

    send(order)

    [delivery] = webhooks()
    assert delivery.body["recipient"]["identities"] == [{"kind": "whatsapp", "value": "+34600000002"}]


def test_the_ready_message_through_whatsapp_carries_the_pickup_code_and_its_qr(shop: Shop) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    order = ready_order(shop, actor=placed_through(hook))

    send(order, NotificationKind.READY)

    [delivery] = webhooks().filter(body__kind=NotificationKind.READY)
    pickup = delivery.body["pickup"]
    assert pickup["code"] == pickup_code(number=order.number, secret=order.pickup_secret)
    assert pickup["short_code"] == pickup_short_code(secret=order.pickup_secret)
    assert base64.b64decode(pickup["qr_png"]) == pickup_png(order)


def test_the_whatsapp_message_is_posted_signed_to_the_integration_after_commit(
    shop: Shop, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    hook = integration(receiver.url)
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    with django_capture_on_commit_callbacks(execute=True):
        send(order)

    [request] = receiver.requests
    assert verifies(secret=hook.secret, body=request.body, header=request.headers["X-Signature-256"])
    assert request.headers["X-Event"] == NOTIFICATION_EVENT
    assert json.loads(request.body)["order"]["number"] == order.number
    assert webhooks().get().status == OutboxStatus.SENT


# What the integration learns of the customer: no more than it reaches (issue 15). A client that
# did not bring her gets the contact given with the order, not her other identities nor her id.


def test_an_integration_that_did_not_bring_the_customer_gets_only_the_contact_given_with_the_order(
    shop: Shop,
) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    ContactPointFactory.create(customer=shop.customer, kind="whatsapp", value="+34600000002")
    ContactPointFactory.create(customer=shop.customer, kind="phone", value="+34600000003")
    order = place(shop, actor=placed_through(hook))  # a customer the shop knew: not brought by it

    assert send(order) is True

    [delivery] = webhooks()
    assert delivery.body["recipient"]["identities"] == [{"kind": "phone", "value": order.phone}]
    assert delivery.body["recipient"]["customer"] is None


def test_a_marketplace_that_did_not_bring_the_customer_gets_only_the_email_and_phone_given_with_the_order(
    shop: Shop,
) -> None:
    hook = integration(MARKETPLACE_URL, channel=Channel.MARKETPLACE)  # a channel that takes any identity
    prefers(shop.customer, Channel.MARKETPLACE)
    ContactPointFactory.create(customer=shop.customer, kind="instagram", value="ana.garcia")
    order = place(shop, actor=placed_through(hook), email="pedidos-ana@example.com")

    send(order)

    [delivery] = webhooks()
    assert delivery.body["recipient"]["identities"] == [
        {"kind": "email", "value": "pedidos-ana@example.com"},
        {"kind": "phone", "value": order.phone},
    ]
    assert delivery.body["recipient"]["customer"] is None


def test_an_integration_that_did_not_bring_a_customer_without_contact_on_the_order_emails_nothing_to_it(
    shop: Shop,
) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    ContactPointFactory.create(customer=shop.customer, kind="whatsapp", value="+34600000002")
    order = place(shop, phone="", actor=placed_through(hook))

    send(order)

    assert not webhooks().exists()
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_an_integration_that_brought_the_customer_gets_her_identities_and_id(shop: Shop) -> None:
    hook = integration()
    BroughtCustomer.objects.create(client=hook.client, customer=shop.customer)
    prefers(shop.customer, Channel.WHATSAPP)
    ContactPointFactory.create(customer=shop.customer, kind="whatsapp", value="+34600000002")
    order = place(shop, actor=placed_through(hook))

    send(order)

    [delivery] = webhooks()
    assert delivery.body["recipient"]["identities"] == [
        {"kind": "whatsapp", "value": "+34600000002"},
        {"kind": "phone", "value": order.phone},
    ]
    assert delivery.body["recipient"]["customer"] == shop.customer.pk


def test_the_app_reaching_every_customer_gets_her_identities_and_id(shop: Shop) -> None:
    app_integration(shop)
    order = place(shop)  # placed by the web shop

    send(order)

    [delivery] = webhooks()
    assert delivery.body["recipient"]["identities"] == [{"kind": "app_device", "value": "device-ana-1"}]
    assert delivery.body["recipient"]["customer"] == shop.customer.pk


def test_a_whatsapp_customer_without_an_integration_is_emailed(shop: Shop) -> None:
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop)

    assert send(order) is True

    assert [message.to for message in mail.outbox] == [["ana@example.com"]]
    assert not webhooks().exists()
    assert notification(order).channel == Channel.EMAIL


def test_an_inactive_integration_is_no_integration(shop: Shop) -> None:
    hook = integration()
    WebhookSubscription.objects.filter(pk=hook.pk).update(is_active=False)
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    send(order)

    assert len(mail.outbox) == 1
    assert not webhooks().exists()


def test_the_integration_that_placed_the_order_does_not_carry_messages_for_another_preferred_channel(
    shop: Shop,
) -> None:
    hook = integration("https://social.example.com/hooks", channel=Channel.SOCIAL)
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    send(order)

    assert len(mail.outbox) == 1
    assert not webhooks().exists()


def test_a_whatsapp_customer_without_a_phone_is_emailed(shop: Shop) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, phone="", actor=placed_through(hook))

    send(order)

    assert len(mail.outbox) == 1
    assert not webhooks().exists()


# Who may carry a message: setting the customer's preferred channel to its own gives an
# integration nothing (issue 15, finding 1: a locker rerouted notifications, pickup code
# included, to itself).


@pytest.mark.parametrize("channel", [Channel.MARKETPLACE, Channel.LOCKER])
def test_an_integration_set_as_preferred_channel_does_not_get_the_pickup_code_of_an_order_it_did_not_place(
    shop: Shop, channel: str
) -> None:
    integration(MARKETPLACE_URL, channel=channel)
    prefers(shop.customer, channel)
    order = ready_order(shop)  # placed by the web shop

    assert send(order, NotificationKind.READY) is True

    assert not webhooks().exists()
    [message] = mail.outbox
    assert message.to == ["ana@example.com"]
    assert pickup_short_code(secret=order.pickup_secret) in message.body
    assert attachments(message)[f"{order.number}-pickup.png"] == ("image/png", pickup_png(order))
    assert notification(order, NotificationKind.READY).channel == Channel.EMAIL


def test_the_marketplace_that_placed_the_order_gets_its_ready_message_with_the_pickup_code(shop: Shop) -> None:
    hook = integration(MARKETPLACE_URL, channel=Channel.MARKETPLACE)
    prefers(shop.customer, Channel.MARKETPLACE)
    order = ready_order(shop, actor=placed_through(hook))

    assert send(order, NotificationKind.READY) is True

    assert mail.outbox == []
    [delivery] = webhooks()
    assert (delivery.target, delivery.subscription_id) == (MARKETPLACE_URL, hook.pk)
    assert delivery.body["pickup"]["code"] == pickup_code(number=order.number, secret=order.pickup_secret)
    assert notification(order, NotificationKind.READY).channel == Channel.MARKETPLACE


@pytest.mark.parametrize("channel", [Channel.MARKETPLACE, Channel.WHATSAPP, Channel.LOCKER])
def test_a_third_party_or_device_gets_no_message_of_an_order_it_did_not_place(shop: Shop, channel: str) -> None:
    integration(MARKETPLACE_URL, channel=channel)
    prefers(shop.customer, channel)
    order = place(shop)  # placed by the web shop: no pickup code in this message

    send(order)

    assert not webhooks().exists()
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_another_client_of_the_placing_channel_gets_no_pickup_code(shop: Shop) -> None:
    integration(MARKETPLACE_URL, channel=Channel.MARKETPLACE)
    placing = integration("https://other-marketplace.example.com/hooks", channel=Channel.MARKETPLACE)
    prefers(shop.customer, Channel.MARKETPLACE)
    order = ready_order(shop, actor=placed_through(placing))

    send(order, NotificationKind.READY)

    [delivery] = webhooks()
    assert delivery.subscription_id == placing.pk


@pytest.mark.parametrize("kind", [NotificationKind.PLACED, NotificationKind.SHIPPED, NotificationKind.DELIVERED])
def test_the_app_reaching_every_customer_carries_the_messages_without_a_code_of_orders_placed_elsewhere(
    shop: Shop, kind: str
) -> None:
    hook = app_integration(shop)
    order = order_notified(shop, kind)  # placed by the web shop

    assert send(order, kind) is True

    assert mail.outbox == []
    [delivery] = webhooks()
    assert (delivery.subscription_id, delivery.body["kind"]) == (hook.pk, kind)
    assert "pickup" not in delivery.body


def test_the_app_reaching_every_customer_does_not_get_the_pickup_code_of_an_order_placed_elsewhere(
    shop: Shop,
) -> None:
    app_integration(shop)
    order = ready_order(shop)  # placed by the web shop

    send(order, NotificationKind.READY)

    assert not webhooks().exists()
    [message] = mail.outbox
    assert pickup_short_code(secret=order.pickup_secret) in message.body


def test_the_app_that_placed_the_order_gets_its_pickup_code(shop: Shop) -> None:
    hook = app_integration(shop)
    order = ready_order(shop, actor=placed_through(hook))

    send(order, NotificationKind.READY)

    [delivery] = webhooks()
    assert delivery.subscription_id == hook.pk
    assert delivery.body["pickup"]["short_code"] == pickup_short_code(secret=order.pickup_secret)


def test_an_app_reaching_only_its_own_customers_gets_no_message_of_an_order_placed_elsewhere(shop: Shop) -> None:
    app_integration(shop, reach=Reach.OWN)
    order = place(shop)

    send(order)

    assert not webhooks().exists()
    assert len(mail.outbox) == 1


def test_a_customer_without_email_nor_integration_is_unreachable(shop: Shop) -> None:
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, email="")

    assert send(order) is False

    assert mail.outbox == []
    assert not webhooks().exists()
    unreachable = notification(order)
    assert (unreachable.status, unreachable.channel, unreachable.sent_at) == (NotificationStatus.UNREACHABLE, "", None)
    assert timeline(shop.customer, "notification_sent") == []
    assert sending(order).status == OutboxStatus.UNDELIVERABLE  # settled: never retried
    assert unreachable.message_id not in due_ids()


def test_a_message_whose_notification_is_gone_is_undeliverable(shop: Shop) -> None:
    order = place(shop)
    owed = sending(order)
    OrderNotification.objects.filter(pk=notification(order).pk).delete()

    assert outbox_send(message_id=owed.pk) is False

    assert mail.outbox == []
    assert OutboxMessage.objects.get(pk=owed.pk).status == OutboxStatus.UNDELIVERABLE


def test_an_erased_customer_is_not_messaged(shop: Shop) -> None:
    order = place(shop)
    Customer.objects.filter(pk=shop.customer.pk).update(erased_at=timezone.now())

    send(order)

    assert mail.outbox == []
    assert notification(order).status == NotificationStatus.UNREACHABLE


# The customer's timeline


def test_an_emailed_message_is_on_the_customers_timeline(shop: Shop) -> None:
    order = place(shop)

    send(order)

    [event] = timeline(shop.customer, "notification_sent")
    assert event.channel == Channel.EMAIL
    assert event.payload == {
        "order": order.number,
        "notification": NotificationKind.PLACED,
        "subject": f"Hemos recibido su pedido {order.number}",
        "language": "es",
    }


def test_a_whatsapp_message_is_on_the_customers_timeline_as_whatsapp(shop: Shop) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    send(order)

    [event] = timeline(shop.customer, "notification_sent")
    assert (event.channel, event.payload["order"]) == (Channel.WHATSAPP, order.number)


def test_the_order_events_are_on_the_customers_timeline(shop: Shop) -> None:
    order = order_notified(shop, NotificationKind.DELIVERED)

    kinds = [event.kind for event in CustomerEvent.objects.filter(customer=shop.customer).order_by("id")]

    assert kinds == ["order_placed", "order_paid", "order_shipped", "order_delivered"]
    assert {event.payload["order"] for event in CustomerEvent.objects.filter(customer=shop.customer)} == {order.number}


# Consents


def test_a_marketing_opt_out_does_not_stop_transactional_messages(shop: Shop) -> None:
    consent_record(
        customer=shop.customer,
        channel=Channel.EMAIL,
        purpose=ConsentPurpose.MARKETING,
        granted=False,
        source="unsubscribe link",
    )
    order = place(shop)

    assert send(order) is True

    assert len(mail.outbox) == 1


# Once, and retries


def test_sending_twice_sends_once(shop: Shop) -> None:
    order = place(shop)

    assert send(order) is True
    assert send(order) is False

    assert len(mail.outbox) == 1
    assert sending(order).attempts == 1
    assert len(timeline(shop.customer, "notification_sent")) == 1


def test_a_replayed_task_sends_once(shop: Shop) -> None:
    order = place(shop)

    outbox_send_task.delay(notification(order).message_id)
    outbox_send_task.delay(notification(order).message_id)

    assert len(mail.outbox) == 1


def test_the_former_task_still_queued_at_deploy_time_sends_the_notification_once(shop: Shop) -> None:
    from orders.tasks import order_notification_send

    order = place(shop)

    assert order_notification_send.name == "orders.tasks.order_notification_send"
    assert order_notification_send.delay(notification(order).pk).get() is True
    assert order_notification_send.delay(notification(order).pk).get() is False
    assert len(mail.outbox) == 1
    assert sending(order).status == OutboxStatus.SENT


def test_a_whatsapp_message_sent_twice_is_handed_over_once(shop: Shop) -> None:
    hook = integration()
    prefers(shop.customer, Channel.WHATSAPP)
    order = place(shop, actor=placed_through(hook))

    send(order)
    send(order)

    assert webhooks().count() == 1


def test_a_message_held_by_another_worker_is_left_until_its_lease_runs_out(shop: Shop) -> None:
    order = place(shop)
    held = sending(order)
    until = timezone.now() + timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=held.pk).update(attempts=1, leased_until=until, next_attempt_at=until)

    assert send(order) is False
    assert mail.outbox == []

    # That worker died: once its lease has run out, the message is due again.
    ran_out = timezone.now() - timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=held.pk).update(leased_until=ran_out, next_attempt_at=ran_out)
    assert send(order) is True
    assert len(mail.outbox) == 1
    assert (notification(order).status, sending(order).attempts) == (NotificationStatus.SENT, 2)


def test_an_smtp_failure_leaves_the_message_pending_with_the_attempt_counted(shop: Shop, refused_smtp: int) -> None:
    order = place(shop)

    assert send(order) is False

    pending = notification(order)
    assert (pending.status, sending(order).attempts, pending.sent_at) == (NotificationStatus.PENDING, 1, None)
    assert sending(order).last_error.startswith("ConnectionRefusedError")
    assert timeline(shop.customer, "notification_sent") == []


def test_a_failed_attempt_waits_for_the_backoff_before_the_next(shop: Shop, refused_smtp: int, settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 60
    order = place(shop)
    before = timezone.now()

    send(order)

    held = sending(order)
    assert held.leased_until is None  # no longer sending: waiting
    # The backoff, plus up to a tenth of jitter.
    assert before + timedelta(seconds=60) <= held.next_attempt_at <= timezone.now() + timedelta(seconds=67)
    assert held.pk not in due_ids()
    assert send(order) is False
    assert sending(order).attempts == 1


def test_a_retry_after_a_failed_attempt_sends_and_clears_the_error(shop: Shop, settings: Any) -> None:
    order = place(shop)
    locmem = settings.MAILERS
    with closed_port() as port:
        settings.MAILERS = {
            "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"port": port}}
        }
        send(order)
    settings.MAILERS = locmem
    OutboxMessage.objects.filter(pk=sending(order).pk).update(next_attempt_at=timezone.now())  # the backoff ran out

    assert send(order) is True

    sent = sending(order)
    assert (notification(order).status, sent.attempts, sent.last_error) == (NotificationStatus.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_the_message_fails_for_good_after_the_maximum_attempts(shop: Shop, refused_smtp: int, settings: Any) -> None:
    settings.ORDER_NOTIFICATION_MAX_ATTEMPTS = 3
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 0
    order = place(shop)

    statuses = []
    for _ in range(3):
        send(order)
        statuses.append(notification(order).status)

    assert statuses == [NotificationStatus.PENDING, NotificationStatus.PENDING, NotificationStatus.FAILED]
    assert send(order) is False
    failed = sending(order)
    assert (failed.status, failed.attempts, failed.leased_until) == (OutboxStatus.DEAD, 3, None)
    assert failed.pk not in due_ids()


def test_a_replayed_dead_letter_makes_the_notification_pending_and_sends_it(
    shop: Shop, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.ORDER_NOTIFICATION_MAX_ATTEMPTS = 1
    order = place(shop)
    locmem = settings.MAILERS
    with closed_port() as port:
        settings.MAILERS = {
            "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"port": port}}
        }
        send(order)
    settings.MAILERS = locmem
    assert (notification(order).status, sending(order).status) == (NotificationStatus.FAILED, OutboxStatus.DEAD)

    with django_capture_on_commit_callbacks(execute=True):
        outbox_replay(message=sending(order))
        assert notification(order).status == NotificationStatus.PENDING

    assert (notification(order).status, sending(order).status) == (NotificationStatus.SENT, OutboxStatus.SENT)
    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


# Written with the event, sent after commit


def test_placing_emails_only_once_the_order_commits(
    shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order = place(shop)
        assert notification(order).status == NotificationStatus.PENDING
        assert mail.outbox == []

    assert [message.subject for message in mail.outbox] == [f"Hemos recibido su pedido {order.number}"]
    assert notification(order).status == NotificationStatus.SENT


def test_a_rolled_back_shipment_writes_no_notification_and_sends_nothing(
    shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order = pay(shop, place(shop))

    def shipment_that_fails() -> None:
        with transaction.atomic():
            order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="TRK9")
            assert OrderNotification.objects.filter(order=order, kind=NotificationKind.SHIPPED).exists()
            raise RuntimeError("the label printer jammed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        shipment_that_fails()

    assert callbacks == []
    assert not OrderNotification.objects.filter(order=order, kind=NotificationKind.SHIPPED).exists()
    assert mail.outbox == []


def test_a_message_is_owed_once_per_kind(shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    order = place(shop)

    with django_capture_on_commit_callbacks() as callbacks:
        again = order_notification_due(order, kind=NotificationKind.PLACED)

    assert again == notification(order)
    assert callbacks == []
    assert OrderNotification.objects.filter(order=order).count() == 1
    assert OutboxMessage.objects.filter(kind=OutboxKind.ORDER_NOTIFICATION).count() == 1


def test_the_notification_is_owed_as_an_outbox_message_in_the_orders_transaction(shop: Shop) -> None:
    order = place(shop)

    owed = sending(order)

    assert (owed.kind, owed.event, owed.target, owed.status) == (
        OutboxKind.ORDER_NOTIFICATION,
        NotificationKind.PLACED,
        f"order:{order.number}",
        OutboxStatus.PENDING,
    )
    assert owed.body == {"order": order.number, "notification": NotificationKind.PLACED}


# The sweeper


def test_the_sweeper_finds_only_the_messages_due(shop: Shop) -> None:
    now = timezone.now()
    orders = {name: place(shop) for name in ("fresh", "lost", "lease_over", "held", "sent", "failed")}
    rows = {name: sending(order) for name, order in orders.items()}
    old = now - timedelta(minutes=5)
    OutboxMessage.objects.filter(pk__in=[row.pk for name, row in rows.items() if name != "fresh"]).update(
        created_at=old, next_attempt_at=old
    )
    OutboxMessage.objects.filter(pk=rows["lease_over"].pk).update(
        attempts=1, leased_until=now - timedelta(seconds=1), next_attempt_at=now - timedelta(seconds=1)
    )
    OutboxMessage.objects.filter(pk=rows["held"].pk).update(
        attempts=1, leased_until=now + timedelta(minutes=5), next_attempt_at=now + timedelta(minutes=5)
    )
    OutboxMessage.objects.filter(pk=rows["sent"].pk).update(status=OutboxStatus.SENT, sent_at=now)
    OutboxMessage.objects.filter(pk=rows["failed"].pk).update(status=OutboxStatus.DEAD)

    assert set(due_ids()) == {rows["lost"].pk, rows["lease_over"].pk}


def test_the_sweeper_gives_the_oldest_first_up_to_the_limit(shop: Shop) -> None:
    rows = [sending(place(shop)) for _ in range(3)]
    for age, row in zip((10, 30, 20), rows, strict=True):
        at = timezone.now() - timedelta(minutes=age)
        OutboxMessage.objects.filter(pk=row.pk).update(created_at=at, next_attempt_at=at)

    assert due_ids(limit=2) == [rows[1].pk, rows[2].pk]


def test_the_sweeper_task_sends_what_is_due(shop: Shop) -> None:
    lost, fresh = place(shop), place(shop)
    OutboxMessage.objects.filter(pk=sending(lost).pk).update(created_at=timezone.now() - timedelta(minutes=5))

    # Tasks run eagerly here: what the sweeper enqueues is done by the time it returns.
    assert outbox_sweep() == 1

    assert [message.subject for message in mail.outbox] == [f"Hemos recibido su pedido {lost.number}"]
    assert notification(lost).status == NotificationStatus.SENT
    assert notification(fresh).status == NotificationStatus.PENDING


def test_the_shipped_webhook_lists_every_parcel_with_its_tracking_number(shop: Shop) -> None:
    app_integration(shop)
    order = ship(shop, pay(shop, place(shop)), tracking_number="TRK9")

    assert send(order, NotificationKind.SHIPPED) is True

    [delivery] = webhooks().filter(body__kind=NotificationKind.SHIPPED)
    assert delivery.body["order"]["parcels"] == [
        {"parcel": 1, "status": "shipped", "carrier": "SEUR", "tracking_number": "TRK9"}
    ]


# The cancellation: why, and what is given back


def test_a_cancellation_by_staff_tells_the_customer_why_and_what_is_given_back(shop: Shop) -> None:
    order = order_notified(shop, NotificationKind.CANCELLED)
    Order.objects.filter(pk=order.pk).update(language="en")

    assert send(order, NotificationKind.CANCELLED) is True

    [message] = mail.outbox
    assert f"Your order {order.number} was cancelled: Out of stock." in message.body
    assert f"We give back {order.total} {order.currency} the way you paid" in message.body


def test_an_unpaid_order_cancelled_by_staff_is_told_without_a_refund(shop: Shop) -> None:
    order = order_cancel(order=place(shop), actor=staff_actor(Role.AGENT))
    Order.objects.filter(pk=order.pk).update(language="en")

    assert send(order, NotificationKind.CANCELLED) is True

    [message] = mail.outbox
    assert f"Your order {order.number} was cancelled." in message.body
    assert "give back" not in message.body


def test_a_customer_cancelling_through_her_channel_is_answered_by_it_not_told_again(shop: Shop) -> None:
    order = order_cancel(order=pay(shop, place(shop)), actor=shop.web)

    assert not OrderNotification.objects.filter(order=order, kind=NotificationKind.CANCELLED).exists()
