from collections.abc import Iterable
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from catalog import selectors
from catalog.api.filters import CategoryFilter, ProductFilter
from catalog.api.serializers import CategorySerializer, ProductSerializer
from catalog.models import Category, Product, Variant
from catalog.pricing import running_promotions_for_request, variant_prices
from catalog.serializers import VariantDetailSerializer
from config.api.access import Access
from config.scopes import Scope

READ_PRODUCTS = Access(scope=Scope.CATALOG_READ, staff=("catalog.view_product",))


class PricedSerializerMixin:
    """Computes effective prices once for every variant a response shows."""

    def variants_of(self, objects: Iterable[Any]) -> list[Variant]:
        raise NotImplementedError

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        if args:
            objects = args[0] if kwargs.get("many") else [args[0]]
            kwargs.setdefault("context", self.get_serializer_context())  # type: ignore[attr-defined]
            kwargs["context"]["prices"] = variant_prices(
                variants=self.variants_of(objects),
                running=running_promotions_for_request(self.request),  # type: ignore[attr-defined]
            )
        return super().get_serializer(*args, **kwargs)  # type: ignore[misc]


@extend_schema_view(
    list=extend_schema(
        summary="List and search products",
        description=(
            "Active products by default. `search` matches name, brand, SKU and barcode. "
            "Every variant carries its effective price (promotions applied), the same in every channel."
        ),
    ),
    retrieve=extend_schema(summary="A product with its variants and their effective prices"),
)
class ProductViewSet(PricedSerializerMixin, viewsets.ReadOnlyModelViewSet[Product]):
    access = {"list": READ_PRODUCTS, "retrieve": READ_PRODUCTS}
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ("name", "brand", "=variants__sku", "=variants__barcode")
    ordering_fields = ("name", "created_at", "brand")
    ordering = ("name", "id")

    def get_queryset(self) -> Any:
        return selectors.product_list()

    def filter_queryset(self, queryset: Any) -> Any:
        # The detail answers for inactive products too: an old order still links to them.
        if self.action == "retrieve":
            return queryset
        # Searching SKUs through a join repeats a product once per matching variant.
        queryset = super().filter_queryset(queryset)
        if self.request.query_params.get("search"):
            queryset = queryset.distinct()
        return queryset

    def variants_of(self, objects: Iterable[Product]) -> list[Variant]:
        return [variant for product in objects for variant in product.variants.all()]


@extend_schema_view(
    retrieve=extend_schema(
        summary="A variant by SKU",
        parameters=[OpenApiParameter("sku", str, OpenApiParameter.PATH)],
    )
)
class VariantViewSet(PricedSerializerMixin, viewsets.GenericViewSet[Variant]):
    access = {"retrieve": Access(scope=Scope.CATALOG_READ, staff=("catalog.view_variant",))}
    serializer_class = VariantDetailSerializer
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"

    def retrieve(self, request: Request, sku: str) -> Response:
        variant = selectors.variant_get_by_sku(sku=sku)
        if variant is None:
            raise Http404
        return Response(self.get_serializer(variant).data)

    def variants_of(self, objects: Iterable[Variant]) -> list[Variant]:
        return list(objects)


@extend_schema_view(list=extend_schema(summary="The category tree, in tree order"))
class CategoryViewSet(viewsets.ReadOnlyModelViewSet[Category]):
    access = {
        "list": Access(scope=Scope.CATALOG_READ, staff=("catalog.view_category",)),
        "retrieve": Access(scope=Scope.CATALOG_READ, staff=("catalog.view_category",)),
    }
    serializer_class = CategorySerializer
    filterset_class = CategoryFilter
    search_fields = ("name", "slug")
    ordering_fields: tuple[str, ...] = ()

    def get_queryset(self) -> Any:
        return selectors.category_list()

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        if args:
            objects = args[0] if kwargs.get("many") else [args[0]]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["category_ids_by_path"] = selectors.category_parent_ids(categories=objects)
        return super().get_serializer(*args, **kwargs)
