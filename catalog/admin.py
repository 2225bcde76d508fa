from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from catalog.models import Category, Product, Promotion, TaxCategory, Variant
from catalog.resources import ProductVariantResource
from catalog.selectors import category_full_names, product_list_in_category
from catalog.services import products_set_active


@admin.register(TaxCategory)
class TaxCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "rate")
    search_fields = ("name", "code")


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category)
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class CategoryPathLabels:
    """Choice labels with the category's full path, computed in one query."""

    _full_names: dict[int, str] | None = None

    def label_from_instance(self, obj: Any) -> str:
        if self._full_names is None:
            self._full_names = category_full_names()
        return self._full_names.get(obj.pk, obj.name)


class CategoryChoiceField(CategoryPathLabels, forms.ModelChoiceField):
    pass


class CategoryMultipleChoiceField(CategoryPathLabels, forms.ModelMultipleChoiceField):
    pass


class CategoryTreeFilter(admin.SimpleListFilter):
    """Filter by a category and everything below it."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(((str(pk), name) for pk, name in category_full_names().items()), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if not self.value():
            return queryset
        category = Category.objects.filter(pk=self.value()).first()
        return product_list_in_category(queryset=queryset, category=category) if category else queryset.none()


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("sku", "barcode", "size", "colour", "price", "compare_at_price", "attributes", "is_active")
    show_change_link = True


class BrandFilter(admin.SimpleListFilter):
    title = _("brand")
    parameter_name = "brand"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        brands = Product.objects.exclude(brand="").values_list("brand", flat=True).distinct().order_by("brand")
        return [(brand, brand) for brand in brands]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        return queryset.filter(brand=self.value()) if self.value() else queryset


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductVariantResource]
    formats = [CSV, XLSX]
    list_display = ("name", "brand", "category", "tax_category", "variant_count", "is_active")
    list_filter = ("is_active", BrandFilter, CategoryTreeFilter, "tax_category")
    search_fields = ("name", "brand", "slug", "variants__sku", "variants__barcode")
    list_select_related = ("category", "tax_category")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VariantInline,)
    list_per_page = 50
    actions = ("activate", "deactivate")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(num_variants=Count("variants"))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "category":
            return CategoryChoiceField(
                queryset=Category.objects.order_by("path"), label=db_field.verbose_name.capitalize()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("variants"), ordering="num_variants")
    def variant_count(self, product: Product) -> int:
        return product.num_variants  # type: ignore[attr-defined]

    @admin.action(description=_("Activate selected products"))
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products_set_active(products=queryset, is_active=True)
        self.message_user(request, _("%(count)d products activated.") % {"count": count})

    @admin.action(description=_("Deactivate selected products"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products_set_active(products=queryset, is_active=False)
        self.message_user(request, _("%(count)d products deactivated.") % {"count": count})


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("sku", "product", "barcode", "size", "colour", "price", "compare_at_price", "is_active")
    list_filter = ("is_active", "size", "colour")
    search_fields = ("=sku", "=barcode", "product__name")
    list_select_related = ("product",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        # str(variant) names its product: autocomplete lists need it joined.
        return super().get_queryset(request).select_related("product")

    autocomplete_fields = ("product",)
    list_per_page = 50


class RunningFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("running", _("Running now")), ("upcoming", _("Upcoming")), ("ended", _("Ended"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Promotion]) -> QuerySet[Promotion]:
        now = timezone.now()
        if self.value() == "running":
            return queryset.running_at(now)  # type: ignore[attr-defined]
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "value", "starts_at", "ends_at", "is_active")
    list_filter = (RunningFilter, "kind", "is_active")
    search_fields = ("name",)
    autocomplete_fields = ("products", "variants")
    date_hierarchy = "starts_at"

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "categories":
            return CategoryMultipleChoiceField(
                queryset=Category.objects.order_by("path"),
                required=False,
                label=db_field.verbose_name.capitalize(),
                widget=FilteredSelectMultiple(db_field.verbose_name, is_stacked=False),
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)
