"""The catalog admin as a superuser: pages respond, searches find, filters filter, Spanish works."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product
from tests.factories import CategoryFactory, CategoryTree, ProductFactory, PromotionFactory, VariantFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/admin/catalog/product/"
VARIANTS = "/admin/catalog/variant/"
PROMOTIONS = "/admin/catalog/promotion/"


def shown_names(response: Any) -> list[str]:
    """Object names in a changelist, in order."""
    assert response.status_code == 200
    return [str(obj) for obj in response.context["cl"].result_list]


@pytest.mark.usefixtures("category_tree")
@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/catalog/",
        PRODUCTS,
        f"{PRODUCTS}add/",
        VARIANTS,
        f"{VARIANTS}add/",
        PROMOTIONS,
        f"{PROMOTIONS}add/",
        "/admin/catalog/category/",
        "/admin/catalog/category/add/",
        "/admin/catalog/taxcategory/",
        "/admin/catalog/taxcategory/add/",
    ],
)
def test_admin_page_responds(admin_client: Any, url: str) -> None:
    VariantFactory.create()
    PromotionFactory.create()

    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["product", "variant", "promotion", "category", "taxcategory"])
def test_change_page_responds(admin_client: Any, path: str) -> None:
    variant = VariantFactory.create()
    objects: dict[str, Model] = {
        "product": variant.product,
        "variant": variant,
        "promotion": PromotionFactory.create(products=[variant.product]),
        "category": variant.product.category,
        "taxcategory": variant.product.tax_category,
    }

    assert admin_client.get(f"/admin/catalog/{path}/{objects[path].pk}/change/").status_code == 200


# Products


@pytest.fixture
def tee_and_jeans() -> None:
    VariantFactory.create(product=ProductFactory.create(name="Basic tee"), sku="TEE-M", barcode="4006381333931")
    VariantFactory.create(product=ProductFactory.create(name="Slim jeans"), sku="JEANS-32", barcode="96385074")


@pytest.mark.usefixtures("tee_and_jeans")
@pytest.mark.parametrize("query", ["TEE-M", "4006381333931", "tee"], ids=["sku", "barcode", "name"])
def test_product_search_finds_the_product(admin_client: Any, query: str) -> None:
    assert shown_names(admin_client.get(PRODUCTS, {"q": query})) == ["Basic tee"]


def test_product_search_by_sku_keeps_the_variant_count(admin_client: Any) -> None:
    product = ProductFactory.create(name="Basic tee")
    VariantFactory.create(product=product, sku="TEE-M")
    VariantFactory.create_batch(2, product=product)

    response = admin_client.get(PRODUCTS, {"q": "TEE-M"})

    [shown] = response.context["cl"].result_list
    assert shown.num_variants == 3
    assert '<td class="field-variant_count">3</td>' in response.content.decode()


def test_product_brand_filter(admin_client: Any) -> None:
    ProductFactory.create(name="Basic tee", brand="Brisa")
    ProductFactory.create(name="Slim jeans", brand="Denimo")

    assert shown_names(admin_client.get(PRODUCTS, {"brand": "Denimo"})) == ["Slim jeans"]


def test_product_change_page_shows_the_variant_inline(admin_client: Any) -> None:
    variant = VariantFactory.create(sku="TEE-M", barcode="4006381333931")
    VariantFactory.create(product=variant.product, sku="TEE-L")

    response = admin_client.get(f"{PRODUCTS}{variant.product.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="variants-TOTAL_FORMS" value="2"' in content
    assert 'value="TEE-M"' in content
    assert 'value="TEE-L"' in content
    assert 'value="4006381333931"' in content


@pytest.mark.parametrize(("action", "active"), [("deactivate", False), ("activate", True)])
def test_product_actions_set_active(admin_client: Any, action: str, active: bool) -> None:
    chosen = ProductFactory.create(is_active=not active)
    other = ProductFactory.create(is_active=not active)

    response = admin_client.post(PRODUCTS, {"action": action, "_selected_action": [chosen.pk]})

    assert response.status_code == 302
    assert Product.objects.get(pk=chosen.pk).is_active is active
    assert Product.objects.get(pk=other.pk).is_active is not active


def test_product_changelist_queries_do_not_grow_with_products(
    admin_client: Any, category_tree: CategoryTree, django_assert_max_num_queries: Any
) -> None:
    def add_products(count: int) -> None:
        for i in range(count):
            product = ProductFactory.create(category=category_tree.child, brand=f"Brand {i % 3}")
            VariantFactory.create_batch(3, product=product)

    add_products(5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(PRODUCTS).status_code == 200
    add_products(45)

    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(PRODUCTS)

    assert len(response.context["cl"].result_list) == 50
    assert len(many) == len(few)
    with django_assert_max_num_queries(len(few)):
        admin_client.get(PRODUCTS)


# Variants


@pytest.mark.usefixtures("tee_and_jeans")
@pytest.mark.parametrize(
    ("query", "expected"),
    [("JEANS-32", "JEANS-32"), ("96385074", "JEANS-32"), ("Basic tee", "TEE-M")],
    ids=["sku", "barcode", "product-name"],
)
def test_variant_search_finds_the_variant(admin_client: Any, query: str, expected: str) -> None:
    response = admin_client.get(VARIANTS, {"q": query})

    assert [variant.sku for variant in response.context["cl"].result_list] == [expected]


def test_variant_search_by_sku_is_exact(admin_client: Any) -> None:
    VariantFactory.create(sku="TEE-M")
    VariantFactory.create(sku="TEE-M-2")

    response = admin_client.get(VARIANTS, {"q": "TEE-M"})

    assert [variant.sku for variant in response.context["cl"].result_list] == ["TEE-M"]


# Promotions


@pytest.fixture
def promotions_in_time() -> None:
    now = timezone.now()
    PromotionFactory.create(name="Running", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    PromotionFactory.create(name="Open-ended", starts_at=now - timedelta(days=1), ends_at=None)
    PromotionFactory.create(name="Upcoming", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    PromotionFactory.create(name="Ended", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    PromotionFactory.create(name="Switched off", is_active=False)


@pytest.mark.usefixtures("promotions_in_time")
@pytest.mark.parametrize(
    ("state", "expected"),
    [("running", ["Open-ended", "Running"]), ("upcoming", ["Upcoming"]), ("ended", ["Ended"])],
)
def test_promotion_state_filter(admin_client: Any, state: str, expected: list[str]) -> None:
    assert sorted(shown_names(admin_client.get(PROMOTIONS, {"state": state}))) == expected


def test_promotion_search_by_name(admin_client: Any) -> None:
    PromotionFactory.create(name="Summer sale", value=Decimal(20))
    PromotionFactory.create(name="Black Friday")

    assert shown_names(admin_client.get(PROMOTIONS, {"q": "summer"})) == ["Summer sale"]


# Categories


def test_category_changelist_shows_the_roots(admin_client: Any, category_tree: CategoryTree) -> None:
    CategoryFactory.create(name="Accesorios", slug="accesorios")

    assert sorted(shown_names(admin_client.get("/admin/catalog/category/"))) == ["Accesorios", "Ropa"]


def test_category_search_finds_a_nested_category(admin_client: Any, category_tree: CategoryTree) -> None:
    assert shown_names(admin_client.get("/admin/catalog/category/", {"q": "manga"})) == ["Manga corta"]


# Spanish


def test_admin_index_speaks_spanish_from_the_browser_language(admin_client: Any) -> None:
    content = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Sitio administrativo" in content
    assert "Cerrar sesión" in content


def test_product_changelist_speaks_spanish_from_the_browser_language(admin_client: Any) -> None:
    ProductFactory.create()

    content = admin_client.get(PRODUCTS, HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert '<html lang="es"' in content
    assert "Cerrar sesión" in content
    assert 'value="Buscar"' in content


def test_product_changelist_speaks_spanish_after_choosing_it(admin_client: Any) -> None:
    admin_client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})

    content = admin_client.get(PRODUCTS, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Cerrar sesión" in content


def test_product_changelist_speaks_english_when_asked(admin_client: Any) -> None:
    content = admin_client.get(PRODUCTS, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Log out" in content


def test_category_choices_show_the_full_path(admin_client: Any) -> None:
    # Two branches both have "Chaquetas": staff must tell them apart.
    from catalog.services import category_create

    moda = category_create(name="Moda", slug="moda")
    for branch in ("Mujer", "Hombre"):
        parent = category_create(name=branch, slug=f"moda-{branch.lower()}", parent=moda)
        category_create(name="Chaquetas", slug=f"moda-{branch.lower()}-chaquetas", parent=parent)

    page = admin_client.get("/admin/catalog/product/add/").content.decode()

    assert "Moda &gt; Mujer &gt; Chaquetas" in page
    assert "Moda &gt; Hombre &gt; Chaquetas" in page


def test_category_filter_includes_descendants(admin_client: Any) -> None:
    from catalog.services import category_create

    moda = category_create(name="Moda", slug="moda")
    mujer = category_create(name="Mujer", slug="moda-mujer", parent=moda)
    ProductFactory.create(name="Abrigo largo", category=mujer)
    ProductFactory.create(name="Portátil", category=category_create(name="Electrónica", slug="electronica"))

    page = admin_client.get(f"/admin/catalog/product/?category={moda.pk}").content.decode()

    assert "Abrigo largo" in page
    assert "Portátil" not in page


def test_importing_the_catalogue_needs_the_change_permission(client: Any) -> None:
    from config.roles import Role
    from tests.factories import staff_with_role

    client.force_login(staff_with_role(Role.STORE_STAFF))
    assert client.get("/admin/catalog/product/import/").status_code == 403
    assert client.get("/admin/catalog/product/export/").status_code == 200

    client.force_login(staff_with_role(Role.MANAGER))
    assert client.get("/admin/catalog/product/import/").status_code == 200
