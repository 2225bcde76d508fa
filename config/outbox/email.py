"""The e-mail transport: subject, text, an HTML alternative, attachments, inline images.

A handler builds the `Email` at send time, in the recipient's language (the outbox runs
`send` under the message's language), and hands it to `email_send`; an SMTP refusal or a
timeout raises, which counts as a failed attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as StdlibEmailMessage
from email.message import Message as StdlibMessage
from email.policy import Policy
from email.policy import default as default_policy
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from config.models import OutboxMessage
from config.outbox.machinery import OutboxHandler, Outcome

# Longer than any SMTP exchange: after it, a send that never reported back is tried again.
EMAIL_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Email:
    """One e-mail. Attachments and inline images are (name or content id, content, media type)."""

    subject: str
    text: str
    to: Sequence[str]
    from_email: str = ""
    html: str = ""
    attachments: Sequence[tuple[str, bytes, str]] = ()
    # Shown by the HTML part (`<img src="cid:...">`), content ids without <>.
    inline_images: Sequence[tuple[str, bytes, str]] = ()


class _OutgoingEmail(EmailMultiAlternatives):
    """Text and HTML; images the HTML shows inline go with it in a multipart/related part.

    The structure mail clients expect: mixed[alternative[text, related[html, images]], files].
    """

    def __init__(self, *args: Any, inline_images: Sequence[tuple[str, bytes, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def message(self, *, policy: Policy[StdlibMessage[str, str]] | None = default_policy) -> StdlibEmailMessage:
        msg = super().message(policy=policy)
        html = msg.get_body(preferencelist=("html",))
        if html is not None:
            for cid, content, mimetype in self.inline_images:
                maintype, subtype = mimetype.split("/", 1)
                html.add_related(content, maintype, subtype, cid=f"<{cid}>", disposition="inline")
        return msg


def email_message(email: Email) -> EmailMultiAlternatives:
    """The Django message for an `Email` (sent by `email_send`)."""
    outgoing = _OutgoingEmail(
        subject=email.subject,
        body=email.text,
        from_email=email.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(email.to),
        inline_images=email.inline_images if email.html else (),
    )
    if email.html:
        outgoing.attach_alternative(email.html, "text/html")
    for name, content, media_type in email.attachments:
        outgoing.attach(name, content, media_type)
    return outgoing


def email_send(email: Email) -> None:
    """Send now through the configured mailer; raises when the server refuses or cannot be reached."""
    email_message(email).send()


class EmailHandler(OutboxHandler):
    """A kind whose message is one e-mail, built at send time by `email` from the domain's rows."""

    def lease(self) -> timedelta:
        return EMAIL_LEASE

    def email(self, message: OutboxMessage) -> Email:
        raise NotImplementedError

    def send(self, message: OutboxMessage) -> Outcome:
        email_send(self.email(message))
        return Outcome()
