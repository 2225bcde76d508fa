from celery import shared_task


@shared_task(name="inventory.tasks.stock_changes_dispatch")
def stock_changes_dispatch() -> int:
    """Push new stock movements to subscribed channels; idempotent (cursor per subscription)."""
    from inventory.feed import stock_changes_dispatch as dispatch

    return dispatch()


@shared_task(name="inventory.tasks.low_stock_alerts_notify")
def low_stock_alerts_notify() -> int:
    """Owe staff the e-mails about alerts not yet notified (the outbox sends them); idempotent (each alert once)."""
    from inventory.alerts import low_stock_alerts_notify as notify

    return notify()
