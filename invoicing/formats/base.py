"""The pluggable format interface.

A format turns the canonical `InvoiceDocument` into bytes and says what is wrong with
them (XSD and business-rule findings). Formats are listed by dotted path in the
`INVOICE_FORMATS` setting, so a country format (Facturae, ARCA, SII) is added by
writing a class and naming it there: the core never changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

from invoicing.documents import InvoiceDocument

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # stubs only: not installed to run


@dataclass(frozen=True)
class Finding:
    """One validation finding: the rule broken (e.g. "BR-CO-15", or "XSD"), and why."""

    rule: str
    message: str
    location: str = ""


@dataclass(frozen=True)
class Rendition:
    format_code: str
    content: bytes
    findings: tuple[Finding, ...]

    @property
    def is_valid(self) -> bool:
        return not self.findings


class InvoiceFormat(ABC):
    """Base class of a structured format. Subclasses set the class attributes and build/validate."""

    code: ClassVar[str]  # stable identifier, stored with the rendition, used in URLs
    label: ClassVar[StrOrPromise]
    media_type: ClassVar[str] = "application/xml"
    file_extension: ClassVar[str] = "xml"

    def applies_to(self, document: InvoiceDocument) -> bool:
        """Whether this document can be expressed in the format (EN 16931 needs a buyer's country and name)."""
        return True

    @abstractmethod
    def build(self, document: InvoiceDocument) -> bytes: ...

    @abstractmethod
    def validate(self, content: bytes) -> tuple[Finding, ...]:
        """Every finding of the schema and of the business rules; empty when valid."""

    def render(self, document: InvoiceDocument) -> Rendition:
        content = self.build(document)
        return Rendition(format_code=self.code, content=content, findings=self.validate(content))


@cache
def formats_registered() -> tuple[InvoiceFormat, ...]:
    """One instance per configured format (per process: schemas compile once)."""
    return tuple(import_string(path)() for path in settings.INVOICE_FORMATS)


def format_get(code: str) -> InvoiceFormat:
    for invoice_format in formats_registered():
        if invoice_format.code == code:
            return invoice_format
    raise KeyError(code)


def formats_for(document: InvoiceDocument) -> tuple[InvoiceFormat, ...]:
    return tuple(f for f in formats_registered() if f.applies_to(document))
