"""The outbox: claim, lease, backoff, dead letters, replay, the sweeper; the webhook and e-mail transports.

Webhooks are sent to a real HTTP receiver on localhost. The machinery's own rules are shown
with a stand-in handler put in place of one kind's for the test (`stand_in`).
"""

import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage as StdlibEmailMessage
from typing import Any, cast

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from config.channels import Channel
from config.exceptions import ApplicationError, ConflictError
from config.models import OutboxKind, OutboxMessage, OutboxStatus, WebhookSubscription
from config.outbox import (
    SWEEP_GRACE,
    Email,
    EmailHandler,
    OutboxDefer,
    OutboxHandler,
    Outcome,
    email_message,
    machinery,
    outbox_backoff,
    outbox_enqueue,
    outbox_expedite,
    outbox_handler_register,
    outbox_kinds_without_handler,
    outbox_replay,
    outbox_send,
    webhook_body_bytes,
    webhook_enqueue,
    webhook_signature,
    webhook_subscription_create,
)
from config.selectors import outbox_message_ids_due, webhook_subscriptions_active
from config.tasks import outbox_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.concurrency import run_at_once
from tests.factories import channel_client
from tests.receivers import Receiver, verifies

SECRET = "s3cr3t-" + "a" * 57
OUTBOX = "/admin/config/outboxmessage/"
SUBSCRIPTIONS = "/admin/config/webhooksubscription/"
# The kind the stand-in handler takes over in the machinery's tests.
STAND_IN_KIND = OutboxKind.INVOICE_EMAIL


def closed_port_url() -> str:
    """A localhost URL where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def pending(target_url: str, **fields: Any) -> OutboxMessage:
    """A webhook owed (written directly: no task enqueued)."""
    values: dict[str, Any] = {
        "kind": OutboxKind.WEBHOOK,
        "target": target_url,
        "secret": SECRET,
        "event": "stock.changed",
        "body": {"sku": "TEE-M", "available": 3},
        "next_attempt_at": timezone.now(),
    }
    return OutboxMessage.objects.create(**(values | fields))


def refreshed(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def lost(message: OutboxMessage) -> OutboxMessage:
    """As if its task was lost long ago: older than the sweeper's grace."""
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - SWEEP_GRACE - timedelta(seconds=1))
    return refreshed(message)


def due_ids(limit: int = 500) -> list[int]:
    return outbox_message_ids_due(grace=SWEEP_GRACE, limit=limit)


class StandIn(OutboxHandler):
    """Answers what the test queues (an Outcome, an exception or a wait) and records what it saw."""

    kind = STAND_IN_KIND
    max_attempts_setting = "OUTBOUND_MAX_ATTEMPTS"

    def __init__(self) -> None:
        self.answers: list[Outcome | BaseException] = []
        self.sent: list[tuple[int, int, str, int]] = []  # (id, attempt, language, savepoints open)
        self.settled_as: list[tuple[str, Outcome]] = []
        self.replays: list[int] = []
        self.settled_in = -1

    def send(self, message: OutboxMessage) -> Outcome:
        self.sent.append((message.pk, message.attempts, translation.get_language(), len(connection.savepoint_ids)))
        answer = self.answers.pop(0) if self.answers else Outcome()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        self.settled_as.append((message.status, outcome))
        self.settled_in = len(connection.savepoint_ids)

    def replayed(self, message: OutboxMessage) -> None:
        self.replays.append(message.pk)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    handler = StandIn()
    monkeypatch.setitem(machinery._handlers, STAND_IN_KIND, handler)
    return handler


@pytest.fixture
def no_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the app owning the stand-in's kind forgot to register its handler."""
    monkeypatch.delitem(machinery._handlers, STAND_IN_KIND, raising=False)


def owed(**fields: Any) -> OutboxMessage:
    """A message of the stand-in's kind, due now (written directly: no task enqueued)."""
    values: dict[str, Any] = {"kind": STAND_IN_KIND, "target": "tax-agency", "body": {"n": 1}}
    return OutboxMessage.objects.create(**(values | fields))


# The port: every kind has its handler


def test_every_kind_has_a_registered_handler() -> None:
    assert outbox_kinds_without_handler() == []


@pytest.mark.usefixtures("no_handler")
def test_a_kind_without_a_handler_is_reported_by_the_port_check() -> None:
    assert outbox_kinds_without_handler() == [STAND_IN_KIND]


def test_only_a_known_kind_takes_a_handler() -> None:
    class Unknown(OutboxHandler):
        kind = "fax"

    with pytest.raises(ValueError, match="fax"):
        outbox_handler_register(Unknown())


@pytest.mark.django_db
@pytest.mark.usefixtures("no_handler")
def test_a_message_whose_kind_has_no_handler_fails_its_attempt_saying_so() -> None:
    message = owed()
    assert outbox_send(message_id=message.pk) is False
    failed = refreshed(message)
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 1)
    assert "No handler" in failed.last_error


# Claim and lease


@pytest.mark.django_db
def test_the_handler_sends_outside_any_transaction_in_the_messages_language(stand_in: StandIn) -> None:
    message = owed(language="es")
    outside = len(connection.savepoint_ids)  # the test's own transaction is all there is

    assert outbox_send(message_id=message.pk) is True

    assert stand_in.sent == [(message.pk, 1, "es", outside)]
    assert stand_in.settled_in == outside + 1  # `settled` runs inside the settling transaction


@pytest.mark.django_db
def test_a_sent_message_is_settled_with_its_time_and_the_handler_told(stand_in: StandIn) -> None:
    message = owed()
    outbox_send(message_id=message.pk)
    sent = refreshed(message)
    assert (sent.status, sent.attempts, sent.last_error, sent.leased_until) == (OutboxStatus.SENT, 1, "", None)
    assert sent.sent_at is not None
    assert [status for status, _outcome in stand_in.settled_as] == [OutboxStatus.SENT]


@pytest.mark.django_db
def test_a_claimed_message_is_leased_and_a_second_worker_gets_nothing(stand_in: StandIn) -> None:
    message = owed()
    claimed = machinery._claim(message.pk)
    assert claimed is not None
    held = refreshed(message)
    assert held.attempts == 1
    assert held.leased_until is not None
    assert held.leased_until > timezone.now()
    assert held.next_attempt_at == held.leased_until

    assert machinery._claim(message.pk) is None
    assert outbox_send(message_id=message.pk) is False
    assert stand_in.sent == []
    assert message.pk not in due_ids()


@pytest.mark.django_db
def test_a_message_whose_worker_died_is_due_again_when_its_lease_runs_out(stand_in: StandIn) -> None:
    message = owed()
    machinery._claim(message.pk)  # ...and the worker died
    ran_out = timezone.now() - timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=message.pk).update(leased_until=ran_out, next_attempt_at=ran_out)

    assert message.pk in due_ids()
    assert outbox_send(message_id=message.pk) is True
    assert refreshed(message).attempts == 2


@pytest.mark.django_db
def test_a_message_whose_last_attempt_never_reported_back_becomes_a_dead_letter(
    stand_in: StandIn, settings: Any
) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    message = owed(attempts=2, last_error="HTTP 500: no", next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert outbox_send(message_id=message.pk) is False

    dead = refreshed(message)
    assert (dead.status, dead.attempts, dead.last_error) == (OutboxStatus.DEAD, 2, "HTTP 500: no")
    assert stand_in.sent == []
    assert [status for status, _outcome in stand_in.settled_as] == [OutboxStatus.DEAD]


@pytest.mark.django_db
def test_the_settle_of_an_attempt_taken_over_by_another_records_nothing(stand_in: StandIn) -> None:
    message = owed()
    first = machinery._claim(message.pk)
    assert first is not None
    OutboxMessage.objects.filter(pk=message.pk).update(leased_until=timezone.now(), next_attempt_at=timezone.now())
    second = machinery._claim(message.pk)  # the first one's lease ran out: another attempt took it
    assert second is not None

    assert machinery._settle(first, Outcome(error="late"), stand_in) is False
    assert refreshed(message).last_error == ""
    assert machinery._settle(second, Outcome(), stand_in) is True
    assert (refreshed(message).status, refreshed(message).attempts) == (OutboxStatus.SENT, 2)


@pytest.mark.django_db
def test_a_message_whose_lease_is_live_is_not_claimed_even_when_due(stand_in: StandIn) -> None:
    message = owed(leased_until=timezone.now() + timedelta(minutes=5), next_attempt_at=timezone.now())

    assert machinery._claim(message.pk) is None
    assert outbox_send(message_id=message.pk) is False
    assert (refreshed(message).attempts, stand_in.sent) == (0, [])


@pytest.mark.django_db
def test_sending_inside_a_transaction_fails_loudly_and_claims_nothing(stand_in: StandIn) -> None:
    message = owed()

    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        outbox_send(message_id=message.pk)

    assert (refreshed(message).attempts, refreshed(message).leased_until, stand_in.sent) == (0, None, [])


@pytest.mark.django_db
def test_settling_inside_a_transaction_fails_loudly(stand_in: StandIn) -> None:
    claimed = machinery._claim(owed().pk)
    assert claimed is not None

    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        machinery._settle(claimed, Outcome(), stand_in)

    assert refreshed(claimed).status == OutboxStatus.PENDING


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_message_locked_by_another_sender_is_skipped(receiver: Receiver) -> None:
    message = pending(receiver.url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            OutboxMessage.objects.select_for_update().get(pk=message.pk)
            locked.set()
            release.wait(timeout=10)

    def send_while_locked() -> None:
        assert locked.wait(timeout=10)
        try:
            outbox_send(message_id=message.pk)  # skip_locked: returns at once, sends nothing
        finally:
            release.set()

    results = run_at_once([hold_the_row, send_while_locked])
    assert results == [None, None]
    assert receiver.requests == []
    assert refreshed(message).attempts == 0


# Failures: backoff with jitter, dead letters


def test_backoff_doubles_from_the_base_and_stops_at_six_hours(settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    delays = [outbox_backoff(attempts=n).total_seconds() for n in range(1, 6)]
    assert delays == [30, 60, 120, 240, 480]
    assert outbox_backoff(attempts=12) == timedelta(hours=6)
    assert outbox_backoff(attempts=1000) == timedelta(hours=6)


@pytest.mark.django_db
def test_a_failed_attempt_waits_the_backoff_plus_at_most_a_tenth_of_jitter(
    stand_in: StandIn, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 100
    stand_in.answers = [RuntimeError("down"), RuntimeError("down")]
    first, second = owed(), owed()

    monkeypatch.setattr(machinery.random, "random", lambda: 0.0)
    before = timezone.now()
    outbox_send(message_id=first.pk)
    monkeypatch.setattr(machinery.random, "random", lambda: 1.0)
    outbox_send(message_id=second.pk)
    after = timezone.now()

    assert before + timedelta(seconds=100) <= refreshed(first).next_attempt_at <= after + timedelta(seconds=100)
    assert before + timedelta(seconds=110) <= refreshed(second).next_attempt_at <= after + timedelta(seconds=110)


@pytest.mark.django_db
def test_a_failed_attempt_stays_pending_with_its_error_and_the_handler_is_not_told(stand_in: StandIn) -> None:
    stand_in.answers = [ConnectionRefusedError("no")]
    message = owed()

    assert outbox_send(message_id=message.pk) is False

    failed = refreshed(message)
    assert (failed.status, failed.attempts, failed.leased_until, failed.sent_at) == (
        OutboxStatus.PENDING,
        1,
        None,
        None,
    )
    assert failed.last_error == "ConnectionRefusedError: no"
    assert stand_in.settled_as == []


@pytest.mark.django_db
def test_the_kinds_maximum_attempts_make_a_dead_letter(stand_in: StandIn, settings: Any) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    stand_in.answers = [RuntimeError("one"), RuntimeError("two"), RuntimeError("three")]
    message = owed()

    statuses = []
    for _ in range(3):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        outbox_send(message_id=message.pk)
        statuses.append(refreshed(message).status)

    assert statuses == [OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.DEAD]
    dead = refreshed(message)
    assert (dead.attempts, dead.last_error) == (3, "RuntimeError: three")
    assert [status for status, _outcome in stand_in.settled_as] == [OutboxStatus.DEAD]
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert outbox_send(message_id=message.pk) is False
    assert len(stand_in.sent) == 3
    assert message.pk not in due_ids()


@pytest.mark.django_db
def test_an_undeliverable_message_is_settled_for_good_without_a_retry(stand_in: StandIn) -> None:
    stand_in.answers = [Outcome(undeliverable=True)]
    message = owed()

    assert outbox_send(message_id=message.pk) is False

    settled = refreshed(message)
    assert (settled.status, settled.attempts, settled.sent_at) == (OutboxStatus.UNDELIVERABLE, 1, None)
    assert message.pk not in due_ids()
    assert [status for status, _outcome in stand_in.settled_as] == [OutboxStatus.UNDELIVERABLE]


@pytest.mark.django_db
def test_a_handler_that_waits_gives_the_attempt_back(stand_in: StandIn) -> None:
    stand_in.answers = [OutboxDefer("the previous record first", delay=timedelta(minutes=5))]
    message = owed()
    before = timezone.now()

    assert outbox_send(message_id=message.pk) is False

    waiting = refreshed(message)
    assert (waiting.status, waiting.attempts, waiting.leased_until) == (OutboxStatus.PENDING, 0, None)
    assert waiting.last_error == "the previous record first"
    assert waiting.next_attempt_at >= before + timedelta(minutes=5)


@pytest.mark.django_db
def test_expediting_makes_a_waiting_message_due_and_sends_it_after_commit(
    stand_in: StandIn, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    waiting = owed(dedupe_key="7", next_attempt_at=timezone.now() + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert outbox_expedite(kind=STAND_IN_KIND, dedupe_key="7") is True

    assert len(callbacks) == 1
    assert refreshed(waiting).status == OutboxStatus.SENT
    assert outbox_expedite(kind=STAND_IN_KIND, dedupe_key="7") is False  # sent: nothing to expedite


@pytest.mark.django_db
def test_expediting_leaves_alone_a_message_a_worker_claims_meanwhile(stand_in: StandIn) -> None:
    waiting = owed(dedupe_key="7", next_attempt_at=timezone.now() + timedelta(hours=1))
    claimed: list[OutboxMessage | None] = []
    armed = [True]

    def claim_right_after_the_first_statement(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if armed[0] and '"config_outboxmessage"' in sql:
            armed[0] = False
            # A worker (the sweeper's task, say) claims the row between expedite's statements.
            OutboxMessage.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())
            claimed.append(machinery._claim(waiting.pk))
        return result

    with connection.execute_wrapper(claim_right_after_the_first_statement):
        outbox_expedite(kind=STAND_IN_KIND, dedupe_key="7")

    assert claimed[0] is not None
    held = refreshed(waiting)
    assert held.leased_until is not None
    assert held.next_attempt_at == held.leased_until  # the lease stands: nobody else may claim it
    assert machinery._claim(waiting.pk) is None


@pytest.mark.django_db
def test_expediting_a_message_being_sent_does_nothing(stand_in: StandIn) -> None:
    held = owed(dedupe_key="7")
    machinery._claim(held.pk)
    lease = refreshed(held).leased_until

    assert outbox_expedite(kind=STAND_IN_KIND, dedupe_key="7") is False
    assert (refreshed(held).leased_until, refreshed(held).next_attempt_at) == (lease, lease)


# Replay


@pytest.mark.django_db
def test_a_message_being_sent_is_not_replayed(stand_in: StandIn) -> None:
    message = owed()
    machinery._claim(message.pk)  # a worker holds it, sending

    with pytest.raises(ConflictError) as error:
        outbox_replay(message=message)

    assert (error.value.code, error.value.status_code) == ("being_sent", 409)
    held = refreshed(message)
    assert (held.attempts, held.next_attempt_at) == (1, held.leased_until)
    assert stand_in.replays == []


@pytest.mark.django_db
def test_a_pending_message_whose_lease_ran_out_is_replayed(stand_in: StandIn) -> None:
    message = owed(attempts=1, leased_until=timezone.now() - timedelta(seconds=1))

    replayed = outbox_replay(message=message)

    assert (replayed.status, replayed.attempts, replayed.leased_until) == (OutboxStatus.PENDING, 0, None)


@pytest.mark.django_db
def test_replay_makes_a_dead_letter_pending_and_due_again(
    stand_in: StandIn, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    message = lost(owed(status=OutboxStatus.DEAD, attempts=8, last_error="HTTP 500"))
    with django_capture_on_commit_callbacks() as callbacks:
        replayed = outbox_replay(message=message)
    assert len(callbacks) == 1
    assert (replayed.status, replayed.attempts) == (OutboxStatus.PENDING, 0)
    assert replayed.next_attempt_at <= timezone.now()
    assert stand_in.replays == [message.pk]
    assert message.pk in due_ids()


@pytest.mark.django_db
def test_a_sent_message_is_replayed_only_when_asked_for_explicitly(stand_in: StandIn) -> None:
    message = owed()
    outbox_send(message_id=message.pk)

    with pytest.raises(ConflictError) as error:
        outbox_replay(message=message)
    assert error.value.code == "already_delivered"
    assert refreshed(message).status == OutboxStatus.SENT

    again = outbox_replay(message=message, include_sent=True)
    assert (again.status, again.attempts, again.sent_at) == (OutboxStatus.PENDING, 0, None)


# Enqueueing


@pytest.mark.django_db
def test_enqueue_sends_only_once_the_transaction_commits(
    stand_in: StandIn, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        message = outbox_enqueue(kind=STAND_IN_KIND, target="tax-agency", body={"record": 1})
    assert len(callbacks) == 1
    assert stand_in.sent == []
    assert refreshed(message).status == OutboxStatus.PENDING

    callbacks[0]()  # the commit: the task runs (eagerly in unit tests)

    assert refreshed(message).status == OutboxStatus.SENT


@pytest.mark.django_db
def test_a_message_with_a_dedupe_key_is_owed_once(
    stand_in: StandIn, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    first = outbox_enqueue(kind=STAND_IN_KIND, target="tax-agency", body={}, dedupe_key="record-1")
    with django_capture_on_commit_callbacks() as callbacks:
        again = outbox_enqueue(kind=STAND_IN_KIND, target="tax-agency", body={}, dedupe_key="record-1")
    assert again == first
    assert callbacks == []
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_message_with_the_same_kind_and_key() -> None:
    owed(dedupe_key="record-1")
    owed(dedupe_key="")
    owed(dedupe_key="")  # no key: as many as wanted
    pending("https://example.com/hook", dedupe_key="record-1")  # another kind
    with pytest.raises(IntegrityError), transaction.atomic():
        owed(dedupe_key="record-1")


@pytest.mark.django_db
def test_enqueue_is_one_insert(django_assert_num_queries: Callable[..., Any]) -> None:
    with django_assert_num_queries(1):
        outbox_enqueue(kind=STAND_IN_KIND, target="tax-agency", body={"n": 1})
    with django_assert_num_queries(2):  # the key is looked up first
        outbox_enqueue(kind=STAND_IN_KIND, target="tax-agency", body={"n": 2}, dedupe_key="2")


@pytest.mark.django_db
def test_the_database_refuses_a_sent_row_without_its_time() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        pending("https://example.com/hook", status=OutboxStatus.SENT, sent_at=None)


# The sweeper


@pytest.mark.django_db
def test_the_sweeper_sends_exactly_the_due_messages(receiver: Receiver) -> None:
    now = timezone.now()
    due = [lost(pending(receiver.url, next_attempt_at=now - timedelta(minutes=m))) for m in (1, 30)]
    retry = pending(receiver.url, attempts=1, next_attempt_at=now - timedelta(seconds=1))  # failed once, due again
    lost(pending(receiver.url, next_attempt_at=now + timedelta(minutes=5)))
    lost(pending(receiver.url, status=OutboxStatus.DEAD, next_attempt_at=now - timedelta(hours=1)))
    lost(pending(receiver.url, status=OutboxStatus.SENT, sent_at=now, next_attempt_at=now))
    pending(receiver.url)  # just enqueued: left to its own task

    assert outbox_sweep() == 3

    sent = sorted(int(r.headers["X-Delivery-Id"]) for r in receiver.requests)
    assert sent == sorted([*(d.pk for d in due), retry.pk])
    assert outbox_sweep() == 0


@pytest.mark.django_db
def test_a_message_just_enqueued_is_left_to_its_own_task_for_the_grace_period() -> None:
    fresh = pending("https://example.com/hook")
    assert fresh.pk not in due_ids()
    assert lost(fresh).pk in due_ids()


@pytest.mark.django_db
def test_due_ids_come_oldest_first_up_to_the_limit() -> None:
    now = timezone.now()
    newer = lost(pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=1)))
    oldest = lost(pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=10)))
    older = lost(pending("https://example.com/hook", next_attempt_at=now - timedelta(minutes=5)))
    assert due_ids() == [oldest.pk, older.pk, newer.pk]
    assert due_ids(limit=2) == [oldest.pk, older.pk]


@pytest.mark.django_db
def test_the_sweep_reads_the_due_rows_in_one_query(
    stand_in: StandIn, django_assert_num_queries: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        lost(owed())
    enqueued: list[int] = []
    monkeypatch.setattr(machinery.outbox_send_task, "delay", enqueued.append)

    with django_assert_num_queries(1):
        assert machinery.outbox_sweep() == 5

    assert len(enqueued) == 5


# Webhooks: subscriptions


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


# Webhooks: sending


@pytest.mark.django_db
def test_send_posts_the_exact_body_signed_with_the_secret(receiver: Receiver) -> None:
    message = pending(receiver.url, body={"sku": "TEE-M", "location": "MAD-01", "available": 3})
    outbox_send(message_id=message.pk)

    [request] = receiver.requests
    assert request.path == "/hooks/stock"
    assert request.body == b'{"sku":"TEE-M","location":"MAD-01","available":3}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "retail-backoffice-webhooks/1"
    assert request.headers["X-Event"] == "stock.changed"
    assert request.headers["X-Delivery-Id"] == str(message.pk)
    signature = request.headers["X-Signature-256"]
    assert verifies(secret=SECRET, body=request.body, header=signature)
    assert signature == webhook_signature(secret=SECRET, body=request.body)
    assert not verifies(secret=SECRET, body=request.body.replace(b"3", b"4"), header=signature)
    assert not verifies(secret="another secret", body=request.body, header=signature)


def test_the_signature_is_the_hex_hmac_sha256_of_the_body_as_before() -> None:
    # Receivers in the field check this exact value: it must never change.
    assert (
        webhook_signature(secret="k", body=b'{"a":1}')
        == "sha256=c3a92ff9e274cdcce27a58c15a78ec6dcbbdbd0038a87e7a11baef2028fd8bff"
    )


@pytest.mark.django_db
def test_a_2xx_answer_marks_the_webhook_sent(receiver: Receiver) -> None:
    receiver.answer(204)
    message = pending(receiver.url)
    outbox_send(message_id=message.pk)
    message = refreshed(message)
    assert message.status == OutboxStatus.SENT
    assert message.sent_at is not None
    assert (message.attempts, message.last_status_code, message.last_error) == (1, 204, "")


@pytest.mark.django_db
def test_decimals_and_dates_in_the_body_are_sent_as_json_strings(receiver: Receiver) -> None:
    at = timezone.now()
    message = webhook_enqueue(
        target_url=receiver.url, secret=SECRET, event="invoice.issued", body={"total": Decimal("12.10"), "at": at}
    )
    outbox_send(message_id=message.pk)
    [request] = receiver.requests
    sent = json.loads(request.body)
    assert sent["total"] == "12.10"
    assert sent["at"].startswith(at.isoformat()[:19])
    assert request.body == webhook_body_bytes(body=refreshed(message).body)


@pytest.mark.django_db
def test_a_500_keeps_the_webhook_pending_and_retries_after_the_backoff(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    receiver.answer(500)
    message = pending(receiver.url)
    before = timezone.now()
    outbox_send(message_id=message.pk)
    after = timezone.now()

    message = refreshed(message)
    assert message.status == OutboxStatus.PENDING
    assert (message.attempts, message.last_status_code) == (1, 500)
    assert "HTTP 500" in message.last_error
    assert "receiver says no" in message.last_error
    assert before + timedelta(seconds=30) <= message.next_attempt_at <= after + timedelta(seconds=33)
    assert message.sent_at is None


@pytest.mark.django_db
def test_a_refused_connection_keeps_the_webhook_pending_and_retries_after_the_backoff(settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 30
    message = pending(closed_port_url())
    before = timezone.now()
    outbox_send(message_id=message.pk)

    message = refreshed(message)
    assert message.status == OutboxStatus.PENDING
    assert (message.attempts, message.last_status_code) == (1, None)
    assert "refused" in message.last_error.lower()
    assert message.next_attempt_at >= before + timedelta(seconds=30)


@pytest.mark.django_db
def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_attempt(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.5
    message = pending(receiver.url)
    started = time.monotonic()
    outbox_send(message_id=message.pk)
    assert time.monotonic() - started < 1.4
    message = refreshed(message)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "timed out" in message.last_error.lower()


@pytest.mark.django_db
def test_a_redirect_is_a_failed_attempt_not_followed(receiver: Receiver) -> None:
    receiver.answer(302)
    message = pending(receiver.url)
    outbox_send(message_id=message.pk)
    message = refreshed(message)
    assert (message.status, message.attempts, message.last_status_code) == (OutboxStatus.PENDING, 1, 302)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_the_last_failed_attempt_makes_a_dead_letter(receiver: Receiver, settings: Any) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    receiver.answer(500, 502, 503, 200)
    message = pending(receiver.url)
    for _ in range(3):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        outbox_send(message_id=message.pk)

    message = refreshed(message)
    assert (message.status, message.attempts, message.last_status_code) == (OutboxStatus.DEAD, 3, 503)
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    outbox_send(message_id=message.pk)
    assert len(receiver.requests) == 3
    assert message.pk not in due_ids()


@pytest.mark.django_db
def test_a_replayed_dead_letter_is_delivered_with_the_same_signature(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 1
    receiver.answer(500)
    message = pending(receiver.url)
    outbox_send(message_id=message.pk)
    assert refreshed(message).status == OutboxStatus.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        outbox_replay(message=refreshed(message))

    message = refreshed(message)
    assert (message.status, message.attempts) == (OutboxStatus.SENT, 1)
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Signature-256"] == second.headers["X-Signature-256"]
    assert first.headers["X-Delivery-Id"] == second.headers["X-Delivery-Id"] == str(message.pk)


@pytest.mark.django_db
def test_a_sent_webhook_cannot_be_replayed(receiver: Receiver) -> None:
    message = pending(receiver.url)
    outbox_send(message_id=message.pk)
    with pytest.raises(ConflictError) as error:
        outbox_replay(message=refreshed(message))
    assert error.value.code == "already_delivered"
    assert refreshed(message).status == OutboxStatus.SENT


# Idempotence: a task may run twice, early, or for a row already done.


@pytest.mark.django_db
def test_send_before_the_next_attempt_is_due_does_nothing(receiver: Receiver) -> None:
    message = pending(receiver.url, next_attempt_at=timezone.now() + timedelta(minutes=5))
    outbox_send(message_id=message.pk)
    assert receiver.requests == []
    assert refreshed(message).attempts == 0


@pytest.mark.django_db
@pytest.mark.parametrize("status", [OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.UNDELIVERABLE])
def test_send_of_a_settled_message_does_nothing(receiver: Receiver, status: str) -> None:
    sent_at = timezone.now() if status == OutboxStatus.SENT else None
    message = pending(receiver.url, status=status, attempts=1, sent_at=sent_at)
    outbox_send(message_id=message.pk)
    assert receiver.requests == []
    assert refreshed(message).attempts == 1


@pytest.mark.django_db
def test_sending_twice_posts_once(receiver: Receiver) -> None:
    message = pending(receiver.url)
    outbox_send(message_id=message.pk)
    outbox_send(message_id=message.pk)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_send_of_an_unknown_id_does_nothing() -> None:
    assert outbox_send(message_id=987654321) is False


@pytest.mark.django_db
def test_webhook_enqueue_sends_only_once_the_transaction_commits(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url=receiver.url)
    with django_capture_on_commit_callbacks() as callbacks:
        message = webhook_enqueue(
            target_url=subscription.url,
            secret=subscription.secret,
            event=subscription.event,
            body={"sku": "TEE-M", "available": 2},
            subscription=subscription,
        )
        assert receiver.requests == []
    assert len(callbacks) == 1
    assert receiver.requests == []
    assert (refreshed(message).status, refreshed(message).kind) == (OutboxStatus.PENDING, OutboxKind.WEBHOOK)

    callbacks[0]()  # the commit: the task runs (eagerly in unit tests)

    assert refreshed(message).status == OutboxStatus.SENT
    [request] = receiver.requests
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])


@pytest.mark.django_db
def test_webhook_enqueue_refuses_a_non_http_target() -> None:
    with pytest.raises(ApplicationError) as error:
        webhook_enqueue(target_url="file:///etc/passwd", secret=SECRET, event="stock.changed", body={})
    assert error.value.code == "invalid_target_url"
    assert not OutboxMessage.objects.exists()


# A real worker, through Redis, against the test database


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_signed_post_after_commit(receiver: Receiver) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url=receiver.url)
    with running_worker("celery"), eager_off():
        with transaction.atomic():
            message = webhook_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=subscription.event,
                body={"sku": "TEE-M", "available": 7},
                subscription=subscription,
            )
        assert wait_until(lambda: refreshed(message).status == OutboxStatus.SENT)

    [request] = receiver.requests
    assert json.loads(request.body) == {"sku": "TEE-M", "available": 7}
    assert verifies(secret=subscription.secret, body=request.body, header=request.headers["X-Signature-256"])
    assert refreshed(message).attempts == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_failed_webhook_when_the_sweeper_finds_it_due(receiver: Receiver) -> None:
    receiver.answer(500)
    with running_worker("celery", extra_env={"OUTBOUND_BACKOFF_BASE_SECONDS": "0.5"}), eager_off():
        with transaction.atomic():
            message = webhook_enqueue(target_url=receiver.url, secret=SECRET, event="stock.changed", body={"n": 1})
        assert wait_until(lambda: refreshed(message).attempts == 1)
        failed = refreshed(message)
        assert (failed.status, failed.last_status_code) == (OutboxStatus.PENDING, 500)
        assert wait_until(lambda: timezone.now() >= failed.next_attempt_at, timeout=5)

        outbox_sweep.delay()

        assert wait_until(lambda: refreshed(message).status == OutboxStatus.SENT)

    assert refreshed(message).attempts == 2
    first, second = receiver.requests
    assert first.body == second.body
    assert verifies(secret=SECRET, body=second.body, header=second.headers["X-Signature-256"])


# E-mail


class Greeting(EmailHandler):
    kind = STAND_IN_KIND

    def email(self, message: OutboxMessage) -> Email:
        return Email(
            subject=f"Hello ({translation.get_language()})",
            text=f"Hi {message.body['name']}",
            to=[message.target],
            html=f'<p>Hi {message.body["name"]}</p><img src="cid:logo@shop">',
            attachments=[("note.pdf", b"%PDF-1.7 a note", "application/pdf")],
            inline_images=[("logo@shop", b"\x89PNG\r\n\x1a\nlogo", "image/png")],
        )


@pytest.fixture
def greeting(monkeypatch: pytest.MonkeyPatch) -> Greeting:
    handler = Greeting()
    monkeypatch.setitem(machinery._handlers, STAND_IN_KIND, handler)
    return handler


@pytest.mark.django_db
@pytest.mark.usefixtures("greeting")
def test_an_email_message_is_sent_with_text_html_attachments_and_inline_images_in_its_language() -> None:
    message = owed(target="ana@example.com", body={"name": "Ana"}, language="es")

    assert outbox_send(message_id=message.pk) is True

    [sent] = mail.outbox
    assert (sent.to, sent.subject, sent.body) == (["ana@example.com"], "Hello (es)", "Hi Ana")
    assert [(a.filename, a.content, a.mimetype) for a in sent.attachments] == [
        ("note.pdf", b"%PDF-1.7 a note", "application/pdf")
    ]
    mime = sent.message()
    [related] = [part for part in mime.walk() if part.get_content_type() == "multipart/related"]
    html, image = cast(list[StdlibEmailMessage], list(related.iter_parts()))
    assert html.get_content_type() == "text/html"
    assert str(image["Content-ID"]) == "<logo@shop>"
    assert refreshed(message).status == OutboxStatus.SENT


def test_an_email_without_html_is_a_plain_message_with_its_files(settings: Any) -> None:
    email = Email(subject="S", text="T", to=["a@example.com"], attachments=[("x.pdf", b"%PDF", "application/pdf")])
    outgoing = email_message(email)
    assert outgoing.alternatives == []
    assert outgoing.message().get_content_type() == "multipart/mixed"
    assert outgoing.from_email == settings.DEFAULT_FROM_EMAIL


@pytest.mark.django_db
@pytest.mark.usefixtures("greeting")
def test_an_email_the_server_refuses_is_a_failed_attempt(settings: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    message = owed(target="ana@example.com", body={"name": "Ana"})

    assert outbox_send(message_id=message.pk) is False

    failed = refreshed(message)
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 1)
    assert failed.last_error.startswith("ConnectionRefusedError")


# Admin: one screen for everything owed to another system


@pytest.mark.django_db
def test_admin_lists_messages_and_shows_one_read_only(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE, name="Marketplace")
    subscription = webhook_subscription_create(client=client, event="stock.changed", url="https://m.example.com/h")
    message = pending("https://m.example.com/h", subscription=subscription, status=OutboxStatus.DEAD)
    pending("https://other.example.com/h", status=OutboxStatus.DEAD)

    page = admin_client.get(OUTBOX, {"status": "dead", "q": "m.example.com"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [message]
    assert "Marketplace" in page.content.decode()
    detail = admin_client.get(f"{OUTBOX}{message.pk}/change/")
    assert detail.status_code == 200
    assert b'name="target"' not in detail.content  # read-only: no input
    assert admin_client.get(f"{OUTBOX}add/").status_code == 403


@pytest.mark.django_db
def test_admin_filters_by_kind_status_and_target(admin_client: Any) -> None:
    hook = pending("https://m.example.com/h")
    other_hook = pending("https://other.example.com/h")
    submission = owed(target="tax-agency", status=OutboxStatus.DEAD)

    def listed(**query: str) -> set[int]:
        page = admin_client.get(OUTBOX, query)
        assert page.status_code == 200
        return {message.pk for message in page.context["cl"].result_list}

    assert listed(kind=OutboxKind.WEBHOOK) == {hook.pk, other_hook.pk}
    assert listed(kind=STAND_IN_KIND) == {submission.pk}
    assert listed(status=OutboxStatus.DEAD) == {submission.pk}
    assert listed(target="https://m.example.com/h") == {hook.pk}
    assert "https://other.example.com/h" in admin_client.get(OUTBOX).content.decode()


@pytest.mark.django_db
def test_admin_replay_action_sends_dead_letters_again(
    admin_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    dead = pending(receiver.url, status=OutboxStatus.DEAD, attempts=8)
    done = pending(receiver.url, status=OutboxStatus.SENT, attempts=1, sent_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(OUTBOX, {"action": "replay", "_selected_action": [dead.pk, done.pk]})

    assert response.status_code == 302
    assert refreshed(dead).status == OutboxStatus.SENT
    assert refreshed(done).attempts == 1
    assert [r.headers["X-Delivery-Id"] for r in receiver.requests] == [str(dead.pk)]
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"{done}: Outbox message {done.pk} was already sent.", "1 message will be sent again."]


@pytest.mark.django_db
def test_admin_replay_refuses_a_message_being_sent_and_replays_the_others(
    admin_client: Any, receiver: Receiver
) -> None:
    dead = pending(receiver.url, status=OutboxStatus.DEAD, attempts=8)
    held = pending(receiver.url)
    machinery._claim(held.pk)

    response = admin_client.post(OUTBOX, {"action": "replay", "_selected_action": [dead.pk, held.pk]}, follow=True)

    assert response.status_code == 200
    said = [str(m) for m in response.context["messages"]]
    assert said == [
        f"{refreshed(held)}: Outbox message {held.pk} is being sent right now; replay it once this attempt ends.",
        "1 message will be sent again.",
    ]
    assert refreshed(held).attempts == 1
    assert refreshed(dead).status == OutboxStatus.PENDING


@pytest.mark.django_db
def test_nobody_deletes_an_outbox_message_not_even_a_superuser(admin_client: Any) -> None:
    message = owed()

    assert admin_client.get(f"{OUTBOX}{message.pk}/delete/").status_code == 403
    admin_client.post(OUTBOX, {"action": "delete_selected", "_selected_action": [message.pk]})  # no such action
    assert OutboxMessage.objects.filter(pk=message.pk).exists()


@pytest.mark.django_db
def test_the_former_task_names_still_queued_at_deploy_time_send_and_sweep(stand_in: StandIn) -> None:
    from config.tasks import deliveries_sweep, delivery_send

    message = owed()

    assert (delivery_send.name, deliveries_sweep.name) == (
        "config.tasks.delivery_send",
        "config.tasks.deliveries_sweep",
    )
    assert delivery_send.delay(message.pk).get() is True
    assert refreshed(message).status == OutboxStatus.SENT
    assert deliveries_sweep.delay().get() == 0


@pytest.mark.django_db
def test_admin_outbox_changelist_queries_do_not_grow_with_rows(admin_client: Any) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    subscription = webhook_subscription_create(client=client, event="stock.changed", url="https://m.example.com/h")

    def add(n: int) -> None:
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                subscription=subscription, target=subscription.url, secret=SECRET, event="stock.changed", body={}
            )
            for _ in range(n)
        )

    add(5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(OUTBOX).status_code == 200
    add(45)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(OUTBOX)
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
