"""Structured invoice formats behind one interface: canonical document in, bytes and findings out."""

from invoicing.formats.base import Finding, InvoiceFormat, Rendition, format_get, formats_for, formats_registered

__all__ = ["Finding", "InvoiceFormat", "Rendition", "format_get", "formats_for", "formats_registered"]
