"""Delivery prices in the admin: managers edit methods with their rates and zones with their areas;
the database's rules show as form errors; the order's page shows what delivery it was placed with."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from catalog.models import TaxCategory
from config.roles import Role
from orders.models import DeliveryMethod, DeliveryRate, DeliveryZoneArea
from tests.api import admin_session
from tests.factories import TaxCategoryFactory, delivery_method_create, delivery_zone_create, staff_with_role
from tests.scenarios import Shop, place

pytestmark = pytest.mark.django_db

METHODS = "/admin/orders/deliverymethod/"
ZONES = "/admin/orders/deliveryzone/"


def method_form(
    tax: TaxCategory, zone_id: int, rates: list[tuple[str, str, str, str]], **fields: Any
) -> dict[str, Any]:
    """The add page's POST: the method and its rate rows (max grams, price, free from, currency)."""
    data: dict[str, Any] = {
        "code": "urgente",
        "name": "Envío urgente",
        "kind": "ship",
        "is_active": "on",
        "position": "2",
        "tax_category": str(tax.pk),
        "rates-TOTAL_FORMS": str(len(rates)),
        "rates-INITIAL_FORMS": "0",
        "rates-MIN_NUM_FORMS": "0",
        "rates-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, (grams, price, free_over, currency) in enumerate(rates):
        data |= {
            f"rates-{index}-zone": str(zone_id),
            f"rates-{index}-currency": currency,
            f"rates-{index}-max_weight_grams": grams,
            f"rates-{index}-price": price,
            f"rates-{index}-free_over": free_over,
        }
    return data


@pytest.fixture
def manager_client(db: Any) -> Client:
    return admin_session(staff_with_role(Role.MANAGER))


def test_a_manager_adds_a_method_with_its_rates(manager_client: Client) -> None:
    zone = delivery_zone_create("peninsula", ("ES", ""))
    tax = TaxCategoryFactory.create()

    response = manager_client.post(
        f"{METHODS}add/", method_form(tax, zone.pk, [("5000", "8.95", "", "EUR"), ("", "14.95", "", "eur")])
    )

    assert response.status_code == 302, response.context["errors"] if response.context else response
    method = DeliveryMethod.objects.get(code="urgente")
    assert sorted((r.max_weight_grams or 0, r.price, r.currency) for r in method.rates.all()) == [
        (0, Decimal("14.95"), "EUR"),
        (5000, Decimal("8.95"), "EUR"),
    ]


def test_two_rates_for_one_band_are_a_form_error_and_nothing_is_saved(manager_client: Client) -> None:
    zone = delivery_zone_create("peninsula", ("ES", ""))
    tax = TaxCategoryFactory.create()

    response = manager_client.post(
        f"{METHODS}add/", method_form(tax, zone.pk, [("5000", "8.95", "", "EUR"), ("5000", "9.95", "", "EUR")])
    )

    assert response.status_code == 200
    assert not DeliveryMethod.objects.filter(code="urgente").exists()
    assert DeliveryRate.objects.count() == 0


def test_a_price_finer_than_the_currency_is_a_form_error(manager_client: Client) -> None:
    zone = delivery_zone_create("peninsula", ("ES", ""))
    tax = TaxCategoryFactory.create()

    response = manager_client.post(f"{METHODS}add/", method_form(tax, zone.pk, [("", "8.955", "", "EUR")]))

    assert response.status_code == 200
    assert not DeliveryMethod.objects.filter(code="urgente").exists()


def test_zone_areas_are_stored_as_addresses_are_compared(manager_client: Client) -> None:
    response = manager_client.post(
        f"{ZONES}add/",
        {
            "code": "baleares",
            "name": "Islas Baleares",
            "areas-TOTAL_FORMS": "1",
            "areas-INITIAL_FORMS": "0",
            "areas-MIN_NUM_FORMS": "0",
            "areas-MAX_NUM_FORMS": "1000",
            "areas-0-country": "es",
            "areas-0-postal_code_prefix": " 07 ",
        },
    )

    assert response.status_code == 302
    assert list(DeliveryZoneArea.objects.values_list("country", "postal_code_prefix")) == [("ES", "07")]


def test_an_area_already_in_another_zone_is_a_form_error(manager_client: Client) -> None:
    delivery_zone_create("peninsula", ("ES", ""))

    response = manager_client.post(
        f"{ZONES}add/",
        {
            "code": "espana",
            "name": "España",
            "areas-TOTAL_FORMS": "1",
            "areas-INITIAL_FORMS": "0",
            "areas-MIN_NUM_FORMS": "0",
            "areas-MAX_NUM_FORMS": "1000",
            "areas-0-country": "ES",
            "areas-0-postal_code_prefix": "",
        },
    )

    assert response.status_code == 200
    assert DeliveryZoneArea.objects.count() == 1


def test_the_lists_search_and_filter(manager_client: Client, shop: Shop) -> None:
    peninsula = delivery_zone_create("peninsula", ("ES", ""))
    delivery_zone_create("portugal", ("PT", ""))
    delivery_method_create("estandar", rates=[(peninsula, None, "3.95", None)])
    delivery_method_create("tienda", kind="pickup")

    methods = manager_client.get(METHODS, {"kind__exact": "pickup"})
    zones = manager_client.get(ZONES, {"q": "PT"})

    assert [m.code for m in methods.context["cl"].result_list] == ["tienda"]
    assert [z.code for z in zones.context["cl"].result_list] == ["portugal"]
    assert manager_client.get(ZONES, {"country": "ES"}).context["cl"].result_list[0].code == "peninsula"


def test_store_staff_read_the_prices_but_do_not_change_them(shop: Shop) -> None:
    method = delivery_method_create("tienda", kind="pickup")
    client = admin_session(staff_with_role(Role.STORE_STAFF, shop.store))

    assert client.get(f"{METHODS}{method.pk}/change/").status_code == 200
    client.post(f"{METHODS}{method.pk}/change/", {"code": "x", "name": "x", "kind": "pickup"})
    assert DeliveryMethod.objects.get(pk=method.pk).code == "tienda"


def test_the_order_page_shows_its_delivery(admin_client: Client, shop: Shop) -> None:
    peninsula = delivery_zone_create("peninsula", ("ES", ""))
    delivery_method_create("urgente", name="Envío urgente", rates=[(peninsula, None, "9.95", None)])
    order = place(shop, lines=[(shop.shirt, 1)], delivery_method="urgente")

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "Envío urgente" in page
    assert "9.95" in page or "9,95" in page


def test_the_rate_count_is_not_multiplied_by_the_zone_filter(manager_client: Client) -> None:
    peninsula = delivery_zone_create("peninsula", ("ES", ""))
    islands = delivery_zone_create("baleares", ("ES", "07"))
    delivery_method_create(
        "estandar",
        rates=[(peninsula, 1000, "3.95", None), (peninsula, None, "5.95", None), (islands, None, "9.95", None)],
    )

    filtered = manager_client.get(METHODS, {"rates__zone__id__exact": str(peninsula.pk)})

    assert [m.rate_total for m in filtered.context["cl"].result_list] == [3]


def many_rates(methods: int, zones: int) -> list[DeliveryMethod]:
    """Methods each with a rate in every one of many zones."""
    all_zones = [delivery_zone_create(f"zona-{index}", ("ES", f"{index:02d}")) for index in range(zones)]
    return [
        delivery_method_create(f"metodo-{index}", rates=[(zone, None, "4.95", None) for zone in all_zones])
        for index in range(methods)
    ]


def test_the_methods_list_costs_the_same_with_many_rates(
    manager_client: Client, django_assert_max_num_queries: Any
) -> None:
    method = many_rates(methods=8, zones=6)[0]
    zone_id = method.rates.first().zone_id  # type: ignore[union-attr]

    with django_assert_max_num_queries(12):
        assert manager_client.get(METHODS).status_code == 200
    with django_assert_max_num_queries(12):
        assert manager_client.get(METHODS, {"rates__zone__id__exact": str(zone_id)}).status_code == 200


def test_a_method_page_with_many_rates_costs_a_bounded_number_of_queries(
    manager_client: Client, django_assert_max_num_queries: Any
) -> None:
    method = many_rates(methods=1, zones=20)[0]

    with django_assert_max_num_queries(14):
        page = manager_client.get(f"{METHODS}{method.pk}/change/")

    assert page.status_code == 200
    last = method.rates.order_by("zone__code").last()
    assert f'<option value="{last.zone_id}" selected>' in page.content.decode()  # type: ignore[union-attr]


def test_the_zones_list_and_page_cost_a_bounded_number_of_queries(
    manager_client: Client, django_assert_max_num_queries: Any
) -> None:
    many_rates(methods=2, zones=15)
    zone = delivery_zone_create("canarias", *[("ES", f"35{index}") for index in range(10)])

    with django_assert_max_num_queries(10):
        assert manager_client.get(ZONES).status_code == 200
    with django_assert_max_num_queries(12):
        assert manager_client.get(f"{ZONES}{zone.pk}/change/").status_code == 200
