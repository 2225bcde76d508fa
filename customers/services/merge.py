from typing import Any

from django.db.models import F, Q
from django.utils.translation import gettext

from config.idempotency import idempotent_requests_subject_rename
from config.outbox import outbox_subject_rename
from config.transactions import use_case
from customers.exceptions import CustomerErrorCode, MergeRefused
from customers.models import (
    BroughtCustomer,
    Customer,
    CustomerMerge,
    DuplicateCandidate,
    DuplicateStatus,
    LoyaltyAccount,
    LoyaltyEntry,
)
from customers.relations import MERGE_HANDLERS, customer_relations, merge_handler_register
from customers.services.privacy import customer_outbox_subject
from customers.services.resolve import duplicate_candidates_record
from customers.services.store_credit import store_credit_accounts_merge


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "name": customer.name,
        "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
        "country": customer.country,
        "city": customer.city,
        "tax_id": customer.tax_id,
        "first_seen_channel": customer.first_seen_channel,
        "created_at": customer.created_at.isoformat(),
        "identities": [
            {"kind": kind, "value": value} for kind, value in customer.contact_points.values_list("kind", "value")
        ],
    }


def _merge_loyalty(keep: Customer, remove: Customer) -> int:
    removed_account = LoyaltyAccount.objects.select_for_update().filter(customer=remove).first()
    if removed_account is None:
        return 0
    kept_account = LoyaltyAccount.objects.select_for_update().filter(customer=keep).first()
    if kept_account is None:
        return LoyaltyAccount.objects.filter(pk=removed_account.pk).update(customer=keep)
    moved = LoyaltyEntry.objects.filter(account=removed_account).update(account=kept_account)
    # The latest activity of either: points earned yesterday must not expire with an idle account.
    activity = [a.last_activity_at for a in (kept_account, removed_account) if a.last_activity_at]
    LoyaltyAccount.objects.filter(pk=kept_account.pk).update(
        balance=F("balance") + removed_account.balance, last_activity_at=max(activity, default=None)
    )
    removed_account.delete()
    return moved


def _merge_duplicate_candidates(keep: Customer, remove: Customer) -> int:
    """The keep~remove pair is settled (the audit row tells); open remove~X pairs become keep~X."""
    pairs = list(DuplicateCandidate.objects.filter(Q(customer=remove) | Q(other=remove)))
    third_parties = {
        (pair.other_id if pair.customer_id == remove.pk else pair.customer_id): pair
        for pair in pairs
        if keep.pk not in (pair.customer_id, pair.other_id)
    }
    DuplicateCandidate.objects.filter(pk__in=[pair.pk for pair in pairs]).delete()
    for third_id, pair in third_parties.items():
        if pair.status == DuplicateStatus.OPEN:
            duplicate_candidates_record(customer=keep, others=[Customer(pk=third_id)], reason=pair.reason)
    return len(third_parties)


def _merge_brought(keep: Customer, remove: Customer) -> int:
    """Whoever brought either profile brings the one kept (one row per client)."""
    already = BroughtCustomer.objects.filter(customer=keep).values("client_id")
    BroughtCustomer.objects.filter(customer=remove, client_id__in=already).delete()
    return BroughtCustomer.objects.filter(customer=remove).update(customer=keep)


merge_handler_register("customers.LoyaltyAccount.customer", _merge_loyalty)
merge_handler_register("customers.BroughtCustomer.customer", _merge_brought)
merge_handler_register(
    "customers.StoreCreditAccount.customer",
    lambda keep, remove: store_credit_accounts_merge(keep=keep, remove=remove),
)
merge_handler_register("customers.DuplicateCandidate.customer", _merge_duplicate_candidates)
merge_handler_register("customers.DuplicateCandidate.other", lambda keep, remove: 0)  # done with .customer


@use_case
def customer_merge(*, keep: Customer, remove: Customer, merged_by: Any = None) -> CustomerMerge:
    """Fold `remove` into `keep`: every row of every app that points at it moves, in one transaction."""
    if keep.pk == remove.pk:
        raise MergeRefused(gettext("A customer cannot be merged into itself."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, remove.pk]).order_by("pk")}
    if len(locked) != 2:
        raise MergeRefused(gettext("Both customers must exist."), code=CustomerErrorCode.CUSTOMER_MISSING)
    keep, remove = locked[keep.pk], locked[remove.pk]
    if keep.erased_at or remove.erased_at:
        raise MergeRefused(gettext("Erased customers are not merged."))

    snapshot = _snapshot(remove)
    moved: dict[str, int] = {}
    for relation in customer_relations():
        handler = MERGE_HANDLERS.get(relation.label)
        if handler is not None:
            moved[relation.label] = handler(keep, remove)
        else:
            moved[relation.label] = relation.rows_of(remove).update(**{relation.field.name: keep})
    # Outbox messages name the person by a reference, not a key: the kept profile's erasure reaches them.
    moved["config.OutboxMessage.subject"] = outbox_subject_rename(
        old=customer_outbox_subject(remove.pk), new=customer_outbox_subject(keep.pk)
    )
    moved["config.IdempotentRequest.subject"] = idempotent_requests_subject_rename(
        old=customer_outbox_subject(remove.pk), new=customer_outbox_subject(keep.pk)
    )

    # The kept profile takes what the removed one knew and it did not.
    filled = [name for name in Customer.PROFILE_FIELDS if not getattr(keep, name) and getattr(remove, name)]
    for name in filled:
        setattr(keep, name, getattr(remove, name))
    if remove.created_at < keep.created_at:
        keep.first_seen_channel = remove.first_seen_channel
        filled.append("first_seen_channel")
    if filled:
        keep.save(update_fields=[*filled, "updated_at"])
    remove.delete()
    return CustomerMerge.objects.create(
        customer=keep, removed_customer_id=snapshot["id"], removed_snapshot=snapshot, moved=moved, merged_by=merged_by
    )
