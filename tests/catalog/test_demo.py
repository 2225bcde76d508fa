"""`load_demo` builds a realistic catalogue and can run again without changing anything."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from stdnum import ean

from catalog.models import Category, Product, Promotion, Variant
from catalog.pricing import RunningPromotions
from config.models import ChannelClient

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "promotions": Promotion.objects.count(),
        "clients": ChannelClient.objects.count(),
    }


def test_load_demo_is_idempotent_and_realistic(django_user_model: Any, settings: Any) -> None:
    settings.DEMO_KNOWN_CREDENTIALS = True  # the embedded default prints the known web shop token
    call_command("load_demo", stdout=StringIO())
    first = counts()
    first_prices = dict(Variant.objects.values_list("sku", "price"))

    out = StringIO()
    call_command("load_demo", stdout=out)

    assert counts() == first
    assert dict(Variant.objects.values_list("sku", "price")) == first_prices
    assert 190 <= first["products"] <= 220
    assert Variant.objects.exclude(size="").exists()
    assert Variant.objects.exclude(colour="").exists()
    assert Product.objects.filter(category__slug__startswith="moda").exists()
    assert Product.objects.filter(category__slug__startswith="electronica").exists()
    barcodes = Variant.objects.exclude(barcode=None).values_list("barcode", flat=True)
    assert all(code and ean.is_valid(code) for code in barcodes)
    assert RunningPromotions.at().promotions, "the demo shows promotions running now"
    assert django_user_model.objects.filter(username="admin", is_superuser=True).exists()
    assert "demo-web-token" in out.getvalue()
