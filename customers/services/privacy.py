"""GDPR: export everything we hold about a customer; erase personal data but keep the books."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import ForeignKey, Q
from django.forms.models import model_to_dict
from django.utils import timezone

from config.idempotency import idempotent_requests_subject_erase
from config.outbox import outbox_subject_erase
from config.outbox.privacy import mail_files_forget
from config.transactions import use_case
from customers.identities import IdentityKind
from customers.models import ContactPoint, Customer, CustomerEvent, CustomerMerge, DuplicateCandidate
from customers.relations import ERASE_HANDLERS, customer_relations


def customer_outbox_subject(customer_id: int) -> str:
    """How outbox messages carrying a customer's personal data name them (`outbox_enqueue(subject=...)`)."""
    return f"customer:{customer_id}"


def customer_answer_subject(view: Any, body: Any) -> str:
    """Whose data an API answer shows (a stored idempotent answer's subject, config.idempotency).

    The customer the answer names (`customer_id`, or `customer` as an id or a profile: orders,
    invoices, a resolved identity), else the customer the URL of a view that says so names
    (`answers_about_customer_kwarg`: the customer's consents); "" else.
    """
    if isinstance(body, dict):
        for field in ("customer_id", "customer"):
            value = body.get(field)
            if isinstance(value, dict):
                value = value.get("id")
            if isinstance(value, int) and not isinstance(value, bool):
                return customer_outbox_subject(value)
    kwarg = getattr(view, "answers_about_customer_kwarg", None)
    pk = str((getattr(view, "kwargs", None) or {}).get(kwarg or "", ""))
    return customer_outbox_subject(int(pk)) if kwarg and pk.isdigit() else ""


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Every row of every app that points at the customer, as JSON-ready data."""
    data: dict[str, Any] = {"customer": model_to_dict(customer), "related": {}}
    data["customer"]["created_at"] = customer.created_at
    for relation in customer_relations():
        rows = list(relation.rows_of(customer))
        if not rows:
            continue
        data["related"][relation.label] = [model_to_dict(row) | {"id": row.pk} for row in rows]
        # One level further: rows that belong to those rows (a loyalty account's ledger, an order's lines).
        for child in relation.model._meta.related_objects:
            if not isinstance(child.field, ForeignKey) or child.related_model is Customer:
                continue
            label = f"{child.related_model._meta.label}.{child.field.name}"
            children = child.related_model._base_manager.filter(**{f"{child.field.name}__in": rows})
            if child_rows := [model_to_dict(row) | {"id": row.pk} for row in children]:
                data["related"][label] = child_rows
    # Round-trip through JSON so dates, decimals and UUIDs come out as plain values.
    exported: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return exported


@use_case
def customer_erase(*, customer: Customer) -> Customer:
    """Anonymise the profile, drop its identities and scrub timeline details.

    Orders, invoices and totals stay (fiscal records, aggregate figures); the identities
    are gone, so the old e-mail or phone no longer resolves to this profile. The API's stored
    idempotent answers about the customer are emptied (config.idempotency). The outbox's
    messages about the customer are redacted (those still pending are not sent, but for an
    ERP's copy of an invoice) and the mail files sent to their addresses deleted after commit
    (config.outbox.privacy).
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    outbox_subject_erase(subject=customer_outbox_subject(customer.pk))
    idempotent_requests_subject_erase(subject=customer_outbox_subject(customer.pk))
    mail_files_forget(
        ContactPoint.objects.filter(customer=customer, kind=IdentityKind.EMAIL).values_list("value", flat=True)
    )
    ContactPoint.objects.filter(customer=customer).delete()
    CustomerEvent.objects.filter(customer=customer).update(payload={}, query="", location_code="")
    DuplicateCandidate.objects.filter(Q(customer=customer) | Q(other=customer)).delete()
    # Merge audits keep a copy of the profiles folded in: keep only what is not personal.
    for merge in CustomerMerge.objects.filter(customer=customer):
        merge.removed_snapshot = {k: merge.removed_snapshot.get(k) for k in ("id", "created_at", "first_seen_channel")}
        merge.save(update_fields=["removed_snapshot"])
    for handler in ERASE_HANDLERS.values():
        handler(customer)
    customer.name = ""
    customer.birth_date = None
    customer.city = ""
    customer.tax_id = ""
    customer.notes = ""
    customer.erased_at = timezone.now()
    customer.save(update_fields=["name", "birth_date", "city", "tax_id", "notes", "erased_at", "updated_at"])
    return customer
