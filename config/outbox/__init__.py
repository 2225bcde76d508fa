"""The outbox: the one machinery for everything owed to another system or person.

Webhooks to channels and the ERP, invoice e-mails, order notifications, low-stock alert
e-mails and tax-agency submissions are all rows of `config.models.OutboxMessage`, sent by
the same steps:

1. **Enqueue.** A domain app calls `outbox_enqueue` (or `webhook_enqueue`) inside the
   transaction that changed its data, so the message exists exactly when the change does.
   A dedupe key makes it once per key and kind (one e-mail per invoice). The Celery task
   `config.tasks.outbox_send` is enqueued with `transaction.on_commit`.
2. **Claim.** `outbox_send` takes the row in a short transaction (`skip_locked`): it counts
   the attempt and leases the row (`leased_until`, the next attempt pushed past it). A
   second worker handed the same id finds it not due; a worker that dies mid-send leaves the
   lease to run out. A row whose last attempt never reported back becomes a dead letter.
3. **Send**, with no transaction open, through the handler of its kind (`OutboxHandler`):
   the signed webhook POST and the e-mail are the transports (`config.outbox.webhooks`,
   `config.outbox.email`). A handler may wait (`OutboxDefer`: no attempt counted).
4. **Settle** in a second short transaction, only if the claim is still ours: sent; or a
   failed attempt that pushes the next one back (`OUTBOUND_BACKOFF_BASE_SECONDS` doubling,
   plus jitter, at most 6 hours) until the kind's maximum attempts make it a dead letter;
   or undeliverable (nobody to send it to). The handler's `settled` runs in that transaction.
5. **Sweep.** `config.tasks.outbox_sweep` (beat, every minute) re-enqueues every pending row
   that is due: retries, and sends lost with a broker or a worker.
6. **Replay.** Staff send dead letters (or pending rows) again from the admin's outbox
   screen (`outbox_replay`), with a fresh count of attempts and the same body and signature.
7. **Forget.** A message names whose personal data it carries (`subject`); erasing that person
   redacts it, and `OUTBOX_RETENTION_DAYS` after it settled the sweeper purges it anyway, a
   dead letter included (its row and error stay for staff; not one still owed after erasure)
   (`config.outbox.privacy`).

The kinds are `config.models.OutboxKind`. Where the message is built at send time from a
domain's rows (the invoice's PDF and XML, the order notification's text and route), the
domain registers the handler of its kind from its `AppConfig.ready()` with
`outbox_handler_register`: config never imports a domain app. A test fails when a kind has
no handler.
"""

from config.outbox.email import EMAIL_LEASE, Email, EmailHandler, email_message, email_send
from config.outbox.machinery import (
    BACKOFF_JITTER,
    BACKOFF_MAX,
    DEFER_DELAY,
    ERROR_MAX_CHARS,
    SWEEP_GRACE,
    OutboxDefer,
    OutboxHandler,
    Outcome,
    outbox_backoff,
    outbox_enqueue,
    outbox_expedite,
    outbox_handler,
    outbox_handler_register,
    outbox_kinds_without_handler,
    outbox_replay,
    outbox_send,
    outbox_sweep,
)
from config.outbox.privacy import outbox_retention_purge, outbox_subject_erase, outbox_subject_rename
from config.outbox.webhooks import (
    SIGNATURE_HEADER,
    WebhookHandler,
    webhook_body_bytes,
    webhook_enqueue,
    webhook_signature,
    webhook_subscription_create,
)

__all__ = [
    "BACKOFF_JITTER",
    "BACKOFF_MAX",
    "DEFER_DELAY",
    "EMAIL_LEASE",
    "ERROR_MAX_CHARS",
    "SIGNATURE_HEADER",
    "SWEEP_GRACE",
    "Email",
    "EmailHandler",
    "OutboxDefer",
    "OutboxHandler",
    "Outcome",
    "WebhookHandler",
    "email_message",
    "email_send",
    "outbox_backoff",
    "outbox_enqueue",
    "outbox_expedite",
    "outbox_handler",
    "outbox_handler_register",
    "outbox_kinds_without_handler",
    "outbox_replay",
    "outbox_retention_purge",
    "outbox_send",
    "outbox_subject_erase",
    "outbox_subject_rename",
    "outbox_sweep",
    "webhook_body_bytes",
    "webhook_enqueue",
    "webhook_signature",
    "webhook_subscription_create",
]
