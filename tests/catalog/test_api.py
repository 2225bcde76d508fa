"""The catalog API: wiring, permissions, filters, pagination, error shape and query counts."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Category, Product, PromotionKind, Variant
from config.channels import Channel
from config.roles import Role
from tests.factories import (
    CategoryFactory,
    CategoryTree,
    ProductFactory,
    PromotionFactory,
    UserFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
)

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
CATEGORIES = "/api/v1/categories/"
ENDPOINTS = [PRODUCTS, "/api/v1/products/1/", "/api/v1/variants/SKU-1/", CATEGORIES]


def listed(api: APIClient, query: str = "") -> list[str]:
    """Slugs of the products a list query returns (first page)."""
    response = api.get(f"{PRODUCTS}?{query}")
    assert response.status_code == 200, response.content
    return [product["slug"] for product in response.json()["results"]]


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def product(slug: str, *, price: str = "20.00", **fields: Any) -> Product:
    """A product with one variant at this price."""
    created = ProductFactory.create(slug=slug, **fields)
    VariantFactory.create(product=created, price=Decimal(price))
    return created


# Authentication and permissions


@pytest.mark.parametrize("url", ENDPOINTS)
def test_request_without_token_is_401(anonymous_api: APIClient, url: str) -> None:
    response = anonymous_api.get(url)

    assert response.status_code == 401
    assert_error_shape(response.json(), "not_authenticated")
    assert response.json()["error"]["fields"] == {}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_request_with_wrong_token_is_401(anonymous_api: APIClient, url: str) -> None:
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = anonymous_api.get(url)

    assert response.status_code == 401
    assert_error_shape(response.json(), "invalid_token")
    assert response["WWW-Authenticate"].startswith("Token")


def test_request_with_inactive_client_token_is_401(anonymous_api: APIClient) -> None:
    client, token = channel_client(Channel.WEB, name="Old shop")
    client.is_active = False
    client.save(update_fields=["is_active"])
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert anonymous_api.get(PRODUCTS).status_code == 401


def test_bearer_token_is_accepted(anonymous_api: APIClient, web_client: tuple[Any, str]) -> None:
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Bearer {web_client[1]}")

    assert anonymous_api.get(PRODUCTS).status_code == 200


@pytest.mark.parametrize("url", [PRODUCTS, CATEGORIES])
def test_staff_signed_in_to_the_admin_may_read(client: Any, staff_user: Any, url: str) -> None:
    client.force_login(staff_user)

    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_credential_without_catalog_read_is_told_the_scope_it_lacks(anonymous_api: APIClient, url: str) -> None:
    _locker, token = channel_client(Channel.LOCKER, name="Taquillas")  # pickups:redeem only
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = anonymous_api.get(url)

    assert response.status_code == 403
    assert (response.json()["error"]["code"], response.json()["error"]["scope"]) == ("missing_scope", "catalog:read")


def test_a_newsletter_credential_reads_the_catalogue(anonymous_api: APIClient) -> None:
    _newsletter, token = channel_client(Channel.EMAIL, name="Boletín")  # catalog:read, events:write
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert anonymous_api.get(PRODUCTS).status_code == 200


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.WAREHOUSE, Role.AGENT, Role.ACCOUNTANT])
def test_every_staff_role_reads_products_variants_and_categories(client: Any, role: Role) -> None:
    VariantFactory.create(sku="SKU-1")
    client.force_login(staff_with_role(role))

    answers = [client.get(url).status_code for url in (PRODUCTS, "/api/v1/variants/SKU-1/", CATEGORIES)]

    assert answers == [200, 200, 200]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_staff_without_a_role_are_403(client: Any, url: str) -> None:
    client.force_login(UserFactory.create(is_staff=True))

    response = client.get(url)

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")


def test_staff_need_the_view_permission_of_what_they_read(client: Any) -> None:
    VariantFactory.create(sku="SKU-1")
    reader = UserFactory.create(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(content_type__app_label="catalog", codename="view_product"))
    client.force_login(reader)

    answers = [client.get(url).status_code for url in (PRODUCTS, "/api/v1/variants/SKU-1/", CATEGORIES)]

    assert answers == [200, 403, 403]  # view_variant, view_category


def test_signed_in_non_staff_user_is_403(client: Any) -> None:
    client.force_login(UserFactory.create(is_staff=False))

    response = client.get(PRODUCTS)

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")


# Filters


def test_list_shows_products_with_variants_and_prices(api: APIClient) -> None:
    created = product("tee", price="19.99")

    response = api.get(PRODUCTS)

    [shown] = response.json()["results"]
    assert shown["id"] == created.pk
    assert shown["category"]["slug"] == created.category.slug
    assert shown["vat_rate"] == "21.00"
    [variant] = shown["variants"]
    assert (variant["price"], variant["effective_price"], variant["currency"]) == ("19.99", "19.99", "EUR")


def test_product_detail_shows_the_product(api: APIClient) -> None:
    created = product("tee")

    response = api.get(f"{PRODUCTS}{created.pk}/")

    assert response.status_code == 200
    assert response.json()["slug"] == "tee"


def test_unknown_product_is_404(api: APIClient) -> None:
    response = api.get(f"{PRODUCTS}999999/")

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


@pytest.mark.parametrize("key", ["slug", "pk"])
def test_category_filter_includes_descendants_and_excludes_others(
    api: APIClient, category_tree: CategoryTree, key: str
) -> None:
    product("in-child", category=category_tree.child)
    product("in-grandchild", category=category_tree.grandchild)
    product("in-sibling", category=category_tree.sibling)
    product("in-root", category=category_tree.root)

    slugs = listed(api, f"category={getattr(category_tree.child, key)}")

    assert sorted(slugs) == ["in-child", "in-grandchild"]


def test_unknown_category_lists_nothing(api: APIClient) -> None:
    product("tee")

    assert listed(api, "category=no-such-category") == []


def test_brand_filter_ignores_case(api: APIClient) -> None:
    product("brisa-tee", brand="Brisa")
    product("other-tee", brand="Otra")

    assert listed(api, "brand=bRISA") == ["brisa-tee"]


@pytest.fixture
def half_price_product() -> Product:
    """Regular price 120.00, under a running 50% promotion: 60.00."""
    promoted = product("promoted", price="120.00")
    PromotionFactory.create(kind=PromotionKind.PERCENTAGE, value=Decimal(50), products=[promoted])
    return promoted


def test_price_max_uses_the_effective_price(api: APIClient, half_price_product: Product) -> None:
    product("regular", price="100.00")

    assert listed(api, "price_max=70") == ["promoted"]


def test_price_min_uses_the_effective_price(api: APIClient, half_price_product: Product) -> None:
    product("regular", price="100.00")

    assert listed(api, "price_min=70") == ["regular"]


def test_price_range_needs_one_variant_inside_it(api: APIClient) -> None:
    straddling = product("straddling", price="5.00")
    VariantFactory.create(product=straddling, price=Decimal("50.00"))
    product("inside", price="15.00")

    assert listed(api, "price_min=10&price_max=20") == ["inside"]


def test_price_bounds_are_inclusive(api: APIClient) -> None:
    product("twenty", price="20.00")

    assert listed(api, "price_min=20&price_max=20") == ["twenty"]


@pytest.mark.parametrize("value", ["M", "m"])
def test_size_filter(api: APIClient, value: str) -> None:
    medium = ProductFactory.create(slug="medium")
    VariantFactory.create(product=medium, size="M")
    VariantFactory.create(product=ProductFactory.create(slug="large"), size="L")

    assert listed(api, f"size={value}") == ["medium"]


def test_size_filter_ignores_inactive_variants(api: APIClient) -> None:
    VariantFactory.create(product=ProductFactory.create(slug="sold-out"), size="M", is_active=False)

    assert listed(api, "size=M") == []


@pytest.mark.parametrize("value", ["Rojo", "rojo"])
def test_colour_filter(api: APIClient, value: str) -> None:
    VariantFactory.create(product=ProductFactory.create(slug="red"), colour="Rojo")
    VariantFactory.create(product=ProductFactory.create(slug="black"), colour="Negro")

    assert listed(api, f"colour={value}") == ["red"]


def test_size_and_colour_filters_need_one_variant_with_both(api: APIClient) -> None:
    mixed = ProductFactory.create(slug="mixed")
    VariantFactory.create(product=mixed, size="M", colour="Negro")
    VariantFactory.create(product=mixed, size="L", colour="Rojo")
    VariantFactory.create(product=ProductFactory.create(slug="red-m"), size="M", colour="Rojo")

    assert listed(api, "size=M&colour=Rojo") == ["red-m"]


def test_list_shows_only_active_products_by_default(api: APIClient) -> None:
    product("on-sale")
    product("hidden", is_active=False)

    assert listed(api) == ["on-sale"]


@pytest.mark.parametrize(("value", "expected"), [("false", ["hidden"]), ("true", ["on-sale"])])
def test_active_filter(api: APIClient, value: str, expected: list[str]) -> None:
    product("on-sale")
    product("hidden", is_active=False)

    assert listed(api, f"active={value}") == expected


@pytest.fixture
def promoted_and_not(category_tree: CategoryTree) -> None:
    """One product promoted through its grandparent category, one through itself, one not, one later."""
    product("by-category", category=category_tree.grandchild)
    by_product = product("by-product", category=category_tree.sibling)
    product("not-promoted", category=category_tree.sibling)
    upcoming = product("upcoming", category=category_tree.sibling)
    PromotionFactory.create(categories=[category_tree.child])
    PromotionFactory.create(products=[by_product])
    PromotionFactory.create(products=[upcoming], starts_at=timezone.now() + timedelta(hours=1))


@pytest.mark.usefixtures("promoted_and_not")
@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", ["by-category", "by-product"]), ("false", ["not-promoted", "upcoming"])],
)
def test_on_promotion_filter(api: APIClient, value: str, expected: list[str]) -> None:
    assert sorted(listed(api, f"on_promotion={value}")) == expected


def test_search_by_name(api: APIClient) -> None:
    product("tee", name="Camiseta básica")
    product("jeans", name="Vaquero slim")

    assert listed(api, "search=básica") == ["tee"]


def test_search_by_exact_sku(api: APIClient) -> None:
    VariantFactory.create(product=ProductFactory.create(slug="tee"), sku="TEE-M")
    VariantFactory.create(product=ProductFactory.create(slug="jeans"), sku="JEANS-32")

    assert listed(api, "search=TEE-M") == ["tee"]


def test_search_by_barcode(api: APIClient) -> None:
    VariantFactory.create(product=ProductFactory.create(slug="tee"), barcode="4006381333931")
    VariantFactory.create(product=ProductFactory.create(slug="jeans"), barcode="96385074")

    assert listed(api, "search=4006381333931") == ["tee"]


def test_search_lists_a_product_with_several_matching_variants_once(api: APIClient) -> None:
    tee = ProductFactory.create(slug="tee", name="Camiseta")
    VariantFactory.create_batch(3, product=tee)

    response = api.get(f"{PRODUCTS}?search=Camiseta")

    assert response.json()["count"] == 1
    assert [p["slug"] for p in response.json()["results"]] == ["tee"]


# Pagination


@pytest.fixture
def five_products() -> list[Product]:
    category = CategoryFactory.create()
    return [ProductFactory.create(name=f"Product {i}", slug=f"product-{i}", category=category) for i in range(5)]


@pytest.mark.usefixtures("five_products")
def test_page_size_and_next_link(api: APIClient) -> None:
    body = api.get(f"{PRODUCTS}?page_size=2").json()

    assert body["count"] == 5
    assert [p["slug"] for p in body["results"]] == ["product-0", "product-1"]
    assert "page=2" in body["next"]
    assert "page_size=2" in body["next"]
    assert body["previous"] is None


@pytest.mark.usefixtures("five_products")
def test_second_page(api: APIClient) -> None:
    body = api.get(f"{PRODUCTS}?page_size=2&page=2").json()

    assert [p["slug"] for p in body["results"]] == ["product-2", "product-3"]
    assert body["previous"] is not None


@pytest.mark.usefixtures("five_products")
def test_last_page_has_no_next_link(api: APIClient) -> None:
    body = api.get(f"{PRODUCTS}?page_size=2&page=3").json()

    assert [p["slug"] for p in body["results"]] == ["product-4"]
    assert body["next"] is None


def test_page_size_is_capped_at_200(api: APIClient) -> None:
    ProductFactory.create_batch(201, category=CategoryFactory.create())

    body = api.get(f"{PRODUCTS}?page_size=500").json()

    assert body["count"] == 201
    assert len(body["results"]) == 200
    assert body["next"] is not None


def test_page_beyond_the_last_is_404(api: APIClient) -> None:
    product("tee")

    response = api.get(f"{PRODUCTS}?page=999")

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


# Bad input


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("price_min=abc", "price_min"),
        ("price_max=abc", "price_max"),
        ("price_min=-1", "price_min"),
        ("active=maybe", "active"),
        ("on_promotion=maybe", "on_promotion"),
    ],
)
def test_bad_filter_value_is_400_with_field_errors(api: APIClient, query: str, field: str) -> None:
    response = api.get(f"{PRODUCTS}?{query}")

    assert response.status_code == 400
    body = response.json()
    # Every field problem shares the code "invalid"; the field's messages say what is wrong.
    assert_error_shape(body, "invalid")
    assert isinstance(body["error"]["fields"][field], list)
    assert body["error"]["fields"][field]


# Variant by SKU


def test_variant_by_sku_shows_the_variant_with_its_product(api: APIClient) -> None:
    variant = VariantFactory.create(sku="TEE-M", price=Decimal("19.99"))

    response = api.get("/api/v1/variants/TEE-M/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["sku"], body["effective_price"]) == (variant.pk, "TEE-M", "19.99")
    assert body["product"]["slug"] == variant.product.slug
    assert body["product"]["category"]["slug"] == variant.product.category.slug
    assert body["product"]["vat_rate"] == "21.00"


def test_unknown_sku_is_404(api: APIClient) -> None:
    response = api.get("/api/v1/variants/NO-SUCH-SKU/")

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


# Categories


def test_categories_list_in_tree_order_with_parent_ids(api: APIClient, category_tree: CategoryTree) -> None:
    body = api.get(CATEGORIES).json()

    shown = {c["slug"]: (c["depth"], c["parent_id"]) for c in body["results"]}
    assert shown == {
        "ropa": (1, None),
        "camisetas": (2, category_tree.root.pk),
        "manga-corta": (3, category_tree.child.pk),
        "pantalones": (2, category_tree.root.pk),
    }
    assert [c["slug"] for c in body["results"]] == ["ropa", "camisetas", "manga-corta", "pantalones"]


# Query counts do not grow with the data


def products_with_promotions(count: int, category: Category) -> None:
    for _ in range(count):
        VariantFactory.create_batch(3, product=ProductFactory.create(category=category))


def query_count(api: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.fixture
def promoted_catalog(category_tree: CategoryTree) -> CategoryTree:
    """Running promotions on a category, a product and a variant, so every pricing path is taken."""
    products_with_promotions(1, category_tree.grandchild)
    PromotionFactory.create(categories=[category_tree.root])
    PromotionFactory.create(kind=PromotionKind.FIXED_AMOUNT, value=Decimal("1.00"), products=[Product.objects.first()])
    PromotionFactory.create(variants=[Variant.objects.first()])
    return category_tree


@pytest.mark.parametrize(
    ("query", "bound"),
    [
        pytest.param("", 8, id="plain"),
        # Filters and prices share the running promotions loaded once per request.
        pytest.param("&price_min=1&price_max=1000", 8, id="price"),
        pytest.param("&on_promotion=true", 8, id="on-promotion"),
        pytest.param("&category=ropa", 9, id="category"),
        pytest.param("&search=Product", 8, id="search"),
    ],
)
def test_product_list_queries_do_not_grow_with_products(
    api: APIClient, promoted_catalog: CategoryTree, query: str, bound: int, django_assert_max_num_queries: Any
) -> None:
    url = f"{PRODUCTS}?page_size=100{query}"
    products_with_promotions(4, promoted_catalog.grandchild)
    few = query_count(api, url)
    products_with_promotions(45, promoted_catalog.sibling)

    many = query_count(api, url)

    assert many == few
    with django_assert_max_num_queries(bound):
        response = api.get(url)
    assert response.json()["count"] == 50


def test_variant_detail_queries_do_not_grow_with_promotions(
    api: APIClient, promoted_catalog: CategoryTree, django_assert_max_num_queries: Any
) -> None:
    variant = Variant.objects.select_related("product").earliest("pk")
    url = f"/api/v1/variants/{variant.sku}/"
    few = query_count(api, url)
    for _ in range(10):
        PromotionFactory.create(categories=[promoted_catalog.child], products=[variant.product], variants=[variant])

    many = query_count(api, url)

    assert many == few
    with django_assert_max_num_queries(6):
        api.get(url)


def test_category_list_queries_do_not_grow_with_categories(
    api: APIClient, category_tree: CategoryTree, django_assert_max_num_queries: Any
) -> None:
    url = f"{CATEGORIES}?page_size=100"
    few = query_count(api, url)
    for i in range(15):
        parent = CategoryFactory.create(name=f"Department {i:02d}", slug=f"department-{i}")
        child = CategoryFactory.create(name=f"Aisle {i:02d}", slug=f"aisle-{i}", parent=parent)
        CategoryFactory.create(name=f"Shelf {i:02d}", slug=f"shelf-{i}", parent=child)

    many = query_count(api, url)

    assert many == few
    with django_assert_max_num_queries(4):
        api.get(url)


def test_product_detail_answers_for_an_inactive_product(api: APIClient) -> None:
    # An old order or a bookmarked link still needs the product; the list hides it.
    product = ProductFactory.create(is_active=False)
    VariantFactory.create(product=product)

    detail = api.get(f"{PRODUCTS}{product.pk}/")

    assert detail.status_code == 200
    assert detail.json()["is_active"] is False
    assert api.get(PRODUCTS).json()["count"] == 0
