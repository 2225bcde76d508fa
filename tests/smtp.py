"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread of the test process): where e-mail is sent to.

    with smtp_server() as smtp:
        ...  # point a mailer (or a worker: smtp.env) at smtp.host:smtp.port
        assert wait_until(lambda: len(smtp.messages) == 1)

The port is the one the kernel hands out when the listening socket is bound, so parallel
runs never race for it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server got it: the envelope's addresses, and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    def attachments(self) -> dict[str, tuple[str, bytes]]:
        """Attachment file name → (content type, decoded bytes)."""
        return {
            part.get_filename() or "": (part.get_content_type(), cast(bytes, part.get_payload(decode=True)))
            for part in self.message.iter_attachments()
        }


@dataclass
class SmtpServer:
    """Records every message it accepts; `env` is what a worker process needs to send to it."""

    host: str = HOST
    port: int = 0
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self.lock:
            return list(self.received)

    @property
    def env(self) -> dict[str, str]:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_TIMEOUT": "10",
        }

    # aiosmtpd handler hook
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        mail = ReceivedMail(mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), message=message)
        with self.lock:
            self.received.append(mail)
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """aiosmtpd's Controller listening on a socket already bound (to port 0: a free port)."""

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port)

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    server = SmtpServer(port=sock.getsockname()[1])
    controller = _BoundController(server, sock)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
        sock.close()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it), never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()
