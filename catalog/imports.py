"""Whole-file catalog imports: every row is valid, or nothing is written."""

from dataclasses import dataclass

import tablib
from django.utils.translation import gettext as _

from catalog.exceptions import CatalogErrorCode
from catalog.resources import ProductVariantResource
from config.exceptions import ApplicationError
from config.transactions import use_case

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = the first data row under the header, as the admin's import page numbers them
    field: str
    message: str


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int


class CatalogImportRejected(ApplicationError):
    code = CatalogErrorCode.IMPORT_REJECTED


def _dataset(*, data: bytes, file_format: str) -> tablib.Dataset:
    if file_format not in FORMATS:
        raise ApplicationError(
            _("Import CSV or XLSX files."), code=CatalogErrorCode.UNSUPPORTED_FORMAT, fields={"format": [file_format]}
        )
    try:
        if file_format == "csv":
            return tablib.Dataset().load(data.decode("utf-8-sig"), format="csv")
        return tablib.Dataset().load(data, format="xlsx")
    except Exception as exc:  # tablib and openpyxl raise many kinds of error on a damaged file
        raise ApplicationError(
            _("The file cannot be read: %(error)s") % {"error": exc}, code=CatalogErrorCode.UNREADABLE_FILE
        ) from exc


@use_case
def catalog_import(*, data: bytes, file_format: str) -> ImportSummary:
    """Import products with variants from CSV or XLSX; a single bad row rejects the whole file."""
    dataset = _dataset(data=data, file_format=file_format)
    resource = ProductVariantResource()
    result = resource.import_data(
        dataset, dry_run=False, raise_errors=False, use_transactions=True, rollback_on_validation_errors=True
    )
    problems: list[RowError] = []
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            problems.extend(RowError(row=invalid.number, field=field, message=str(m)) for m in messages)
    for number, errors in result.row_errors():
        problems.extend(RowError(row=number, field="", message=str(e.error)) for e in errors)
    problems.extend(RowError(row=0, field="", message=str(e.error)) for e in result.base_errors)
    if problems:
        raise CatalogImportRejected(
            _("The file was rejected: %(count)d problem(s); nothing was imported.") % {"count": len(problems)},
            extra={"rows": [p.__dict__ for p in problems]},
        )
    totals = result.totals
    return ImportSummary(created=totals["new"], updated=totals["update"])
