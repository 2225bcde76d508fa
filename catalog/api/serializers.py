from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Product
from catalog.serializers import CategoryRefSerializer, VariantSerializer


class CategorySerializer(serializers.ModelSerializer[Category]):
    parent_id = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ("id", "name", "slug", "depth", "parent_id")

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="Null for a top-level category."))
    def get_parent_id(self, category: Category) -> int | None:
        parents: dict[str, int] = self.context.get("category_ids_by_path", {})
        if category.depth <= 1:
            return None
        return parents.get(category.path[: -Category.steplen])


class ProductSerializer(serializers.ModelSerializer[Product]):
    category = CategoryRefSerializer(read_only=True)
    vat_rate = serializers.DecimalField(source="tax_category.rate", max_digits=5, decimal_places=2, read_only=True)
    variants = VariantSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = (
            "id",
            "slug",
            "name",
            "description",
            "brand",
            "category",
            "vat_rate",
            "is_active",
            "variants",
        )
