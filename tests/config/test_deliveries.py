"""Outbound deliveries (webhooks) against a real HTTP receiver on localhost."""

import json
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.channels import Channel
from config.deliveries import (
    delivery_backoff,
    delivery_body_bytes,
    delivery_enqueue,
    delivery_replay,
    delivery_send,
    delivery_signature,
    webhook_subscription_create,
)
from config.exceptions import ApplicationError, ConflictError
from config.models import DeliveryStatus, OutboundDelivery, WebhookSubscription
from config.selectors import delivery_ids_due, webhook_subscriptions_active
from config.tasks import deliveries_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.concurrency import run_at_once
from tests.factories import channel_client
from tests.receivers import Receiver, verifies

SECRET = "s3cr3t-" + "a" * 57
DELIVERIES = "/admin/config/outbounddelivery/"
SUBSCRIPTIONS = "/admin/config/webhooksubscription/"


def closed_port_url() -> str:
    """A localhost URL where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def pending(target_url: str, **fields: Any) -> OutboundDelivery:
    values: dict[str, Any] = {
        "target_url": target_url,
        "secret": SECRET,
        "event": "stock.changed",
        "body": {"sku": "TEE-M", "available": 3},
        "next_attempt_at": timezone.now(),
    }
    return OutboundDelivery.objects.create(**(values | fields))


def refreshed(delivery: OutboundDelivery) -> OutboundDelivery:
    return OutboundDelivery.objects.get(pk=delivery.pk)


# Subscriptions


@pytest.mark.django_db
def test_subscription_gets_its_own_signing_secret() -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    one = webhook_subscription_create(client=client, event="stock.changed", url="https://a.example.com/hook")
    two = webhook_subscription_create(client=client, event="stock.changed", url="https://b.example.com/hook")
    assert len(one.secret) == 64
    int(one.secret, 16)
    assert one.secret != two.secret
    assert one.is_active
    assert one.cursor == ""


@pytest.mark.django_db
def test_subscribing_twice_to_the_same_event_and_url_is_refused() -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    webhook_subscription_create(client=client, event="stock.changed", url="https://a.example.com/hook")
    with pytest.raises(ConflictError) as error:
        webhook_subscription_create(client=client, event="stock.changed", url="https://a.example.com/hook")
    assert error.value.code == "duplicate_subscription"
    assert WebhookSubscription.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "not a url", "http://"])
def test_subscription_to_a_non_http_url_is_refused(url: str) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    with pytest.raises(ApplicationError) as error:
        webhook_subscription_create(client=client, event="stock.changed", url=url)
    assert error.value.code == "invalid_target_url"
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_active_subscriptions_leave_out_inactive_ones_and_inactive_clients() -> None:
    live, _ = channel_client(Channel.MARKETPLACE, name="Live")
    retired, _ = channel_client(Channel.APP, name="Retired")
    kept = webhook_subscription_create(client=live, event="stock.changed", url="https://a.example.com/hook")
    paused = webhook_subscription_create(client=live, event="stock.changed", url="https://b.example.com/hook")
    webhook_subscription_create(client=retired, event="stock.changed", url="https://c.example.com/hook")
    webhook_subscription_create(client=live, event="invoice.issued", url="https://a.example.com/hook")
    WebhookSubscription.objects.filter(pk=paused.pk).update(is_active=False)
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    assert list(webhook_subscriptions_active(event="stock.changed")) == [kept]


# Sending


@pytest.mark.django_db
def test_send_posts_the_exact_body_signed_with_the_secret(receiver: Receiver) -> None:
    delivery = pending(receiver.url, body={"sku": "TEE-M", "location": "MAD-01", "available": 3})
    delivery_send(delivery_id=delivery.pk)

    [request] = receiver.requests
    assert request.path == "/hooks/stock"
    assert request.body == b'{"sku":"TEE-M","location":"MAD-01","available":3}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Event"] == "stock.changed"
    assert request.headers["X-Delivery-Id"] == str(delivery.pk)
    signature = request.headers["X-Signature-256"]
    assert verifies(secret=SECRET, body=request.body, header=signature)
    assert signature == delivery_signature(secret=SECRET, body=request.body)
    assert not verifies(secret=SECRET, body=request.body.replace(b"3", b"4"), header=signature)
    assert not verifies(secret="another secret", body=request.body, header=signature)


@pytest.mark.django_db
def test_a_2xx_answer_marks_the_delivery_delivered(receiver: Receiver) -> None:
    receiver.answer(204)
    delivery = pending(receiver.url)
    delivery_send(delivery_id=delivery.pk)
    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.delivered_at is not None
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 204, "")


@pytest.mark.django_db
def test_decimals_and_dates_in_the_body_are_sent_as_json_strings(receiver: Receiver) -> None:
    at = timezone.now()
    delivery = delivery_enqueue(
        target_url=receiver.url, secret=SECRET, event="invoice.issued", body={"total": Decimal("12.10"), "at": at}
    )
    delivery_send(delivery_id=delivery.pk)
    [request] = receiver.requests
    sent = json.loads(request.body)
    assert sent["total"] == "12.10"
    assert sent["at"].startswith(at.isoformat()[:19])
    assert request.body == delivery_body_bytes(body=refreshed(delivery).body)


@pytest.mark.django_db
def test_a_500_keeps_the_delivery_pending_and_retries_after_the_backoff(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    receiver.answer(500)
    delivery = pending(receiver.url)
    before = timezone.now()
    delivery_send(delivery_id=delivery.pk)
    after = timezone.now()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert "HTTP 500" in delivery.last_error
    assert "receiver says no" in delivery.last_error
    assert before + timedelta(seconds=30) <= delivery.next_attempt_at <= after + timedelta(seconds=33)
    assert delivery.delivered_at is None


@pytest.mark.django_db
def test_a_refused_connection_keeps_the_delivery_pending_and_retries_after_the_backoff(settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    delivery = pending(closed_port_url())
    before = timezone.now()
    delivery_send(delivery_id=delivery.pk)

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, None)
    assert "refused" in delivery.last_error.lower()
    assert delivery.next_attempt_at >= before + timedelta(seconds=30)


@pytest.mark.django_db
def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_attempt(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.5
    delivery = pending(receiver.url)
    started = time.monotonic()
    delivery_send(delivery_id=delivery.pk)
    assert time.monotonic() - started < 1.4
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert "timed out" in delivery.last_error.lower()


@pytest.mark.django_db
def test_a_redirect_is_a_failed_attempt_not_followed(receiver: Receiver) -> None:
    receiver.answer(302)
    delivery = pending(receiver.url)
    delivery_send(delivery_id=delivery.pk)
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 302)
    assert len(receiver.requests) == 1


def test_backoff_doubles_from_the_base_and_stops_at_six_hours(settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    delays = [delivery_backoff(attempts=n).total_seconds() for n in range(1, 6)]
    assert delays == [30, 60, 120, 240, 480]
    assert delivery_backoff(attempts=12) == timedelta(hours=6)
    assert delivery_backoff(attempts=1000) == timedelta(hours=6)


@pytest.mark.django_db
def test_the_last_failed_attempt_makes_a_dead_letter(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    receiver.answer(500, 502, 503, 200)
    delivery = pending(receiver.url)
    for _ in range(3):
        OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        delivery_send(delivery_id=delivery.pk)

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DEAD, 3, 503)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    delivery_send(delivery_id=delivery.pk)
    assert len(receiver.requests) == 3
    assert delivery.pk not in delivery_ids_due()


@pytest.mark.django_db
def test_replay_makes_a_dead_letter_pending_and_due_again(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = pending(receiver.url, status=DeliveryStatus.DEAD, attempts=8, last_status_code=500)
    with django_capture_on_commit_callbacks() as callbacks:
        replayed = delivery_replay(delivery=delivery)
    assert len(callbacks) == 1
    assert (replayed.status, replayed.attempts) == (DeliveryStatus.PENDING, 0)
    assert replayed.next_attempt_at <= timezone.now()
    assert delivery.pk in delivery_ids_due()


@pytest.mark.django_db
def test_a_replayed_dead_letter_is_delivered_with_the_same_signature(
    receiver: Receiver, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 1
    receiver.answer(500)
    delivery = pending(receiver.url)
    delivery_send(delivery_id=delivery.pk)
    assert refreshed(delivery).status == DeliveryStatus.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        delivery_replay(delivery=refreshed(delivery))

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Signature-256"] == second.headers["X-Signature-256"]
    assert first.headers["X-Delivery-Id"] == second.headers["X-Delivery-Id"] == str(delivery.pk)


@pytest.mark.django_db
def test_a_delivered_delivery_cannot_be_replayed(receiver: Receiver) -> None:
    delivery = pending(receiver.url)
    delivery_send(delivery_id=delivery.pk)
    with pytest.raises(ConflictError) as error:
        delivery_replay(delivery=refreshed(delivery))
    assert error.value.code == "already_delivered"
    assert refreshed(delivery).status == DeliveryStatus.DELIVERED


# Idempotence: a task may run twice, early, or for a row already done.


@pytest.mark.django_db
def test_send_before_the_next_attempt_is_due_does_nothing(receiver: Receiver) -> None:
    delivery = pending(receiver.url, next_attempt_at=timezone.now() + timedelta(minutes=5))
    delivery_send(delivery_id=delivery.pk)
    assert receiver.requests == []
    assert refreshed(delivery).attempts == 0


@pytest.mark.django_db
@pytest.mark.parametrize("status", [DeliveryStatus.DELIVERED, DeliveryStatus.DEAD])
def test_send_of_a_delivered_or_dead_delivery_does_nothing(receiver: Receiver, status: str) -> None:
    delivered_at = timezone.now() if status == DeliveryStatus.DELIVERED else None
    delivery = pending(receiver.url, status=status, attempts=1, delivered_at=delivered_at)
    delivery_send(delivery_id=delivery.pk)
    assert receiver.requests == []
    assert refreshed(delivery).attempts == 1


@pytest.mark.django_db
def test_sending_twice_posts_once(receiver: Receiver) -> None:
    delivery = pending(receiver.url)
    delivery_send(delivery_id=delivery.pk)
    delivery_send(delivery_id=delivery.pk)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_send_of_an_unknown_id_does_nothing() -> None:
    delivery_send(delivery_id=987654321)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_delivery_locked_by_another_sender_is_skipped(receiver: Receiver) -> None:
    delivery = pending(receiver.url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            OutboundDelivery.objects.select_for_update().get(pk=delivery.pk)
            locked.set()
            release.wait(timeout=10)

    def send_while_locked() -> None:
        assert locked.wait(timeout=10)
        try:
            delivery_send(delivery_id=delivery.pk)  # skip_locked: returns at once, sends nothing
        finally:
            release.set()

    results = run_at_once([hold_the_row, send_while_locked])
    assert results == [None, None]
    assert receiver.requests == []
    assert refreshed(delivery).attempts == 0


# Enqueueing and the sweeper


@pytest.mark.django_db
def test_enqueue_sends_only_once_the_transaction_commits(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url=receiver.url)
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = delivery_enqueue(
            target_url=subscription.url,
            secret=subscription.secret,
            event=subscription.event,
            body={"sku": "TEE-M", "available": 2},
            subscription=subscription,
        )
        assert receiver.requests == []
    assert len(callbacks) == 1
    assert receiver.requests == []
    assert refreshed(delivery).status == DeliveryStatus.PENDING

    callbacks[0]()  # the commit: the task runs (eagerly in unit tests)

    assert refreshed(delivery).status == DeliveryStatus.DELIVERED
    [request] = receiver.requests
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])


@pytest.mark.django_db
def test_enqueue_refuses_a_non_http_target() -> None:
    with pytest.raises(ApplicationError) as error:
        delivery_enqueue(target_url="file:///etc/passwd", secret=SECRET, event="stock.changed", body={})
    assert error.value.code == "invalid_target_url"
    assert not OutboundDelivery.objects.exists()


@pytest.mark.django_db
def test_the_sweeper_sends_exactly_the_due_deliveries(receiver: Receiver) -> None:
    now = timezone.now()
    due = [pending(receiver.url, next_attempt_at=now - timedelta(minutes=m)) for m in (1, 30)]
    pending(receiver.url, next_attempt_at=now + timedelta(minutes=5))
    pending(receiver.url, status=DeliveryStatus.DEAD, next_attempt_at=now - timedelta(hours=1))
    pending(receiver.url, status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=now)

    assert deliveries_sweep() == 2

    assert sorted(int(r.headers["X-Delivery-Id"]) for r in receiver.requests) == sorted(d.pk for d in due)
    assert deliveries_sweep() == 0


@pytest.mark.django_db
def test_due_ids_come_oldest_first_up_to_the_limit() -> None:
    now = timezone.now()
    newer = pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=1))
    oldest = pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=10))
    older = pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=5))
    assert delivery_ids_due() == [oldest.pk, older.pk, newer.pk]
    assert delivery_ids_due(limit=2) == [oldest.pk, older.pk]


@pytest.mark.django_db
def test_the_database_refuses_a_delivered_row_without_its_time() -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        pending("https://example.com/hook", status=DeliveryStatus.DELIVERED, delivered_at=None)


# A real worker, through Redis, against the test database


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_signed_post_after_commit(receiver: Receiver) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url=receiver.url)
    with running_worker("celery"), eager_off():
        with transaction.atomic():
            delivery = delivery_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=subscription.event,
                body={"sku": "TEE-M", "available": 7},
                subscription=subscription,
            )
        assert wait_until(lambda: refreshed(delivery).status == DeliveryStatus.DELIVERED)

    [request] = receiver.requests
    assert json.loads(request.body) == {"sku": "TEE-M", "available": 7}
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])
    assert refreshed(delivery).attempts == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_failed_delivery_when_the_sweeper_finds_it_due(receiver: Receiver) -> None:
    receiver.answer(500)
    with running_worker("celery", extra_env={"OUTBOUND_BACKOFF_BASE_SECONDS": "0.5"}), eager_off():
        with transaction.atomic():
            delivery = delivery_enqueue(target_url=receiver.url, secret=SECRET, event="stock.changed", body={"n": 1})
        assert wait_until(lambda: refreshed(delivery).attempts == 1)
        failed = refreshed(delivery)
        assert (failed.status, failed.last_status_code) == (DeliveryStatus.PENDING, 500)
        assert wait_until(lambda: timezone.now() >= failed.next_attempt_at, timeout=5)

        deliveries_sweep.delay()

        assert wait_until(lambda: refreshed(delivery).status == DeliveryStatus.DELIVERED)

    assert refreshed(delivery).attempts == 2
    first, second = receiver.requests
    assert first.body == second.body
    assert verifies(secret=SECRET, body=second.body, header=second.headers["X-Signature-256"])


# Admin


@pytest.mark.django_db
def test_admin_lists_deliveries_and_shows_one_read_only(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE, name="Marketplace")
    subscription = webhook_subscription_create(client=client, event="stock.changed", url="https://m.example.com/h")
    delivery = pending("https://m.example.com/h", subscription=subscription, status=DeliveryStatus.DEAD)

    page = admin_client.get(DELIVERIES, {"status": "dead", "q": "m.example.com"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [delivery]
    assert "Marketplace" in page.content.decode()
    detail = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert detail.status_code == 200
    assert b'name="target_url"' not in detail.content  # read-only: no input
    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403


@pytest.mark.django_db
def test_admin_replay_action_sends_dead_letters_again(
    admin_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    dead = pending(receiver.url, status=DeliveryStatus.DEAD, attempts=8)
    done = pending(receiver.url, status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(DELIVERIES, {"action": "replay", "_selected_action": [dead.pk, done.pk]})

    assert response.status_code == 302
    assert refreshed(dead).status == DeliveryStatus.DELIVERED
    assert refreshed(done).attempts == 1
    assert [r.headers["X-Delivery-Id"] for r in receiver.requests] == [str(dead.pk)]


@pytest.mark.django_db
def test_admin_deliveries_changelist_queries_do_not_grow_with_rows(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url="https://m.example.com/h")

    def add(n: int) -> None:
        OutboundDelivery.objects.bulk_create(
            OutboundDelivery(
                subscription=subscription, target_url=subscription.url, secret=SECRET, event="stock.changed", body={}
            )
            for _ in range(n)
        )

    add(5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(DELIVERIES).status_code == 200
    add(45)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(DELIVERIES)
    assert len(response.context["cl"].result_list) == 50
    assert len(many) == len(few)


@pytest.mark.django_db
def test_admin_creates_a_subscription_with_a_secret_and_shows_it(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE, name="Marketplace")
    response = admin_client.post(
        f"{SUBSCRIPTIONS}add/", {"client": client.pk, "event": "stock.changed", "url": "https://m.example.com/h"}
    )
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert len(subscription.secret) == 64
    assert admin_client.get(SUBSCRIPTIONS, {"q": "Marketplace"}).status_code == 200
    detail = admin_client.get(f"{SUBSCRIPTIONS}{subscription.pk}/change/")
    assert subscription.secret in detail.content.decode()


@pytest.mark.django_db
def test_admin_edit_into_a_duplicate_subscription_is_a_form_error(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE, name="Marketplace")
    webhook_subscription_create(client=client, event="stock.changed", url="https://a.example.com/h")
    other = webhook_subscription_create(client=client, event="stock.changed", url="https://b.example.com/h")
    response = admin_client.post(
        f"{SUBSCRIPTIONS}{other.pk}/change/",
        {"client": client.pk, "event": "stock.changed", "url": "https://a.example.com/h", "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert WebhookSubscription.objects.get(pk=other.pk).url == "https://b.example.com/h"
