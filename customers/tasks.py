from celery import shared_task


@shared_task(name="customers.tasks.customer_duplicates_find")
def customer_duplicates_find() -> int:
    """Sweeper: record possible duplicate profiles for staff (idempotent)."""
    from customers.services import customer_duplicates_find as find

    return find()


@shared_task(name="customers.tasks.loyalty_expire_sweep")
def loyalty_expire_sweep() -> int:
    """Sweeper: enqueue an expiry for every account idle past LOYALTY_EXPIRY_DAYS."""
    from customers.selectors import loyalty_account_ids_due_to_expire

    ids = loyalty_account_ids_due_to_expire()
    for account_id in ids:
        loyalty_account_expire.delay(account_id)
    return len(ids)


@shared_task(name="customers.tasks.loyalty_account_expire", acks_late=True)
def loyalty_account_expire(account_id: int) -> None:
    """Expire one account's points; re-checks the account, so running twice is harmless."""
    from customers.services import loyalty_account_expire as expire

    expire(account_id=account_id)
