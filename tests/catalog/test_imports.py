"""Whole-file catalog imports (CSV, XLSX), the export, and the admin's import page."""

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.imports import CatalogImportRejected, ImportSummary, catalog_import
from catalog.models import Category, Product, TaxCategory, Variant
from catalog.resources import ProductVariantResource
from config.exceptions import ApplicationError
from tests.factories import CategoryFactory, ProductFactory, TaxCategoryFactory, VariantFactory

pytestmark = pytest.mark.django_db

HEADERS = (
    "product_slug",
    "product_name",
    "brand",
    "category",
    "tax_category",
    "description",
    "product_active",
    "sku",
    "barcode",
    "size",
    "colour",
    "price",
    "compare_at_price",
    "attributes",
    "is_active",
)
# fmt: off
GOOD_ROWS: list[tuple[str, ...]] = [
    ("basic-tee", "Basic tee", "Brisa", "camisetas", "general", "Cotton.", "1", "TEE-M", "4006381333931", "M", "Negro", "19.99", "24.99", '{"fit": "regular"}', "1"),
    ("basic-tee", "Basic tee", "Brisa", "camisetas", "general", "Cotton.", "1", "TEE-L", "036000291452", "L", "Negro", "19.99", "", "", "1"),
    ("slim-jeans", "Slim jeans", "Denimo", "camisetas", "general", "", "1", "JEANS-32", "96385074", "32", "Azul", "49.90", "", "", "1"),
    ("slim-jeans", "Slim jeans", "Denimo", "camisetas", "general", "", "1", "JEANS-34", "", "34", "Azul", "49.90", "", "", "1"),
]
# fmt: on


def row(good_sku: str, **changes: str) -> tuple[str, ...]:
    """The good row of this SKU, with some columns changed."""
    values = dict(zip(HEADERS, next(r for r in GOOD_ROWS if r[7] == good_sku), strict=True))
    values.update(changes)
    return tuple(values[h] for h in HEADERS)


def to_csv(rows: Sequence[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def to_xlsx(rows: Sequence[tuple[str, ...]]) -> bytes:
    return tablib.Dataset(*rows, headers=HEADERS).export("xlsx")


@pytest.fixture(autouse=True)
def references() -> tuple[Category, TaxCategory]:
    """What the rows name by slug and code: they must exist before an import."""
    return CategoryFactory.create(name="Camisetas", slug="camisetas"), TaxCategoryFactory.create(code="general")


# Good files


def test_import_creates_products_and_variants() -> None:
    summary = catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    assert summary == ImportSummary(created=4, updated=0)
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["basic-tee", "slim-jeans"]
    assert dict(Variant.objects.values_list("sku", "product__slug")) == {
        "TEE-M": "basic-tee",
        "TEE-L": "basic-tee",
        "JEANS-32": "slim-jeans",
        "JEANS-34": "slim-jeans",
    }


def test_import_fills_product_columns(references: tuple[Category, TaxCategory]) -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    product = Product.objects.get(slug="basic-tee")
    assert (product.name, product.brand, product.description, product.is_active) == (
        "Basic tee",
        "Brisa",
        "Cotton.",
        True,
    )
    assert (product.category, product.tax_category) == references


def test_import_fills_variant_columns() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    variant = Variant.objects.get(sku="TEE-M")
    assert variant.barcode == "4006381333931"
    assert (variant.size, variant.colour, variant.is_active) == ("M", "Negro", True)
    assert (variant.price, variant.compare_at_price) == (Decimal("19.99"), Decimal("24.99"))
    assert variant.attributes == {"fit": "regular"}


def test_import_reads_weights_when_the_file_has_the_column() -> None:
    weighed = [(*r, w) for r, w in zip(GOOD_ROWS, ("250", "", "600", "610"), strict=True)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow((*HEADERS, "weight_grams"))
    writer.writerows(weighed)

    catalog_import(data=buffer.getvalue().encode(), file_format="csv")

    assert dict(Variant.objects.values_list("sku", "weight_grams")) == {
        "TEE-M": 250,
        "TEE-L": 0,
        "JEANS-32": 600,
        "JEANS-34": 610,
    }


def test_a_file_without_weights_leaves_them_as_they_are() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")
    Variant.objects.filter(sku="TEE-M").update(weight_grams=250)

    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    assert Variant.objects.get(sku="TEE-M").weight_grams == 250


def test_import_leaves_empty_optional_columns_empty() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    variant = Variant.objects.get(sku="JEANS-34")
    assert (variant.barcode, variant.compare_at_price, variant.attributes) == (None, None, {})


def test_import_stores_barcode_without_spaces() -> None:
    catalog_import(data=to_csv([row("TEE-M", barcode="4006 3813-33931")]), file_format="csv")

    assert Variant.objects.get(sku="TEE-M").barcode == "4006381333931"


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_import_can_hide_a_product(value: str) -> None:
    catalog_import(data=to_csv([row("TEE-M", product_active=value)]), file_format="csv")

    assert Product.objects.get(slug="basic-tee").is_active is False


def test_import_reads_a_blank_active_column_as_active() -> None:
    catalog_import(data=to_csv([row("TEE-M", product_active="", is_active="")]), file_format="csv")

    variant = Variant.objects.select_related("product").get(sku="TEE-M")
    assert (variant.is_active, variant.product.is_active) == (True, True)


def test_reimporting_the_same_file_updates_and_creates_nothing() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    summary = catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    assert summary == ImportSummary(created=0, updated=4)
    assert (Product.objects.count(), Variant.objects.count()) == (2, 4)


def test_reimport_changes_a_variant_price() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")
    rows = [row("TEE-M", price="17.99"), *GOOD_ROWS[1:]]

    catalog_import(data=to_csv(rows), file_format="csv")

    assert Variant.objects.get(sku="TEE-M").price == Decimal("17.99")
    assert Variant.objects.get(sku="TEE-L").price == Decimal("19.99")


def test_reimport_changes_product_columns() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")
    renamed = {"product_name": "Organic tee", "brand": "Brisa Eco"}
    rows = [row("TEE-M", **renamed), row("TEE-L", **renamed), *GOOD_ROWS[2:]]

    catalog_import(data=to_csv(rows), file_format="csv")

    product = Product.objects.get(slug="basic-tee")
    assert (product.name, product.brand) == ("Organic tee", "Brisa Eco")


def test_import_reads_xlsx() -> None:
    summary = catalog_import(data=to_xlsx(GOOD_ROWS), file_format="xlsx")

    assert summary == ImportSummary(created=4, updated=0)
    assert dict(Variant.objects.values_list("sku", "price")) == {
        "TEE-M": Decimal("19.99"),
        "TEE-L": Decimal("19.99"),
        "JEANS-32": Decimal("49.90"),
        "JEANS-34": Decimal("49.90"),
    }


def test_import_rejects_other_formats() -> None:
    with pytest.raises(ApplicationError) as exc_info:
        catalog_import(data=to_csv(GOOD_ROWS), file_format="json")

    assert exc_info.value.code == "unsupported_format"


@pytest.mark.parametrize(
    ("data", "file_format"),
    [
        pytest.param(b"not a spreadsheet", "xlsx", id="xlsx-not-a-zip"),
        pytest.param("sku,price\ncamión,1\n".encode("latin-1"), "csv", id="csv-not-utf8"),
    ],
)
def test_unreadable_file_is_rejected(data: bytes, file_format: str) -> None:
    with pytest.raises(ApplicationError) as exc_info:
        catalog_import(data=data, file_format=file_format)

    assert exc_info.value.code == "unreadable_file"


# Bad files: nothing is written


BAD_ROWS = [
    GOOD_ROWS[0],
    GOOD_ROWS[1],
    row("JEANS-32", barcode="96385075"),  # row 3: wrong check digit
    row("JEANS-34", price="0"),  # row 4: zero price
    row("TEE-M", sku="TEE-S", barcode="", category="no-such-category"),  # row 5: unknown category
]


def rejection(data: bytes, file_format: str = "csv") -> CatalogImportRejected:
    with pytest.raises(CatalogImportRejected) as exc_info:
        catalog_import(data=data, file_format=file_format)
    return exc_info.value


def test_bad_rows_reject_the_whole_file() -> None:
    exc = rejection(to_csv(BAD_ROWS))

    assert exc.code == "import_rejected"
    assert {(problem["row"], problem["field"]) for problem in exc.extra["rows"]} >= {
        (3, "barcode"),
        (4, "price"),
        (5, "category"),
    }


def test_rejection_names_only_the_bad_rows() -> None:
    exc = rejection(to_csv(BAD_ROWS))

    assert {problem["row"] for problem in exc.extra["rows"]} == {3, 4, 5}


def test_rejection_gives_a_reason_for_each_problem() -> None:
    exc = rejection(to_csv(BAD_ROWS))

    assert all(problem["message"].strip() for problem in exc.extra["rows"])
    reasons = {(problem["row"], problem["field"]): problem["message"] for problem in exc.extra["rows"]}
    assert "check digit" in reasons[3, "barcode"]
    assert "no-such-category" in reasons[5, "category"]


def test_unreadable_cell_is_reported_on_its_row() -> None:
    exc = rejection(to_csv([GOOD_ROWS[0], row("TEE-L", price="abc")]))

    assert {(problem["row"], problem["field"]) for problem in exc.extra["rows"]} == {(2, "price")}


def test_barcode_repeated_within_the_file_is_rejected() -> None:
    exc = rejection(to_csv([GOOD_ROWS[0], row("TEE-L", barcode=GOOD_ROWS[0][8])]))

    assert {(problem["row"], problem["field"]) for problem in exc.extra["rows"]} == {(2, "barcode")}


def test_file_without_sku_column_is_rejected() -> None:
    data = b"product_slug,product_name,category,tax_category,price\nbasic-tee,Basic tee,camisetas,general,19.99\n"

    exc = rejection(data)

    assert any("sku" in problem["message"] for problem in exc.extra["rows"])
    assert not Product.objects.exists()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_rejected_file_writes_nothing(file_format: str) -> None:
    convert = to_csv if file_format == "csv" else to_xlsx

    rejection(convert(BAD_ROWS), file_format)

    assert (Product.objects.count(), Variant.objects.count()) == (0, 0)


def test_rejected_file_leaves_existing_products_and_variants_unchanged(
    references: tuple[Category, TaxCategory],
) -> None:
    category, _tax_category = references
    product = ProductFactory.create(slug="basic-tee", name="Old name", brand="Old brand", category=category)
    VariantFactory.create(product=product, sku="TEE-M", price=Decimal("29.99"), barcode="4006381333931")
    before = (Product.objects.count(), Variant.objects.count())

    rejection(to_csv(BAD_ROWS))

    product.refresh_from_db()
    assert (product.name, product.brand, product.description) == ("Old name", "Old brand", "")
    assert Variant.objects.get(sku="TEE-M").price == Decimal("29.99")
    assert (Product.objects.count(), Variant.objects.count()) == before


# Export


def test_export_has_one_row_per_variant_with_its_product_columns() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")

    dataset = ProductVariantResource().export()

    exported = {r["sku"]: r for r in dataset.dict}
    assert sorted(exported) == sorted(r[7] for r in GOOD_ROWS)
    assert {
        k: exported["JEANS-34"][k] for k in ("product_slug", "product_name", "brand", "category", "tax_category")
    } == {
        "product_slug": "slim-jeans",
        "product_name": "Slim jeans",
        "brand": "Denimo",
        "category": "camisetas",
        "tax_category": "general",
    }


def test_exported_file_imports_back_unchanged() -> None:
    catalog_import(data=to_csv(GOOD_ROWS), file_format="csv")
    before = list(Variant.objects.order_by("sku").values())

    summary = catalog_import(data=ProductVariantResource().export().export("csv").encode(), file_format="csv")

    assert summary == ImportSummary(created=0, updated=4)
    assert list(Variant.objects.order_by("sku").values()) == before


# The admin's import and export pages

IMPORT_URL = "/admin/catalog/product/import/"


def admin_import(client: Any, data: bytes, name: str = "catalog.csv") -> Any:
    # Formats are offered in ProductAdmin.formats order: CSV is 0. One resource: index 0.
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(IMPORT_URL, {"import_file": upload, "format": "0", "resource": "0"})


def test_admin_import_page_responds(admin_client: Any) -> None:
    assert admin_client.get(IMPORT_URL).status_code == 200


def test_admin_import_of_bad_file_shows_the_errors(admin_client: Any) -> None:
    response = admin_import(admin_client, to_csv(BAD_ROWS))

    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    assert {invalid.number for invalid in result.invalid_rows} == {3, 4, 5}
    assert "confirm_form" not in response.context
    assert "check digit" in response.content.decode()


def test_admin_import_of_bad_file_writes_nothing(admin_client: Any) -> None:
    admin_import(admin_client, to_csv(BAD_ROWS))

    assert (Product.objects.count(), Variant.objects.count()) == (0, 0)


def test_admin_import_preview_of_good_file_writes_nothing_yet(admin_client: Any) -> None:
    response = admin_import(admin_client, to_csv(GOOD_ROWS))

    assert "confirm_form" in response.context
    assert (Product.objects.count(), Variant.objects.count()) == (0, 0)


def test_admin_export_page_responds(admin_client: Any) -> None:
    assert admin_client.get("/admin/catalog/product/export/").status_code == 200
