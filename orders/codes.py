"""Codes handed to customers: the order number as typed, the pickup code (in the QR), the tracking token.

The pickup code carries the order number and a 128-bit secret kept on the order, signed
with the project's key: it cannot be guessed or forged, and it is single use (the order
records when it was used). Staff at a counter may type the short form instead: eight
characters derived from the same secret, checked against the order they have in hand.
"""

import base64
import hashlib
import hmac
import io
import secrets

import segno
from django.conf import settings
from django.core import signing

PICKUP_SALT = "orders.pickup"
TRACKING_SALT = "orders.tracking"


def order_number_normalise(value: str) -> str:
    """An order number as people type it (read over the phone, copied from an e-mail) in its stored form.

    Any case, spaces anywhere, the dash left out: `abcd 1234` and `abcd1234` are `ABCD-1234`. The
    admin's search, the API's order lookup and public tracking all read numbers through this one
    function, so a number found in one is found in the others.
    """
    number = "".join((value or "").split()).upper()
    if len(number) == 8 and "-" not in number:
        number = f"{number[:4]}-{number[4:]}"
    return number


def pickup_secret_new() -> str:
    return secrets.token_hex(16)


def pickup_code(*, number: str, secret: str) -> str:
    return signing.Signer(salt=PICKUP_SALT).sign(f"{number}.{secret}")


def pickup_code_parse(code: str) -> tuple[str, str] | None:
    """(number, secret) from a genuine code; None for anything forged or mangled."""
    try:
        value = signing.Signer(salt=PICKUP_SALT).unsign((code or "").strip())
    except signing.BadSignature:
        return None
    number, _, secret = value.rpartition(".")
    return (number, secret) if number and secret else None


def _same(typed: str, expected: str) -> bool:
    """Constant-time comparison of text as typed: compare_digest refuses non-ASCII str, not bytes."""
    return hmac.compare_digest(typed.encode(), expected.encode())


def pickup_short_code(*, secret: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{PICKUP_SALT}:{secret}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode()  # 8 characters, no padding


def pickup_code_matches(*, code: str, number: str, secret: str) -> bool:
    """The full signed code of this order, or its short form typed by staff."""
    if not secret:
        return False
    parsed = pickup_code_parse(code)
    if parsed is not None:
        return parsed[0] == number and _same(parsed[1], secret)
    typed = (code or "").strip().upper().replace("-", "").replace(" ", "")
    return _same(typed, pickup_short_code(secret=secret))


def pickup_qr(*, code: str, kind: str) -> bytes:
    """The pickup code as a QR image: "svg" or "png"."""
    qr = segno.make(code, error="m")
    out = io.BytesIO()
    qr.save(out, kind=kind, scale=6, border=2)
    return out.getvalue()


def tracking_token(*, number: str) -> str:
    """The token in e-mails and QR links that opens the order's public tracking page."""
    return signing.Signer(salt=TRACKING_SALT).signature(number)


def tracking_token_matches(*, number: str, token: str) -> bool:
    return _same((token or "").strip(), tracking_token(number=number))


def tracking_url(*, number: str) -> str:
    return settings.ORDER_TRACKING_URL.format(number=number, token=tracking_token(number=number))
