from celery import shared_task


@shared_task(name="invoicing.tasks.invoice_process", acks_late=True)
def invoice_process(invoice_id: int) -> None:
    """Render, store and e-mail one issued document; each step once however often it runs."""
    from invoicing.delivery import invoice_process as process

    process(invoice_id=invoice_id)


@shared_task(name="invoicing.tasks.invoices_sweep")
def invoices_sweep() -> int:
    """Re-enqueue documents not yet rendered or e-mailed (periodic: CELERY_BEAT_SCHEDULE)."""
    from invoicing.delivery import invoices_sweep as sweep

    return sweep()
