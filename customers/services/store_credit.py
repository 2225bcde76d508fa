"""Store credit: money a customer holds with the shop, per currency, spent on orders like cash.

One account row per customer and currency keeps the balance; the ledger (`StoreCreditEntry`,
append-only) explains it. Every change is one guarded UPDATE of the account row: the database
locks that row, so two channels spending at once are served one after the other, and the
guard (`balance >= amount`) is checked on the value nobody else can change before the commit.
The check constraint `balance >= 0` stays as the database's own backstop.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exceptions import InsufficientStoreCredit, InvalidStoreCreditAmount
from customers.models import Customer, StoreCreditAccount, StoreCreditEntry
from customers.services.accounts import _account_get_or_create


def store_credit_account_get_or_create(*, customer: Customer, currency: str) -> StoreCreditAccount:
    return _account_get_or_create(StoreCreditAccount, customer=customer, currency=currency)


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
    *, customer: Customer, amount: Decimal, reference: str, reason: str, channel: str = "", currency: str | None = None
) -> StoreCreditEntry:
    """Credit the customer (a refund to store credit, a goodwill gesture)."""
    if amount <= 0:
        raise InvalidStoreCreditAmount(_("Store credit is granted in positive amounts."))
    account = store_credit_account_get_or_create(customer=customer, currency=currency or settings.DEFAULT_CURRENCY)
    StoreCreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount, updated_at=timezone.now())
    return StoreCreditEntry.objects.create(
        account=account, amount=amount, reference=reference, reason=reason, channel=channel
    )


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
