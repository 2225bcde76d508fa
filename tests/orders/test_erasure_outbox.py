"""Erasing a customer leaves none of their data in stored webhook bodies, e-mail targets or mail files.

The outbox's messages about the customer name them (`subject`, set by orders and invoicing at
enqueue): the erasure redacts those settled, stops those pending, and deletes the mail files sent
to the customer's addresses once it commits (config/outbox/privacy.py). The ERP's copy of an
invoice is a fiscal record: still owed, then purged after the retention period.
"""

import importlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import outbox_retention_purge, webhook_enqueue
from customers.services.merge import customer_merge
from customers.services.privacy import customer_erase, customer_outbox_subject
from invoicing.delivery import invoice_render
from orders.models import NotificationStatus, OrderNotification
from tests.factories import CustomerFactory
from tests.orders.test_notifications import integration, placed_through, prefers, send
from tests.scenarios import Shop, pay, place

EMAIL, NAME, PHONE = "ana@example.com", "Ana García", "+34600000001"
ERP_URL = "https://erp.example.com/hooks/invoices"


@pytest.fixture
def mail_dir(settings: Any, tmp_path: Path) -> Path:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    return tmp_path


def personal(row: OutboxMessage) -> bool:
    stored = json.dumps(row.body, ensure_ascii=False) + row.target + row.last_error
    return any(value in stored for value in (EMAIL, NAME, PHONE))


def mail_files_naming(directory: Path, value: str) -> list[str]:
    return [path.name for path in directory.iterdir() if value in path.read_text(errors="replace")]


@pytest.fixture
def outbox_full_of_ana(shop: Shop, mail_dir: Path, settings: Any) -> Shop:
    """Ana's messages of every kind: a WhatsApp webhook pending, an e-mail sent (its file written),
    her invoice's e-mail pending and the ERP's copy of it pending."""
    settings.INVOICE_ERP_URL = ERP_URL
    hook = integration()
    prefers(shop.customer, "whatsapp")
    send(place(shop, actor=placed_through(hook)))
    prefers(shop.customer, "email")
    emailed = place(shop)
    send(emailed)
    invoice = pay(shop, emailed).invoice
    assert invoice is not None
    invoice_render(invoice_id=invoice.pk)
    assert {row.kind for row in OutboxMessage.objects.all() if personal(row)} == {
        OutboxKind.WEBHOOK,
        OutboxKind.INVOICE_EMAIL,
    }
    assert mail_files_naming(mail_dir, EMAIL)
    return shop


def test_after_erasure_no_stored_message_holds_the_customers_email_name_or_phone(
    outbox_full_of_ana: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=outbox_full_of_ana.customer)

    holding = [(row.kind, row.event, row.status) for row in OutboxMessage.objects.all() if personal(row)]
    assert holding == [(OutboxKind.WEBHOOK, "invoice.issued", OutboxStatus.PENDING)]  # the ERP's, still owed


def test_after_erasure_no_mail_file_names_the_customer(
    outbox_full_of_ana: Shop, mail_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=outbox_full_of_ana.customer)

    assert mail_files_naming(mail_dir, EMAIL) == []


def test_the_erp_copy_is_purged_once_sent_and_the_retention_is_over(outbox_full_of_ana: Shop, settings: Any) -> None:
    customer_erase(customer=outbox_full_of_ana.customer)
    erp = OutboxMessage.objects.get(target=ERP_URL)
    OutboxMessage.objects.filter(pk=erp.pk).update(
        status=OutboxStatus.SENT, sent_at=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS, hours=1)
    )

    outbox_retention_purge()

    assert not any(personal(row) for row in OutboxMessage.objects.all())


def test_a_notification_pending_at_erasure_is_never_sent_and_shows_unreachable(shop: Shop) -> None:
    order = place(shop)

    customer_erase(customer=shop.customer)

    notification = OrderNotification.objects.get(order=order)
    assert notification.status == NotificationStatus.UNREACHABLE
    assert OutboxMessage.objects.get(pk=notification.message_id).status == OutboxStatus.UNDELIVERABLE
    assert send(order) is False


def test_messages_about_a_customer_name_them(shop: Shop) -> None:
    order = place(shop)

    message = OutboxMessage.objects.get(pk=OrderNotification.objects.get(order=order).message_id)

    assert message.subject == customer_outbox_subject(shop.customer.pk)


def test_messages_of_a_merged_profile_are_reached_by_the_kept_profiles_erasure(shop: Shop) -> None:
    other = CustomerFactory.create(name="Ana G.")
    message = webhook_enqueue(
        target_url=ERP_URL,
        secret="s",
        event="customer.updated",
        body={"name": "Ana G."},
        subject=customer_outbox_subject(other.pk),
    )

    customer_merge(keep=shop.customer, remove=other)
    customer_erase(customer=shop.customer)

    message.refresh_from_db()
    assert message.subject == customer_outbox_subject(shop.customer.pk)
    assert (message.status, message.body) == (OutboxStatus.UNDELIVERABLE, {})


# --- Messages written before the outbox named their subject (orders/0015, invoicing/0006) -----------


def fill_subjects_as_the_migrations_do() -> None:
    from django.apps import apps

    for module in (
        "orders.migrations.0018_outbox_subjects_of_messages_written_before",
        "invoicing.migrations.0006_outbox_subjects_of_messages_written_before",
    ):
        importlib.import_module(module).outbox_subjects_fill(apps, None)


def test_the_migrations_name_the_customer_of_messages_written_before(outbox_full_of_ana: Shop) -> None:
    order = place(outbox_full_of_ana)
    refund_hook = webhook_enqueue(
        target_url=ERP_URL, secret="s", event="order.refund", body={"event": "order.refund", "order": order.number}
    )
    unrelated = webhook_enqueue(target_url=ERP_URL, secret="s", event="stock.changed", body={"sku": "X"})
    ana = customer_outbox_subject(outbox_full_of_ana.customer.pk)
    OutboxMessage.objects.update(subject="", owed_after_erasure=False)  # as the rows stood before

    fill_subjects_as_the_migrations_do()

    about_ana = set(OutboxMessage.objects.filter(subject=ana).values_list("pk", flat=True))
    assert about_ana == set(OutboxMessage.objects.exclude(pk=unrelated.pk).values_list("pk", flat=True))
    assert refund_hook.pk in about_ana
    assert OutboxMessage.objects.get(pk=unrelated.pk).subject == ""
    assert OutboxMessage.objects.get(event="invoice.issued").owed_after_erasure is True


def test_messages_written_before_are_redacted_by_the_erasure_once_migrated(outbox_full_of_ana: Shop) -> None:
    OutboxMessage.objects.update(subject="", owed_after_erasure=False)
    fill_subjects_as_the_migrations_do()

    customer_erase(customer=outbox_full_of_ana.customer)

    holding = [(row.kind, row.event, row.status) for row in OutboxMessage.objects.all() if personal(row)]
    assert holding == [(OutboxKind.WEBHOOK, "invoice.issued", OutboxStatus.PENDING)]  # the ERP's, still owed
