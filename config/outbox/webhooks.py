"""The signed webhook: a JSON POST to a channel's integration or the ERP.

Every POST carries `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with
the secret, so a receiver can check who sent it and that nothing changed on the way, plus
`X-Delivery-Id` (the outbox message's id, the same on every retry and replay: the receiver's
key against repeats) and `X-Event`. A 2xx answer settles it; anything else (another answer,
a redirect, a refused connection, a timeout) is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext

from config.exceptions import ApplicationError, ConfigErrorCode, ConflictError
from config.models import ChannelClient, OutboxKind, OutboxMessage, WebhookSubscription
from config.outbox.machinery import ERROR_MAX_CHARS, OutboxHandler, Outcome, outbox_enqueue
from config.transactions import use_case

SIGNATURE_HEADER = "X-Signature-256"
USER_AGENT = "retail-backoffice-webhooks/1"


def _is_target_url(url: str) -> bool:
    """Deliveries go to http or https URLs with a host: never file:// or other schemes."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_target_url(url: str, *, field: str) -> None:
    if not _is_target_url(url):
        raise ApplicationError(
            gettext("Deliveries go to http or https URLs, not %(url)s.") % {"url": repr(url)},
            code=ConfigErrorCode.INVALID_TARGET_URL,
            fields={field: [gettext("Enter an http:// or https:// URL.")]},
        )


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The `X-Signature-256` header's value: `sha256=` and the hex HMAC-SHA256 of the raw body.

    Receivers compute the same over the bytes they received and compare with
    `hmac.compare_digest`.
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body_bytes(*, body: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, Decimals and dates as DjangoJSONEncoder writes them."""
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


@use_case
def webhook_subscription_create(*, client: ChannelClient, event: str, url: str) -> WebhookSubscription:
    """Subscribe a client to an event at a URL, with a new signing secret (read it from the row)."""
    _check_target_url(url, field="url")
    if not event:
        raise ApplicationError(
            gettext("Name the event to subscribe to."),
            code=ConfigErrorCode.INVALID,
            fields={"event": [gettext("Required.")]},
        )
    if WebhookSubscription.objects.filter(client=client, event=event, url=url).exists():
        raise ConflictError(
            gettext("%(client)s is already subscribed to %(event)s at %(url)s.")
            % {"client": client.name, "event": event, "url": url},
            code=ConfigErrorCode.DUPLICATE_SUBSCRIPTION,
            fields={"url": [gettext("Already subscribed.")]},
        )
    return WebhookSubscription.objects.create(client=client, event=event, url=url, secret=secrets.token_hex(32))


def webhook_enqueue(
    *,
    target_url: str,
    secret: str,
    event: str,
    body: Any,
    subscription: WebhookSubscription | None = None,
    subject: str = "",
    owed_after_erasure: bool = False,
) -> OutboxMessage:
    """Record a signed POST owed to `target_url`; a worker sends it once the caller's transaction commits.

    Call it inside the transaction that changed the data, so the POST is owed exactly when the
    change exists. `subject` names whose personal data the body carries (`outbox_enqueue`).
    """
    _check_target_url(target_url, field="target_url")
    return outbox_enqueue(
        kind=OutboxKind.WEBHOOK,
        target=target_url,
        secret=secret,
        event=event,
        body=body,
        subscription=subscription,
        subject=subject,
        owed_after_erasure=owed_after_erasure,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would turn the POST into a body-less GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def webhook_post(*, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return (HTTP status or None, error text; empty when the receiver answered 2xx)."""
    if not _is_target_url(url):  # checked when owed; again here, against a row changed since
        return None, f"Refused: {url!r} is not an http or https URL."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked above)
    try:
        with _opener.open(request, timeout=float(settings.OUTBOUND_TIMEOUT_SECONDS)) as response:
            status: int = response.status
            if 200 <= status < 300:
                return status, ""
            return status, f"HTTP {status}: {_read_snippet(response)}"
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}: {_read_snippet(exc)}"
    except urllib.error.URLError as exc:
        return None, f"{type(exc.reason).__name__}: {exc.reason}"
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, garbled responses
        return None, f"{type(exc).__name__}: {exc}"


def _read_snippet(response: Any) -> str:
    try:
        return str(response.read(ERROR_MAX_CHARS).decode(errors="replace")).strip()
    except (OSError, http.client.HTTPException):
        return ""


class WebhookHandler(OutboxHandler):
    """The stored body, POSTed signed with the stored secret to the stored URL."""

    kind = OutboxKind.WEBHOOK

    def send(self, message: OutboxMessage) -> Outcome:
        body = webhook_body_bytes(body=message.body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: webhook_signature(secret=message.secret, body=body),
            "X-Delivery-Id": str(message.pk),
            "X-Event": message.event,
        }
        status_code, error = webhook_post(url=message.target, body=body, headers=headers)
        return Outcome(error=error, status_code=status_code)
