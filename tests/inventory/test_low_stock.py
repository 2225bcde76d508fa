"""Low-stock thresholds: one open alert while available is below, resolved when stock comes back.

Staff are told by e-mail, through the outbox (config.outbox): tasks run eagerly, and commit
callbacks (the outbox's sends) only run inside `django_capture_on_commit_callbacks`, so the
tests that read the e-mails notify through the `notify` fixture, as a worker would.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from catalog.models import Variant
from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import outbox_send, outbox_sweep
from inventory.alerts import low_stock_alerts_notify
from inventory.models import Location, LowStockAlert
from inventory.services import (
    StockLine,
    low_stock_threshold_set,
    stock_adjust,
    stock_commit_sale,
    stock_receive,
    stock_reserve,
)
from tests.factories import LocationFactory, UserFactory, VariantFactory, stock_receive_for
from tests.smtp import closed_port, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def location() -> Location:
    return LocationFactory.create(code="mad")


@pytest.fixture
def variant(location: Location) -> Variant:
    """10 on the shelf, alert below 5."""
    variant = VariantFactory.create(sku="TEE-M")
    stock_receive_for(location, variant, 10)
    low_stock_threshold_set(location=location, variant=variant, threshold=5)
    return variant


def reserve(location: Location, variant: Variant, quantity: int, reference: str = "O-1") -> None:
    stock_reserve(lines=[StockLine(location, variant, quantity)], reference=reference)


def open_alerts() -> list[tuple[int, int]]:
    return list(LowStockAlert.objects.filter(resolved_at__isnull=True).values_list("available", "threshold"))


def test_threshold_is_stored_on_the_level(location: Location, variant: Variant) -> None:
    level = low_stock_threshold_set(location=location, variant=variant, threshold=3)

    assert level.low_stock_threshold == 3
    assert level.available == 10


def test_no_alert_while_available_is_at_the_threshold(location: Location, variant: Variant) -> None:
    reserve(location, variant, 5)

    assert not LowStockAlert.objects.exists()


def test_reserving_below_the_threshold_opens_an_alert(location: Location, variant: Variant) -> None:
    reserve(location, variant, 6)

    assert open_alerts() == [(4, 5)]


def test_adjusting_below_the_threshold_opens_an_alert(location: Location, variant: Variant) -> None:
    stock_adjust(location=location, variant=variant, quantity=-7, reason="Damaged")

    assert open_alerts() == [(3, 5)]


def test_selling_what_was_reserved_below_the_threshold_keeps_the_one_alert(
    location: Location, variant: Variant
) -> None:
    reserve(location, variant, 7)

    stock_commit_sale(lines=[StockLine(location, variant, 7)], reference="O-1")

    assert LowStockAlert.objects.count() == 1
    assert open_alerts() == [(3, 5)]


def test_many_movements_below_the_threshold_keep_one_open_alert(location: Location, variant: Variant) -> None:
    reserve(location, variant, 6, "O-1")
    reserve(location, variant, 1, "O-2")
    stock_commit_sale(lines=[StockLine(location, variant, 7)], reference="O-1")
    stock_adjust(location=location, variant=variant, quantity=-1, reason="Damaged")
    reserve(location, variant, 2, "O-3")

    assert LowStockAlert.objects.count() == 1
    assert open_alerts() == [(4, 5)]


def test_receiving_back_above_the_threshold_resolves_the_alert(location: Location, variant: Variant) -> None:
    reserve(location, variant, 8)

    stock_receive(location=location, lines=[(variant, 4)], reference="PO-2")

    assert open_alerts() == []
    alert = LowStockAlert.objects.get()
    assert alert.resolved_at is not None


def test_receiving_but_staying_below_keeps_the_alert_open(location: Location, variant: Variant) -> None:
    reserve(location, variant, 8)

    stock_receive(location=location, lines=[(variant, 1)], reference="PO-2")

    assert open_alerts() == [(2, 5)]


def test_falling_below_again_after_a_resolution_opens_a_new_alert(location: Location, variant: Variant) -> None:
    reserve(location, variant, 8, "O-1")
    stock_receive(location=location, lines=[(variant, 10)], reference="PO-2")

    reserve(location, variant, 9, "O-2")

    assert LowStockAlert.objects.count() == 2
    assert open_alerts() == [(3, 5)]


def test_setting_a_threshold_above_available_opens_an_alert_at_once(location: Location, variant: Variant) -> None:
    low_stock_threshold_set(location=location, variant=variant, threshold=12)

    assert open_alerts() == [(10, 12)]


def test_clearing_the_threshold_resolves_the_open_alert(location: Location, variant: Variant) -> None:
    reserve(location, variant, 8)

    low_stock_threshold_set(location=location, variant=variant, threshold=None)

    assert open_alerts() == []


def test_threshold_only_alerts_its_own_location(location: Location, variant: Variant) -> None:
    other = LocationFactory.create()
    stock_receive_for(other, variant, 3)

    assert not LowStockAlert.objects.exists()


def test_threshold_below_zero_is_refused(location: Location, variant: Variant) -> None:
    with pytest.raises(ValidationError):
        low_stock_threshold_set(location=location, variant=variant, threshold=-1)


def test_staff_cannot_set_a_threshold_at_another_location(location: Location, variant: Variant) -> None:
    user = UserFactory.create(is_staff=True)
    LocationFactory.create().staff.add(user)

    with pytest.raises(PermissionDenied):
        low_stock_threshold_set(location=location, variant=variant, threshold=1, user=user)


# --- Telling staff ---


@pytest.fixture
def notify(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[], int]:
    """Notify, then run what its commit enqueues (the outbox sends each e-mail), as a worker would."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return low_stock_alerts_notify()

    return run


def smtp_mailers(port: int) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def refused_smtp(settings: Any) -> Iterator[int]:
    """The mailer points at a port that refuses connections."""
    with closed_port() as port:
        settings.MAILERS = smtp_mailers(port)
        yield port


def staff_at(location: Location, **kwargs: Any) -> Any:
    user = UserFactory.create(is_staff=True, **kwargs)
    location.staff.add(user)
    return user


def alert_emails() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=OutboxKind.LOW_STOCK_ALERT_EMAIL).order_by("target"))


def test_notify_mails_the_location_staff_and_managers_once(
    location: Location, variant: Variant, notify: Callable[[], int]
) -> None:
    staff_at(location, username="ana")
    staff_at(location, username="nomail", email="")
    staff_at(LocationFactory.create(), username="elsewhere")
    manager = UserFactory.create(username="jefa", is_staff=True)
    manager.user_permissions.add(Permission.objects.get(codename="manage_all_locations"))
    UserFactory.create(username="boss", is_staff=True, is_superuser=True)
    UserFactory.create(username="customer")
    reserve(location, variant, 8)
    mail.outbox.clear()

    notified = notify()

    assert notified == 1
    # One e-mail each: store staff get their own locations' lines, managers every line.
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "ana@example.com",
        "boss@example.com",
        "jefa@example.com",
    ]
    assert all("TEE-M" in message.body for message in mail.outbox)
    assert all("mad" in message.body for message in mail.outbox)


def test_store_staff_are_not_mailed_other_locations_alerts(
    location: Location, variant: Variant, notify: Callable[[], int]
) -> None:
    other = LocationFactory.create(code="bcn")
    staff_at(location, username="ana")
    staff_at(other, username="jordi")
    reserve(location, variant, 8)
    mail.outbox.clear()

    notify()

    assert [message.to for message in mail.outbox] == [["ana@example.com"]]


def test_notify_marks_alerts_notified(location: Location, variant: Variant) -> None:
    staff_at(location)
    reserve(location, variant, 8)

    low_stock_alerts_notify()

    assert LowStockAlert.objects.get().notified_at is not None


def test_notify_a_second_time_sends_nothing(location: Location, variant: Variant, notify: Callable[[], int]) -> None:
    staff_at(location)
    reserve(location, variant, 8)
    notify()
    mail.outbox.clear()

    assert notify() == 0
    assert mail.outbox == []
    assert len(alert_emails()) == 1


def test_notify_gathers_several_alerts_in_one_mail(
    location: Location, variant: Variant, notify: Callable[[], int]
) -> None:
    staff_at(location)
    other = VariantFactory.create(sku="TEE-L")
    stock_receive_for(location, other, 1)
    low_stock_threshold_set(location=location, variant=other, threshold=2)
    reserve(location, variant, 8)
    mail.outbox.clear()

    assert notify() == 2
    assert len(mail.outbox) == 1
    assert "TEE-M" in mail.outbox[0].body
    assert "TEE-L" in mail.outbox[0].body


def test_notify_skips_resolved_alerts(location: Location, variant: Variant, notify: Callable[[], int]) -> None:
    staff_at(location)
    reserve(location, variant, 8)
    stock_receive(location=location, lines=[(variant, 10)], reference="PO-2")
    mail.outbox.clear()

    assert notify() == 0
    assert mail.outbox == []


def test_the_email_counts_the_items_in_its_subject_and_gives_a_line_each(
    location: Location, variant: Variant, notify: Callable[[], int], settings: Any
) -> None:
    staff_at(location, username="ana")
    reserve(location, variant, 8)

    notify()

    [message] = mail.outbox
    assert (message.subject, message.body) == ("Low stock: 1 items", "mad  TEE-M: 2 < 5")
    assert (message.from_email, message.to) == (settings.DEFAULT_FROM_EMAIL, ["ana@example.com"])


def test_notify_owes_each_person_one_outbox_message_sent_after_commit(location: Location, variant: Variant) -> None:
    staff_at(location, username="ana")
    UserFactory.create(username="boss", is_staff=True, is_superuser=True)
    reserve(location, variant, 8)

    low_stock_alerts_notify()  # its commit callbacks do not run: nothing is sent yet

    assert mail.outbox == []
    assert [(message.target, message.status, message.attempts) for message in alert_emails()] == [
        ("ana@example.com", OutboxStatus.PENDING, 0),
        ("boss@example.com", OutboxStatus.PENDING, 0),
    ]


def test_the_email_is_in_the_sites_language_whatever_language_the_worker_runs_in(
    location: Location, variant: Variant, settings: Any
) -> None:
    staff_at(location, username="ana")
    reserve(location, variant, 8)
    settings.LANGUAGE_CODE = "es"
    low_stock_alerts_notify()
    settings.LANGUAGE_CODE = "en"
    translation.activate("en")

    [message] = alert_emails()
    assert outbox_send(message_id=message.pk) is True

    assert [sent.subject for sent in mail.outbox] == ["Stock bajo: 1 artículos"]


def test_a_refused_email_stays_pending_with_its_attempt_and_the_outbox_sends_it_once_the_server_answers(
    location: Location, variant: Variant, notify: Callable[[], int], refused_smtp: int, settings: Any
) -> None:
    staff_at(location, username="ana")
    reserve(location, variant, 8)

    assert notify() == 1

    [pending] = alert_emails()
    assert (pending.status, pending.attempts, pending.sent_at) == (OutboxStatus.PENDING, 1, None)
    assert pending.last_error.startswith("ConnectionRefusedError")
    assert pending.next_attempt_at > timezone.now()  # after the backoff
    # The alert was handed over: notifying again owes nothing more.
    assert LowStockAlert.objects.get().notified_at is not None
    assert notify() == 0
    assert len(alert_emails()) == 1

    with smtp_server() as smtp:
        settings.MAILERS = smtp_mailers(smtp.port)
        OutboxMessage.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now())  # the backoff ran out
        assert outbox_sweep() == 1
        received = smtp.messages

    assert [got.rcpt_tos for got in received] == [("ana@example.com",)]
    assert received[0].message["Subject"] == "Low stock: 1 items"
    assert received[0].message.get_content().strip() == "mad  TEE-M: 2 < 5"
    [sent] = alert_emails()
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 2, "")


def test_an_email_refused_at_every_attempt_becomes_a_dead_letter(
    location: Location, variant: Variant, notify: Callable[[], int], refused_smtp: int, settings: Any
) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    staff_at(location, username="ana")
    reserve(location, variant, 8)
    notify()
    [message] = alert_emails()

    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_send(message_id=message.pk) is False

    dead = OutboxMessage.objects.get(pk=message.pk)
    assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, 2)
    assert mail.outbox == []
