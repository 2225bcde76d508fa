"""factory_boy factories for every app's models; tests build data through these."""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory
from stdnum import ean

from catalog.models import Category, Product, Promotion, PromotionKind, TaxCategory, Variant
from config.channels import Channel
from config.roles import Role, role_group
from config.services import channel_client_create
from customers.models import Consent, ContactPoint, Customer, CustomerEvent
from inventory.models import Location
from invoicing.models import Invoice, Seller
from orders.models import DeliveryMethod, DeliveryRate, DeliveryZone, DeliveryZoneArea


class TaxCategoryFactory(DjangoModelFactory[TaxCategory]):
    class Meta:
        model = TaxCategory
        django_get_or_create = ("code",)

    code = "general"
    name = "IVA general"
    rate = Decimal("21.00")


class CategoryFactory(factory.Factory[Category]):
    """Categories live in a treebeard tree: build them through add_root/add_child."""

    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent: Category | None = None

    @classmethod
    def _create(
        cls, model_class: type[Category], *args: Any, parent: Category | None = None, **kwargs: Any
    ) -> Category:
        from catalog.services import category_create

        return category_create(parent=parent, **kwargs)

    @classmethod
    def _build(cls, model_class: type[Category], *args: Any, parent: Category | None = None, **kwargs: Any) -> Category:
        return model_class(**kwargs)


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    brand = "Brisa"
    category = factory.SubFactory(CategoryFactory)
    tax_category = factory.SubFactory(TaxCategoryFactory)
    is_active = True


@dataclass(frozen=True)
class CategoryTree:
    """Ropa > Camisetas > Manga corta, and Ropa > Pantalones (a sibling of Camisetas)."""

    root: Category
    child: Category
    grandchild: Category
    sibling: Category


def category_tree_create() -> CategoryTree:
    root = CategoryFactory.create(name="Ropa", slug="ropa")
    child = CategoryFactory.create(name="Camisetas", slug="camisetas", parent=root)
    grandchild = CategoryFactory.create(name="Manga corta", slug="manga-corta", parent=child)
    sibling = CategoryFactory.create(name="Pantalones", slug="pantalones", parent=root)
    # Sorted insertion may renumber paths: hand out fresh rows.
    fresh = Category.objects.in_bulk([root.pk, child.pk, grandchild.pk, sibling.pk])
    return CategoryTree(fresh[root.pk], fresh[child.pk], fresh[grandchild.pk], fresh[sibling.pk])


def valid_ean13(n: int) -> str:
    body = f"84{n:010d}"
    return body + ean.calc_check_digit(body)


class VariantFactory(DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(valid_ean13)
    size = "M"
    colour = "Negro"
    price = Decimal("19.99")


class PromotionFactory(DjangoModelFactory[Promotion]):
    class Meta:
        model = Promotion
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Promotion {n}")
    kind = PromotionKind.PERCENTAGE
    value = Decimal("10")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))

    @factory.post_generation
    def categories(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.categories.set(extracted)

    @factory.post_generation
    def products(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.products.set(extracted)

    @factory.post_generation
    def variants(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.variants.set(extracted)


class UserFactory(DjangoModelFactory[User]):
    """A back-office user; pass is_staff=True for staff."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("secret-password")
    is_staff = False


def channel_client(
    channel: str = Channel.WEB, name: str | None = None, *, locations: Sequence[Any] = (), **kwargs: Any
) -> tuple[Any, str]:
    """A channel client and its token: the channel's default scopes and reach unless given.

    `locations` binds a device or a till to its locations (inventory's `Location.channel_clients`).
    """
    from config.models import ChannelClient

    name = name or f"{channel} client {ChannelClient.objects.count() + 1}"
    client, token = channel_client_create(name=name, channel=channel, **kwargs)
    for location in locations:
        location.channel_clients.add(client)
    return client, token


_staff_numbers = itertools.count(1)


def staff_with_role(role: Role, *locations: Any, username: str | None = None, **fields: Any) -> Any:
    """A staff member in a role's group (as `roles_sync` makes it), working at these locations."""
    username = username or f"{role.value.lower().replace(' ', '-')}-{next(_staff_numbers)}"
    user = UserFactory.create(username=username, is_staff=True, **fields)
    user.groups.add(role_group(role))
    for location in locations:
        location.staff.add(user)
    return user


class CustomerFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Cliente {n}")
    country = "ES"
    first_seen_channel = Channel.WEB


class ContactPointFactory(DjangoModelFactory[ContactPoint]):
    """An identity; `value` is stored normalised as given, so pass a normalised value."""

    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"cliente{n}@example.com")
    normalised_value = factory.LazyAttribute(lambda o: o.value)
    channel = Channel.WEB


def customer_with_email(email: str, **fields: Any) -> Customer:
    """A customer (the factory's, with `fields`) identified by an email address (given normalised)."""
    customer = CustomerFactory.create(**fields)
    ContactPointFactory.create(customer=customer, kind="email", value=email)
    return customer


class CustomerEventFactory(DjangoModelFactory[CustomerEvent]):
    class Meta:
        model = CustomerEvent

    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.WEB
    kind = "product_viewed"
    occurred_at = factory.LazyFunction(timezone.now)
    sku = "SKU-00000"


class ConsentFactory(DjangoModelFactory[Consent]):
    class Meta:
        model = Consent

    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.EMAIL
    purpose = "marketing"
    granted = True
    source = "web sign-up form"
    recorded_at = factory.LazyFunction(timezone.now)


class LocationFactory(DjangoModelFactory[Location]):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.Sequence(lambda n: f"Tienda {n}")
    kind = "store"
    city = "Madrid"
    can_ship = False
    is_pickup_point = True


def stock_receive_for(location: Location, variant: Variant, quantity: int) -> None:
    """Put stock on the shelf through the service, so the ledger explains it."""
    from inventory.services import stock_receive

    stock_receive(location=location, lines=[(variant, quantity)], reference="test")


# Spanish tax ids that pass python-stdnum's checks (NIF, CIF).
VALID_NIFS = ("12345678Z", "87654321X", "00000000T", "11111111H")
VALID_CIFS = ("B12345674", "A58818501", "B65410011")


class SellerFactory(DjangoModelFactory[Seller]):
    class Meta:
        model = Seller
        django_get_or_create = ("tax_id",)

    name = "Moda Sol S.L."
    tax_id = "B12345674"
    street = "Calle Mayor 1"
    city = "Madrid"
    postal_code = "28013"
    country = "ES"
    email = "facturas@modasol.example"
    is_default = True


def invoice_issue_for(
    seller: Seller | None = None,
    *,
    lines: list[tuple[str, str, str]] | None = None,
    tax_id: str = "",
    email: str = "ana@example.com",
    customer: Customer | None = None,
    **kwargs: Any,
) -> Invoice:
    """Issue a document through the service: lines as (quantity, unit price, tax rate) strings."""
    from invoicing.calculation import LineInput
    from invoicing.services import Buyer, invoice_issue

    buyer = Buyer(
        name="Ana García" if tax_id else "",
        tax_id=tax_id,
        country="ES",
        street="Calle Luna 3" if tax_id else "",
        city="Sevilla" if tax_id else "",
        postal_code="41001" if tax_id else "",
        email=email,
        language="es",
    )
    return invoice_issue(
        seller=seller or SellerFactory.create(),
        buyer=buyer,
        lines=[
            LineInput(
                description=f"Item {i}", sku=f"SKU-{i}", quantity=Decimal(q), unit_price=Decimal(p), tax_rate=Decimal(r)
            )
            for i, (q, p, r) in enumerate(lines or [("1", "49.95", "21")], start=1)
        ],
        customer=customer,
        **kwargs,
    )


# --- Delivery (orders) ---------------------------------------------------------------------------


def delivery_method_create(
    code: str,
    *,
    kind: str = "ship",
    rates: Sequence[tuple[DeliveryZone, int | None, str, str | None]] = (),
    tax_rate: str = "21",
    **fields: Any,
) -> DeliveryMethod:
    """A delivery method and its rates: (zone, max grams or None, price, free from or None)."""
    tax, _created = TaxCategory.objects.get_or_create(
        code=f"delivery-{tax_rate}", defaults={"name": f"Delivery {tax_rate}%", "rate": Decimal(tax_rate)}
    )
    method = DeliveryMethod.objects.create(
        code=code, name=fields.pop("name", code.title()), kind=kind, tax_category=tax, **fields
    )
    for zone, max_grams, price, free_over in rates:
        DeliveryRate.objects.create(
            method=method,
            zone=zone,
            max_weight_grams=max_grams,
            price=Decimal(price),
            free_over=Decimal(free_over) if free_over else None,
        )
    return method


def delivery_zone_create(code: str, *areas: tuple[str, str]) -> DeliveryZone:
    """A delivery zone of (country, postal prefix) areas; a prefix "" is the whole country."""
    zone = DeliveryZone.objects.create(code=code, name=code.title())
    for country, prefix in areas:
        DeliveryZoneArea.objects.create(zone=zone, country=country, postal_code_prefix=prefix)
    return zone
