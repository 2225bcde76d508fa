"""Store credit: money a customer holds with the shop, per currency, spent on orders like cash.

One account row per customer and currency keeps the balance; the ledger (`StoreCreditEntry`,
append-only) explains it. Every change is one guarded UPDATE of the account row: the database
locks that row, so two channels spending at once are served one after the other, and the
guard (`balance >= amount`) is checked on the value nobody else can change before the commit.
The check constraint `balance >= 0` stays as the database's own backstop.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.channels import Channel
from config.money import CURRENCY_MINOR_UNITS, has_valid_precision
from config.transactions import use_case
from customers.exceptions import CustomerErased, InsufficientStoreCredit, InvalidStoreCreditAmount
from customers.models import Customer, EventKind, StoreCreditAccount, StoreCreditEntry
from customers.services.accounts import account_get_or_create
from customers.services.events import customer_event_record

MAX_GRANT = Decimal(10) ** 10  # what an entry's amount holds (12 digits, 2 decimals)


def store_credit_account_get_or_create(*, customer: Customer, currency: str) -> StoreCreditAccount:
    return account_get_or_create(StoreCreditAccount, customer=customer, currency=currency)


def store_credit_balance(*, customer: Customer, currency: str | None = None) -> Decimal:
    """What the customer may spend in this currency (the default one unless told)."""
    balance = (
        StoreCreditAccount.objects.filter(customer=customer, currency=currency or settings.DEFAULT_CURRENCY)
        .values_list("balance", flat=True)
        .first()
    )
    return balance if balance is not None else Decimal(0)


@transaction.atomic
def store_credit_grant(
    *,
    customer: Customer,
    amount: Decimal,
    reference: str,
    reason: str,
    channel: str = "",
    currency: str | None = None,
    user: Any = None,
    form_token: UUID | None = None,
) -> StoreCreditEntry:
    """Credit the customer (a refund to store credit, a goodwill gesture); `user`: staff who granted it by hand."""
    if amount <= 0:
        raise InvalidStoreCreditAmount(_("Store credit is granted in positive amounts."))
    account = store_credit_account_get_or_create(customer=customer, currency=currency or settings.DEFAULT_CURRENCY)
    StoreCreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount, updated_at=timezone.now())
    return StoreCreditEntry.objects.create(
        account=account,
        amount=amount,
        reference=reference,
        reason=reason,
        channel=channel,
        created_by=user,
        form_token=form_token,
    )


@use_case
def store_credit_grant_by_staff(
    *, customer: Customer, amount: Decimal, currency: str, reason: str, user: Any, form_token: UUID | None = None
) -> StoreCreditEntry:
    """Staff grant store credit by hand (the customer's admin page): with a reason, on the ledger
    and the timeline, both naming who. A positive amount in the currency's minor units, up to
    `STORE_CREDIT_GRANT_MAX` unless a superuser grants it, to a customer not erased; anything else
    is refused and nothing changes. `form_token`: the form's one-time token; the same form sent
    again (a double click, a reload) answers the first grant and grants nothing more."""
    reason = (reason or "").strip()
    problems: dict[str, list[str]] = {}
    if not reason:
        problems["reason"] = [_("Say why.")]
    if currency not in CURRENCY_MINOR_UNITS:
        problems["currency"] = [_("Unknown currency.")]
    elif not 0 < amount < MAX_GRANT or not has_valid_precision(amount, currency):
        problems["amount"] = [_("A positive amount, in the currency's smallest unit at most.")]
    elif amount > settings.STORE_CREDIT_GRANT_MAX and not user.is_superuser:
        problems["amount"] = [
            _("Above %(max)s only a superuser grants store credit.") % {"max": settings.STORE_CREDIT_GRANT_MAX}
        ]
    if problems:
        raise InvalidStoreCreditAmount(_("The store credit cannot be granted as asked."), fields=problems)
    if customer.erased_at is not None:
        raise CustomerErased(_("This customer's data was erased."))
    if form_token is not None:
        # The account's row lock orders two sends of one form: the second finds the first's entry.
        account = store_credit_account_get_or_create(customer=customer, currency=currency)
        StoreCreditAccount.objects.select_for_update().filter(pk=account.pk).get()
        earlier = StoreCreditEntry.objects.filter(form_token=form_token).select_related("account").first()
        if earlier is not None:
            if earlier.account.customer_id != customer.pk:
                raise InvalidStoreCreditAmount(_("This form was already used: open it again."))
            return earlier
    entry = store_credit_grant(
        customer=customer,
        amount=amount,
        currency=currency,
        reference="",
        reason=reason,
        channel=Channel.STORE,
        user=user,
        form_token=form_token,
    )
    customer_event_record(
        customer=customer,
        channel=Channel.STORE,
        kind=EventKind.STORE_CREDIT_GRANTED,
        payload={"change": f"+{amount} {currency}", "reason": reason, "by": user.get_username(), "entry": entry.pk},
    )
    return entry


@transaction.atomic
def store_credit_spend(
    *, customer: Customer, amount: Decimal, reference: str, channel: str = "", currency: str | None = None
) -> StoreCreditEntry:
    """Spend store credit: refused (409) beyond the balance, whoever else spends at the same moment."""
    if amount <= 0:
        raise InvalidStoreCreditAmount(_("Store credit is spent in positive amounts."))
    currency = currency or settings.DEFAULT_CURRENCY
    account = StoreCreditAccount.objects.filter(customer=customer, currency=currency).first()
    # The guarded UPDATE locks the row: a second spender waits, then finds the balance it left.
    if account is None or not StoreCreditAccount.objects.filter(pk=account.pk, balance__gte=amount).update(
        balance=F("balance") - amount, updated_at=timezone.now()
    ):
        balance = store_credit_balance(customer=customer, currency=currency)
        raise InsufficientStoreCredit(
            _("Not enough store credit."), extra={"balance": str(balance), "requested": str(amount)}
        )
    return StoreCreditEntry.objects.create(
        account=account, amount=-amount, reference=reference, reason="order", channel=channel
    )


def store_credit_accounts_merge(*, keep: Customer, remove: Customer) -> int:
    """Fold `remove`'s accounts into `keep`'s, currency by currency (a customer merge).

    Where both hold credit in a currency, the ledger moves to keep's account and the balances
    add up; otherwise the account itself changes hands. Returns the rows the UPDATEs moved, as
    the loyalty handler does: the ledger entries moved into keep's accounts, and one per account
    that changed hands (its entries stay on it).
    """
    accounts = list(
        StoreCreditAccount.objects.select_for_update()
        .filter(customer__in=[keep, remove])
        .order_by("pk")  # the accounts' one lock order
    )
    kept = {account.currency: account for account in accounts if account.customer_id == keep.pk}
    moved = 0
    for account in accounts:
        if account.customer_id != remove.pk:
            continue
        into = kept.get(account.currency)
        if into is None:  # keep had none in this currency: the account itself changes hands
            moved += StoreCreditAccount.objects.filter(pk=account.pk).update(customer=keep)
            continue
        moved += StoreCreditEntry.objects.filter(account=account).update(account=into)
        StoreCreditAccount.objects.filter(pk=into.pk).update(
            balance=F("balance") + account.balance, updated_at=timezone.now()
        )
        account.delete()
    return moved
