"""Stock by location and its ledger: levels change only through commands, each leaving a movement."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin_kit import (
    NoAddMixin,
    NoDeleteMixin,
    QueryChoiceFilter,
    ReadOnlyAdminMixin,
    ReadOnlyPageMixin,
    form_data,
)
from inventory import services
from inventory.admin.common import LocationFilter, LocationScopedAdmin, LocationSkuColumnsMixin, user_locations
from inventory.admin.fields import LocationScopedForm, VariantField
from inventory.models import Location, StockLevel, StockMovement


class StockAdjustForm(LocationScopedForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("location"))
    variant = VariantField()
    quantity = forms.IntegerField(
        label=_("quantity"),
        help_text=_("Units to add (found, returned to shelf) or, negative, to remove (damaged, lost)."),
    )
    reason = forms.CharField(label=_("reason"), max_length=200, help_text=_("Why the stock changes: it is kept."))

    def clean_quantity(self) -> int:
        quantity: int = self.cleaned_data["quantity"]
        if quantity == 0:
            raise ValidationError(_("Give a number of units other than zero."))
        return quantity


class ThresholdActionForm(forms.Form):
    threshold = forms.IntegerField(
        label=_("low-stock threshold"),
        min_value=0,
        required=False,
        help_text=_("Alert staff when available falls below this. Leave empty for no alert."),
    )


class ThresholdForm(LocationScopedForm, ThresholdActionForm):
    """One level's threshold, the level named by its location and SKU."""

    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("location"))
    variant = VariantField()
    field_order = ("location", "variant", "threshold")


class StockStatusFilter(QueryChoiceFilter):
    title = _("stock")
    parameter_name = "stock"
    queries = {
        "low": (
            _("Low stock (below threshold)"),
            Q(low_stock_threshold__isnull=False, available__lt=F("low_stock_threshold")),
        ),
        "out": (_("Out of stock"), Q(available__lte=0)),
    }


@admin.register(StockLevel)
class StockLevelAdmin(NoAddMixin, NoDeleteMixin, ReadOnlyPageMixin, LocationSkuColumnsMixin, LocationScopedAdmin):
    """Stock arrives through receipts and transfers, each with its movement; a level's page is
    read-only, and changing stock (the actions, the forms) needs the change permission."""

    list_display = (
        "location_code",
        "sku",
        "product",
        "on_hand",
        "reserved",
        "available",
        "low_stock_threshold",
        "adjust_link",
    )
    list_filter = (LocationFilter, "location__kind", StockStatusFilter)
    search_fields = ("variant__sku", "=variant__barcode", "variant__product__name")
    search_help_text = _("SKU (or part of it), barcode or product name.")
    list_select_related = ("location", "variant__product")
    ordering = ("location__code", "variant__sku")
    fields = ("location", "variant", "on_hand", "reserved", "available", "low_stock_threshold", "updated_at", "links")
    readonly_fields = fields
    actions = ("set_threshold",)
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return super().get_queryset(request).select_related("location", "variant__product")

    def get_urls(self) -> list[URLPattern]:
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="inventory_stocklevel_adjust"),
            path("threshold/", self.admin_site.admin_view(self.threshold_view), name="inventory_stocklevel_threshold"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_adjust": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("product"), ordering="variant__product__name")
    def product(self, level: StockLevel) -> str:
        return level.variant.product.name

    @admin.display(description="")
    def adjust_link(self, level: StockLevel) -> str:
        return format_html(
            '<a href="{}?level={}">{}</a>', reverse("admin:inventory_stocklevel_adjust"), level.pk, _("Adjust")
        )

    @admin.display(description=_("more"))
    def links(self, level: StockLevel) -> str:
        return format_html(
            '<a href="{}?level={}">{}</a> · <a href="{}?level={}">{}</a> · <a href="{}?stock_level__id__exact={}">{}</a>',
            reverse("admin:inventory_stocklevel_adjust"),
            level.pk,
            _("Adjust stock"),
            reverse("admin:inventory_stocklevel_threshold"),
            level.pk,
            _("Set low-stock threshold"),
            reverse("admin:inventory_stockmovement_changelist"),
            level.pk,
            _("Movements"),
        )

    def _initial(self, request: HttpRequest) -> dict[str, Any]:
        """Location and SKU of the level in ?level=, when the user may see it."""
        level_id = request.GET.get("level", "")
        level = self.get_queryset(request).filter(pk=level_id).first() if level_id.isdigit() else None
        if level is None:
            return {}
        return {"location": level.location_id, "variant": level.variant.sku, "threshold": level.low_stock_threshold}

    def _command_form(self, request: HttpRequest, form_class: type[LocationScopedForm]) -> forms.Form:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return form_class(form_data(request), initial=self._initial(request), locations=user_locations(request))

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        """Correct on-hand by a signed number of units, with a reason: services.stock_adjust."""

        def adjust(data: dict[str, Any]) -> tuple[str, str]:
            services.stock_adjust(
                location=data["location"],
                variant=data["variant"],
                quantity=data["quantity"],
                reason=data["reason"],
                user=request.user,
            )
            message = _("Stock of %(sku)s at %(location)s adjusted by %(quantity)+d.") % {
                "sku": data["variant"].sku,
                "location": data["location"].code,
                "quantity": data["quantity"],
            }
            return message, self.changelist_url()

        return self.command_page(
            request,
            self._command_form(request, StockAdjustForm),
            act=adjust,
            title=str(_("Adjust stock")),
            submit_label=str(_("Adjust")),
        )

    def threshold_view(self, request: HttpRequest) -> HttpResponse:
        """Set one level's low-stock threshold: services.low_stock_threshold_set."""

        def set_threshold(data: dict[str, Any]) -> tuple[str, str]:
            services.low_stock_threshold_set(
                location=data["location"], variant=data["variant"], threshold=data["threshold"], user=request.user
            )
            return str(_("Low-stock threshold saved.")), self.changelist_url()

        return self.command_page(
            request,
            self._command_form(request, ThresholdForm),
            act=set_threshold,
            title=str(_("Set low-stock threshold")),
            submit_label=str(_("Save")),
        )

    @admin.action(description=_("Set low-stock threshold"), permissions=["change"])
    def set_threshold(self, request: HttpRequest, queryset: QuerySet[StockLevel]) -> HttpResponse | None:
        levels = list(queryset.select_related("location", "variant__product"))
        form = self.action_step_form(request, ThresholdActionForm)
        if form.is_valid():
            threshold = form.cleaned_data["threshold"]
            self.run_for_each(
                request,
                levels,
                lambda level: services.low_stock_threshold_set(
                    location=level.location, variant=level.variant, threshold=threshold, user=request.user
                ),
                label=lambda level: f"{level.location.code} {level.variant.sku}",
                done=_("Low-stock threshold set on %(count)d stock levels."),
            )
            return None
        return self.action_form_page(
            request,
            form,
            action="set_threshold",
            selected=levels,
            rows=[f"{level.location.code} · {level.variant}" for level in levels],
            title=str(_("Set low-stock threshold")),
            submit_label=str(_("Save")),
            intro=str(_("For these stock levels:")),
        )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, LocationSkuColumnsMixin, LocationScopedAdmin):
    """The ledger is append-only: movements are written by the stock services, never here."""

    list_display = (
        "created_at",
        "location_code",
        "sku",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "reference",
        "reason",
        "channel",
        "user",
    )
    list_filter = ("kind", LocationFilter, "created_at", "channel")
    search_fields = ("variant__sku", "=variant__barcode", "reference")
    search_help_text = _("SKU (or part of it), barcode, or a reference such as an order or T-12.")
    list_select_related = ("location", "variant", "user")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "location",
        "variant",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "reference",
        "reason",
        "channel",
        "user",
    )
    list_per_page = 100
    show_full_result_count = False  # the ledger grows large: no second count

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return super().get_queryset(request).select_related("location", "variant__product", "user")
