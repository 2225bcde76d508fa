"""Order notifications and expiry in a real Celery worker, through Redis, to a real SMTP server and HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.channels import Channel
from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import webhook_subscription_create
from customers.models import Customer
from inventory.models import StockLevel
from orders.codes import pickup_code, pickup_qr
from orders.models import NotificationKind, NotificationStatus, Order, OrderNotification, OrderStatus
from orders.services import Actor, order_make_ready
from orders.services.notifications import NOTIFICATION_EVENT
from orders.tasks import orders_expire_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.factories import channel_client
from tests.receivers import Receiver, verifies
from tests.scenarios import Shop, place
from tests.smtp import SmtpServer, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT = 60
# The worker's own texts in English, whatever the catalogs hold: the tests compare them.
ENGLISH = {"LANGUAGE_CODE": "en"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def status_of(order: Order, kind: str = NotificationKind.PLACED) -> str:
    row = OrderNotification.objects.filter(order=order, kind=kind).first()
    return row.status if row is not None else ""


def level(location: Any, variant: Any) -> tuple[int, int]:
    stock = StockLevel.objects.get(location=location, variant=variant)
    return stock.on_hand, stock.reserved


def test_a_real_worker_emails_a_placed_orders_notification_through_a_real_smtp_server(
    shop: Shop, smtp: SmtpServer
) -> None:
    with running_worker("celery", extra_env=smtp.env), eager_off():
        # The order's commit enqueues the send: nothing else asks the worker.
        order = place(shop)
        assert wait_until(
            lambda: status_of(order) == NotificationStatus.SENT and len(smtp.messages) == 1, timeout=WORKER_TIMEOUT
        )

    [mail] = smtp.messages
    assert mail.rcpt_tos == ("ana@example.com",)
    assert order.number in str(mail.message["Subject"])
    sent = OrderNotification.objects.get(order=order)
    assert (sent.channel, sent.message.attempts) == (Channel.EMAIL, 1)


def test_a_real_worker_emails_the_ready_notification_with_the_qr_code(shop: Shop, smtp: SmtpServer) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    with running_worker("celery", extra_env=smtp.env), eager_off():
        order_make_ready(order=order, actor=shop.store_actor)
        assert wait_until(lambda: status_of(order, NotificationKind.READY) == NotificationStatus.SENT, WORKER_TIMEOUT)

    [mail] = [m for m in smtp.messages if order.number in str(m.message["Subject"])]
    code = pickup_code(number=order.number, secret=order.pickup_secret)
    attached = mail.attachments()
    assert attached[f"{order.number}-pickup.png"] == ("image/png", pickup_qr(code=code, kind="png"))
    assert attached[f"{order.number}-pickup.svg"] == ("image/svg+xml", pickup_qr(code=code, kind="svg"))


def test_a_real_worker_hands_a_whatsapp_customers_notification_signed_to_a_real_receiver(
    shop: Shop, smtp: SmtpServer, receiver: Receiver
) -> None:
    client, _token = channel_client(Channel.WHATSAPP, name="WhatsApp Business")
    hook = webhook_subscription_create(client=client, event=NOTIFICATION_EVENT, url=receiver.url)
    Customer.objects.filter(pk=shop.customer.pk).update(preferred_contact_channel=Channel.WHATSAPP)

    with running_worker("celery", extra_env=smtp.env), eager_off():
        # Placed through the WhatsApp integration: only the channel that placed an order carries its messages.
        order = place(shop, actor=Actor(channel=Channel.WHATSAPP, client=client))
        assert wait_until(
            lambda: OutboxMessage.objects.filter(
                kind=OutboxKind.WEBHOOK, event=NOTIFICATION_EVENT, status=OutboxStatus.SENT
            ).exists(),
            timeout=WORKER_TIMEOUT,
        )

    [request] = receiver.requests
    assert verifies(secret=hook.secret, body=request.body, header=request.headers["X-Signature-256"])
    body = json.loads(request.body)
    assert (body["order"]["number"], body["kind"], body["channel"]) == (
        order.number,
        NotificationKind.PLACED,
        Channel.WHATSAPP,
    )
    assert {"kind": "phone", "value": order.phone} in body["recipient"]["identities"]
    assert smtp.messages == []
    assert OrderNotification.objects.get(order=order).channel == Channel.WHATSAPP


def test_a_real_worker_running_the_expiry_sweeper_cancels_an_overdue_order_and_releases_its_stock(
    shop: Shop, smtp: SmtpServer
) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])
    Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now() - timedelta(minutes=1))
    assert level(shop.warehouse, shop.shirt) == (50, 2)

    # The beat schedule enqueues the sweeper; the sweeper enqueues one expiry per order.
    with running_worker("celery", extra_env={**smtp.env, **ENGLISH}), eager_off():
        orders_expire_sweep.delay()
        assert wait_until(
            lambda: Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED, timeout=WORKER_TIMEOUT
        )

    cancelled = Order.objects.get(pk=order.pk)
    assert cancelled.cancel_reason == "Not paid in time"
    assert level(shop.warehouse, shop.shirt) == (50, 0)
    assert list(cancelled.history.order_by("id").values_list("event", flat=True))[-1] == "cancelled"
