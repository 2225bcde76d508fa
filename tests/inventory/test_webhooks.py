"""Channels subscribed to stock changes get them pushed, signed, through the outbox."""

import json
from typing import Any

import pytest
from django.db import transaction

from config.models import OutboxMessage, OutboxStatus, WebhookSubscription
from config.outbox import webhook_subscription_create
from inventory.feed import STOCK_CHANGED
from inventory.services import StockLine, stock_receive, stock_reserve
from inventory.tasks import stock_changes_dispatch
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.factories import LocationFactory, VariantFactory, channel_client
from tests.receivers import Receiver, verifies


def subscribe(url: str) -> WebhookSubscription:
    client, _ = channel_client("marketplace", name="Marketplace")
    subscription = webhook_subscription_create(client=client, event=STOCK_CHANGED, url=url)
    stock_changes_dispatch()  # the first dispatch sets where this subscriber starts: now
    return WebhookSubscription.objects.get(pk=subscription.pk)


def changes_received(receiver: Receiver) -> list[dict[str, Any]]:
    return [change for request in receiver.requests for change in json.loads(request.body)["changes"]]


def dispatched_until_received(receiver: Receiver, count: int = 1) -> list[dict[str, Any]]:
    """Dispatch as the beat sweeper does until `count` changes arrived. The feed waits for every
    older transaction in the database cluster, so a parallel test run can delay it a moment."""
    wait_until(lambda: stock_changes_dispatch() >= 0 and len(changes_received(receiver)) >= count, timeout=30)
    return changes_received(receiver)


@pytest.mark.django_db(transaction=True)
def test_a_stock_change_is_pushed_signed_to_subscribers(receiver: Receiver) -> None:
    subscription = subscribe(receiver.url)
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="TEE-M")

    stock_receive(location=store, lines=[(variant, 4)], reference="ALB-1")  # commits: dispatch runs eagerly

    assert [
        (c["sku"], c["location"], c["on_hand_change"], c["available"]) for c in dispatched_until_received(receiver)
    ] == [("TEE-M", "MAD", 4, 4)]
    request = receiver.requests[0]
    assert request.headers["X-Event"] == STOCK_CHANGED
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])


@pytest.mark.django_db(transaction=True)
def test_subscribers_do_not_get_order_numbers(receiver: Receiver) -> None:
    # Subscribers are channels: another channel's order number must not reach them.
    subscribe(receiver.url)
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="TEE-M")
    stock_receive(location=store, lines=[(variant, 3)], reference="ALB-1")
    stock_reserve(lines=[StockLine(store, variant, 1)], reference="ORDER-1234")

    changes = dispatched_until_received(receiver, count=2)

    assert [(c["reserved_change"], c["reference"]) for c in changes] == [(0, ""), (1, "")]
    assert all(b"ORDER-1234" not in request.body for request in receiver.requests)
    assert all("ORDER-1234" not in json.dumps(d.body) for d in OutboxMessage.objects.all())


@pytest.mark.django_db(transaction=True)
def test_changes_before_the_subscription_are_not_sent(receiver: Receiver) -> None:
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="OLD")
    stock_receive(location=store, lines=[(variant, 1)])

    subscribe(receiver.url)
    stock_changes_dispatch()

    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_dispatching_again_sends_nothing_twice(receiver: Receiver) -> None:
    subscribe(receiver.url)
    stock_receive(location=LocationFactory.create(code="MAD"), lines=[(VariantFactory.create(sku="A"), 1)])

    dispatched_until_received(receiver)
    stock_changes_dispatch()
    stock_changes_dispatch()

    assert [c["sku"] for c in changes_received(receiver)] == ["A"]
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_never_sent(receiver: Receiver) -> None:
    subscribe(receiver.url)
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="GHOST")

    def order_that_fails() -> None:
        with transaction.atomic():
            stock_receive(location=store, lines=[(variant, 9)])
            raise RuntimeError("the order failed")

    with pytest.raises(RuntimeError):
        order_that_fails()
    stock_changes_dispatch()

    assert receiver.requests == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_pushes_stock_changes_to_a_real_receiver(receiver: Receiver) -> None:
    subscription = subscribe(receiver.url)
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="TEE-M")

    with running_worker("celery"), eager_off():
        stock_receive(location=store, lines=[(variant, 2)], reference="ALB-2")
        # The commit enqueues a dispatch; the beat sweeper's would follow if the feed was held back.
        assert wait_until(lambda: bool(stock_changes_dispatch.delay()) and len(receiver.requests) >= 1, timeout=30)
        assert wait_until(lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 1)

    assert [c["sku"] for c in changes_received(receiver)] == ["TEE-M"]
    request = receiver.requests[0]
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])
