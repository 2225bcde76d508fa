"""Identity kinds and how each is normalised, so one person's "612 34 56 78" and "+34612345678" match."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    WHATSAPP = "whatsapp", _("WhatsApp")
    INSTAGRAM = "instagram", _("Instagram")
    FACEBOOK = "facebook", _("Facebook")
    TIKTOK = "tiktok", _("TikTok")
    X = "x", _("X")
    WEB_ACCOUNT = "web_account", _("Web account")
    APP_DEVICE = "app_device", _("App device")
    LOYALTY_CARD = "loyalty_card", _("Loyalty card")


PHONE_KINDS = frozenset({IdentityKind.PHONE, IdentityKind.WHATSAPP})
HANDLE_KINDS = frozenset({IdentityKind.INSTAGRAM, IdentityKind.FACEBOOK, IdentityKind.TIKTOK, IdentityKind.X})
HANDLE_RE = re.compile(r"^[a-z0-9._-]{1,100}$")
OPAQUE_RE = re.compile(r"^\S{1,200}$")


def normalise_phone(value: str) -> str:
    """E.164, reading national numbers in the default region ("0034..." and "+34..." are one phone)."""
    raw = value.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, settings.CUSTOMER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(gettext("Enter a valid phone number."), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(gettext("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identity_normalise(kind: str, value: str) -> str:
    """The form of an identity that is compared and stored as unique. Raises ValidationError."""
    if kind not in IdentityKind.values:
        raise ValidationError(gettext("Unknown identity kind %(kind)r.") % {"kind": kind}, code="invalid_kind")
    value = (value or "").strip()
    if not value:
        raise ValidationError(gettext("An identity needs a value."), code="blank")
    if kind == IdentityKind.EMAIL:
        email = value.lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(gettext("Enter a valid e-mail address."), code="invalid_email") from None
        return email
    if kind in PHONE_KINDS:
        return normalise_phone(value)
    if kind in HANDLE_KINDS:
        handle = value.lower().removeprefix("@")
        if not HANDLE_RE.match(handle):
            raise ValidationError(gettext("Enter a valid handle."), code="invalid_handle")
        return handle
    if not OPAQUE_RE.match(value):
        raise ValidationError(gettext("An identifier has no spaces."), code="invalid_identifier")
    return value
