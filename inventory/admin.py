"""Inventory in the admin: stock by location, adjustments with a reason, transfers, counts, history.

Every write goes through inventory.services with `user=request.user`, so the services' location
check applies; reads are scoped the same way: store staff see the rows of their own locations
only (selectors.location_list_for_user), managers see all. On-hand and reserved are never
edited in a form: they change through adjustments, receipts, transfers and counts, each
leaving a movement in the ledger.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from config.channels import DEVICE_CHANNELS, Channel
from config.exceptions import ApplicationError
from config.models import ChannelClient
from inventory import selectors, services
from inventory.models import (
    CycleCount,
    CycleCountLine,
    CycleCountStatus,
    Location,
    LowStockAlert,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLeadTime,
    TransferLine,
)

BOTH_LOCATIONS = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]
NOT_YOURS = _("You do not manage the stock of this location.")
# The credentials that act at a place: store tills and devices such as lockers.
BOUND_CHANNELS = sorted({Channel.STORE, *DEVICE_CHANNELS})


# --- Scoping: store staff see their own locations -------------------------------------------


def user_locations(request: HttpRequest) -> QuerySet[Location]:
    return selectors.location_list_for_user(user=request.user)


class LocationScopedAdmin(admin.ModelAdmin):
    """Rows of the user's locations only; `location_lookups` name the paths to a location."""

    location_lookups: tuple[str, ...] = ("location",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        locations = user_locations(request)
        visible = Q()
        for lookup in self.location_lookups:
            visible |= Q(**{f"{lookup}__in": locations})
        return super().get_queryset(request).filter(visible)


class LocationFilter(admin.SimpleListFilter):
    """Only the user's locations are offered."""

    title = _("location")
    parameter_name = "location"
    location_lookups: tuple[str, ...] = ("location",)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        rows = user_locations(request).order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} · {name}") for pk, code, name in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        matches = Q()
        for lookup in self.location_lookups:
            matches |= Q(**{lookup: int(value)})
        return queryset.filter(matches)


class TransferLocationFilter(LocationFilter):
    title = _("from or to")
    location_lookups = ("source", "destination")


class AlertLocationFilter(LocationFilter):
    location_lookups = ("stock_level__location",)


# --- Forms -----------------------------------------------------------------------------------


def variants_by_code(codes: Iterable[str]) -> dict[str, Variant]:
    """Variants by SKU or barcode, as staff type or scan them: one query."""
    codes = set(codes)
    found: dict[str, Variant] = {}
    for variant in Variant.objects.filter(Q(sku__in=codes) | Q(barcode__in=codes)).select_related("product"):
        for code in (variant.sku, variant.barcode):
            if code in codes:
                found[code] = variant
    return found


class VariantField(forms.CharField):
    """A SKU or a barcode, cleaned to the variant."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("SKU or barcode"))
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        code = super().clean(value)
        if not code:
            return None
        variant = variants_by_code([code]).get(code)
        if variant is None:
            raise ValidationError(_("No variant has the SKU or barcode %(code)s."), params={"code": code})
        return variant


class LinesField(forms.CharField):
    """One line per item: a SKU or barcode, then a whole number. Cleaned to [(variant, number)]."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 50, "spellcheck": "false"})

    def __init__(self, *, minimum: int, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value) or ""
        parsed: list[tuple[int, str, int]] = []
        errors = []
        for number, raw in enumerate(text.splitlines(), start=1):
            parts = raw.replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                errors.append(_("Line %(number)d: write a SKU or barcode and a number.") % {"number": number})
                continue
            if int(parts[1]) < self.minimum:
                errors.append(
                    _("Line %(number)d: the number must be %(minimum)d or more.")
                    % {"number": number, "minimum": self.minimum}
                )
                continue
            parsed.append((number, parts[0], int(parts[1])))
        if not parsed and not errors:
            raise ValidationError(_("Write at least one line."))
        variants = variants_by_code(code for _number, code, _quantity in parsed)
        errors += [
            _("Line %(number)d: no variant has the SKU or barcode %(code)s.") % {"number": number, "code": code}
            for number, code, _quantity in parsed
            if code not in variants
        ]
        if errors:
            raise ValidationError(errors)
        return [(variants[code], quantity) for _number, code, quantity in parsed]


class LocationScopedForm(forms.Form):
    """A form whose `location` choices are the user's locations."""

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("location", "source"):
            if name in self.fields:
                self.fields[name].queryset = locations  # type: ignore[attr-defined]


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


class ThresholdForm(LocationScopedForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("location"))
    variant = VariantField()
    threshold = forms.IntegerField(
        label=_("low-stock threshold"),
        min_value=0,
        required=False,
        help_text=_("Alert staff when available falls below this. Leave empty for no alert."),
    )


class ThresholdActionForm(forms.Form):
    threshold = forms.IntegerField(
        label=_("low-stock threshold"),
        min_value=0,
        required=False,
        help_text=_("Alert staff when available falls below this. Leave empty for no alert."),
    )


class TransferRequestForm(LocationScopedForm):
    source = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("from"))
    destination = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True), label=_("to"))
    lines = LinesField(
        minimum=1,
        label=_("lines"),
        help_text=_("One line per item: SKU or barcode, then the quantity. E.g. MOD-CAM-0001-M-NEG 2"),
    )
    reference = forms.CharField(label=_("reference"), max_length=100, required=False)
    expected_at = forms.DateField(
        label=_("expected"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("source") and cleaned.get("source") == cleaned.get("destination"):
            self.add_error("destination", _("A transfer goes to another location."))
        return cleaned


class CycleCountForm(LocationScopedForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("location"))
    lines = LinesField(
        minimum=0,
        label=_("counted"),
        help_text=_(
            "One line per item: SKU or barcode, then the units counted on the shelf. E.g. MOD-CAM-0001-M-NEG 4"
        ),
    )


def form_add_service_error(form: forms.Form, exc: Exception) -> None:
    """A service's refusal as form errors: field errors on their fields, the rest on top."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(NOT_YOURS))
    elif isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    elif isinstance(exc, ApplicationError):
        form.add_error(None, service_error_text(exc))
    else:
        raise exc


def service_error_text(exc: ApplicationError) -> str:
    """The service's message and, for stock refusals, which lines and what is available."""
    details = [
        _("%(sku)s at %(location)s: %(requested)s asked, %(available)s available")
        % {key: line.get(key) for key in ("sku", "location", "requested", "available")}
        for line in exc.extra.get("lines") or []
    ]
    return " ".join([exc.message, "; ".join(str(detail) for detail in details)]).strip()


class FormPageMixin:
    """Renders admin/inventory/form.html: one form, admin-styled, for a command."""

    admin_site: admin.AdminSite
    opts: Any
    media: forms.Media

    def form_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        title: str,
        submit_label: str,
        cancel_url: str,
        intro: str = "",
        objects: Sequence[Any] = (),
        hidden: Sequence[tuple[str, Any]] = (),
    ) -> TemplateResponse:
        for field in form.fields.values():
            field.label = capfirst(field.label)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            # AdminForm lays out any form; the stubs ask for a ModelForm.
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),  # type: ignore[arg-type]
            "media": self.media + form.media,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            "intro": intro,
            "objects": objects,
            "hidden": hidden,
        }
        return TemplateResponse(request, "admin/inventory/form.html", context)

    def changelist_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def command_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        act: Callable[[dict[str, Any]], tuple[str, str]],
        title: str,
        submit_label: str,
    ) -> HttpResponse:
        """A form whose valid POST calls one service. `act` returns the success message and
        where to go next; the service's refusals show on the form and nothing changes."""
        if request.method == "POST" and form.is_valid():
            try:
                message, next_url = act(form.cleaned_data)
            except (PermissionDenied, ValidationError, ApplicationError) as exc:
                form_add_service_error(form, exc)
            else:
                self.message_user(request, message, messages.SUCCESS)  # type: ignore[attr-defined]
                return HttpResponseRedirect(next_url)
        return self.form_page(request, form, title=title, submit_label=submit_label, cancel_url=self.changelist_url())


def run_for_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    service: Callable[..., Any],
    argument: str,
    done: str,
    label: Callable[[Any], str],
) -> None:
    """Call the service for each object; each refusal becomes an error message, the rest go on."""
    count = 0
    for obj in objects:
        try:
            service(**{argument: obj}, user=request.user)
        except PermissionDenied:
            model_admin.message_user(request, f"{label(obj)}: {NOT_YOURS}", messages.ERROR)
        except ValidationError as exc:
            model_admin.message_user(request, f"{label(obj)}: {' '.join(exc.messages)}", messages.ERROR)
        except ApplicationError as exc:
            model_admin.message_user(request, f"{label(obj)}: {service_error_text(exc)}", messages.ERROR)
        else:
            count += 1
    if count:
        model_admin.message_user(request, done % {"count": count}, messages.SUCCESS)


# --- Locations -------------------------------------------------------------------------------


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "city", "can_ship", "is_pickup_point", "is_active")
    list_filter = ("kind", "is_active", "can_ship", "is_pickup_point")
    search_fields = ("code", "name", "city")
    filter_horizontal = ("staff", "channel_clients")
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "is_active")}),
        (_("Address"), {"fields": ("address", "city", "country", "latitude", "longitude")}),
        (_("Fulfilment"), {"fields": ("can_ship", "is_pickup_point")}),
        (_("Staff"), {"fields": ("staff",)}),
        (_("Devices and tills"), {"fields": ("channel_clients",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        return user_locations(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Who may work a location's stock, and which devices and tills work there, is the managers' call.
        return () if request.user.has_perm("inventory.manage_all_locations") else ("staff", "channel_clients")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "staff":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True).order_by("username")
        if db_field.name == "channel_clients":
            # Only a till or a device acts at a place; binding a web shop would mean nothing.
            kwargs["queryset"] = ChannelClient.objects.filter(channel__in=BOUND_CHANNELS).order_by("name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


# --- Stock by location -----------------------------------------------------------------------


class StockStatusFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("low", _("Low stock (below threshold)")), ("out", _("Out of stock"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
        if self.value() == "low":
            return queryset.filter(low_stock_threshold__isnull=False, available__lt=F("low_stock_threshold"))
        if self.value() == "out":
            return queryset.filter(available__lte=0)
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(FormPageMixin, LocationScopedAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # stock arrives through receipts and transfers, each with its movement

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A level's page is read-only; changing stock (the actions, the forms) needs the permission.
        return obj is None and super().has_change_permission(request)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="inventory_stocklevel_adjust"),
            path("threshold/", self.admin_site.admin_view(self.threshold_view), name="inventory_stocklevel_threshold"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_adjust": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("location"), ordering="location__code")
    def location_code(self, level: StockLevel) -> str:
        return level.location.code

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, level: StockLevel) -> str:
        return level.variant.sku

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

    def _command_form(self, request: HttpRequest, form_class: type[forms.Form]) -> forms.Form:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return form_class(  # type: ignore[call-arg]
            request.POST if request.method == "POST" else None,
            initial=self._initial(request),
            locations=user_locations(request),
        )

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
        form = ThresholdActionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            run_for_each(
                self,
                request,
                levels,
                lambda level, user: services.low_stock_threshold_set(
                    location=level.location, variant=level.variant, threshold=form.cleaned_data["threshold"], user=user
                ),
                "level",
                str(_("Low-stock threshold set on %(count)d stock levels.")),
                lambda level: f"{level.location.code} {level.variant.sku}",
            )
            return None
        hidden = [("action", "set_threshold"), *((helpers.ACTION_CHECKBOX_NAME, level.pk) for level in levels)]
        return self.form_page(
            request,
            form,
            title=str(_("Set low-stock threshold")),
            submit_label=str(_("Save")),
            cancel_url=self.changelist_url(),
            intro=str(_("For these stock levels:")),
            objects=[f"{level.location.code} · {level.variant}" for level in levels],
            hidden=hidden,
        )


# --- Movement history ------------------------------------------------------------------------


@admin.register(StockMovement)
class StockMovementAdmin(LocationScopedAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the ledger is append-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("location"), ordering="location__code")
    def location_code(self, movement: StockMovement) -> str:
        return movement.location.code

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, movement: StockMovement) -> str:
        return movement.variant.sku


# --- Transfers -------------------------------------------------------------------------------


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 0
    fields = ("variant", "quantity")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransferLine]:
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LinesDocumentAdmin(LocationScopedAdmin):
    """Transfers and counts: read-only pages with their lines; they move on through actions."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # list_select_related is a tuple of relations on both subclasses.
        related: tuple[str, ...] = tuple(self.list_select_related)  # type: ignore[arg-type]
        return super().get_queryset(request).select_related(*related).annotate(num_lines=Count("lines"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("lines"), ordering="num_lines")
    def line_count(self, document: Any) -> int:
        return int(document.num_lines)


@admin.register(Transfer)
class TransferAdmin(FormPageMixin, LinesDocumentAdmin):
    location_lookups = ("source", "destination")
    list_display = (
        "number",
        "source",
        "destination",
        "status",
        "line_count",
        "reference",
        "expected_at",
        "created_at",
        "shipped_at",
        "received_at",
    )
    list_filter = ("status", TransferLocationFilter)
    search_fields = ("=id", "reference", "lines__variant__sku")
    search_help_text = _("Transfer number, reference or a SKU on it.")
    list_select_related = ("source", "destination")
    fields = (
        "number",
        "source",
        "destination",
        "status",
        "reference",
        "expected_at",
        "created_at",
        "shipped_at",
        "received_at",
    )
    readonly_fields = fields
    inlines = (TransferLineInline,)
    actions = ("ship", "receive", "cancel")
    date_hierarchy = "created_at"

    @admin.display(description=_("transfer"), ordering="pk")
    def number(self, transfer: Transfer) -> str:
        return f"T-{transfer.pk}"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Request a transfer from one of the user's locations: services.transfer_request."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TransferRequestForm(
            request.POST if request.method == "POST" else None,
            locations=user_locations(request).filter(is_active=True),
        )

        def request_transfer(data: dict[str, Any]) -> tuple[str, str]:
            transfer = services.transfer_request(
                source=data["source"],
                destination=data["destination"],
                lines=data["lines"],
                reference=data["reference"],
                expected_at=data["expected_at"],
                user=request.user,
            )
            self.log_addition(request, transfer, [{"added": {}}])
            message = _("Transfer T-%(number)d requested: the goods are reserved at %(source)s.") % {
                "number": transfer.pk,
                "source": data["source"].code,
            }
            return message, reverse("admin:inventory_transfer_change", args=[transfer.pk])

        return self.command_page(
            request,
            form,
            act=request_transfer,
            title=str(_("Request a transfer")),
            submit_label=str(_("Request")),
        )

    @staticmethod
    def _label(transfer: Transfer) -> str:
        return f"T-{transfer.pk} {transfer.source.code} → {transfer.destination.code}"

    @admin.action(description=_("Ship: the goods leave the source"), permissions=["change"], location=BOTH_LOCATIONS)
    def ship(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            services.transfer_ship,
            "transfer",
            str(_("%(count)d transfers shipped.")),
            self._label,
        )

    @admin.action(
        description=_("Receive: the goods entered the destination"), permissions=["change"], location=BOTH_LOCATIONS
    )
    def receive(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            services.transfer_receive,
            "transfer",
            str(_("%(count)d transfers received.")),
            self._label,
        )

    @admin.action(description=_("Cancel the request"), permissions=["change"], location=BOTH_LOCATIONS)
    def cancel(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            services.transfer_cancel,
            "transfer",
            str(_("%(count)d transfers cancelled.")),
            self._label,
        )


@admin.register(TransferLeadTime)
class TransferLeadTimeAdmin(admin.ModelAdmin):
    """Days goods take between two locations; pairs not listed take the default setting."""

    list_display = ("source", "destination", "days")
    list_filter = ("source", "destination")
    list_select_related = ("source", "destination")
    search_fields = ("source__code", "destination__code")


# --- Cycle counts ----------------------------------------------------------------------------


class CycleCountLineInline(admin.TabularInline):
    model = CycleCountLine
    extra = 0
    fields = ("variant", "counted", "on_hand_now", "difference")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CycleCountLine]:
        on_hand = StockLevel.objects.filter(location=OuterRef("count__location"), variant=OuterRef("variant"))
        return (
            super()
            .get_queryset(request)
            .select_related("variant__product")
            .annotate(on_hand_now=Subquery(on_hand.values("on_hand")[:1]))
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("on hand now"))
    def on_hand_now(self, line: CycleCountLine) -> int:
        return getattr(line, "on_hand_now", None) or 0

    @admin.display(description=_("difference"))
    def difference(self, line: CycleCountLine) -> str:
        return f"{line.counted - self.on_hand_now(line):+d}"


@admin.register(CycleCount)
class CycleCountAdmin(FormPageMixin, LinesDocumentAdmin):
    list_display = ("number", "location", "status", "line_count", "created_at", "applied_at")
    list_filter = ("status", LocationFilter)
    list_select_related = ("location",)
    fields = ("number", "location", "status", "created_at", "applied_at")
    readonly_fields = fields
    inlines = (CycleCountLineInline,)
    actions = ("apply_count",)
    date_hierarchy = "created_at"

    @admin.display(description=_("count"), ordering="pk")
    def number(self, count: CycleCount) -> str:
        return f"C-{count.pk}"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Record what was counted on the shelf: services.cycle_count_create. Nothing changes yet."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CycleCountForm(request.POST if request.method == "POST" else None, locations=user_locations(request))

        def record_count(data: dict[str, Any]) -> tuple[str, str]:
            count = services.cycle_count_create(location=data["location"], lines=data["lines"], user=request.user)
            self.log_addition(request, count, [{"added": {}}])
            message = _("Count C-%(number)d recorded. Apply it to adjust the stock.") % {"number": count.pk}
            return message, reverse("admin:inventory_cyclecount_change", args=[count.pk])

        return self.command_page(
            request,
            form,
            act=record_count,
            title=str(_("Record a count")),
            submit_label=str(_("Record")),
        )

    @admin.action(
        description=_("Apply count: adjust stock to what was counted"), permissions=["change"], location=BOTH_LOCATIONS
    )
    def apply_count(self, request: HttpRequest, queryset: QuerySet[CycleCount]) -> None:
        run_for_each(
            self,
            request,
            queryset.filter(status=CycleCountStatus.OPEN).order_by("pk"),
            services.cycle_count_apply,
            "count",
            str(_("%(count)d counts applied.")),
            lambda count: f"C-{count.pk} {count.location.code}",
        )
        applied = queryset.exclude(status=CycleCountStatus.OPEN).count()
        if applied:
            self.message_user(
                request, _("%(count)d counts were applied already.") % {"count": applied}, messages.WARNING
            )


# --- Low-stock alerts ------------------------------------------------------------------------


class AlertStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("resolved", _("Resolved"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[LowStockAlert]) -> QuerySet[LowStockAlert]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(LowStockAlert)
class LowStockAlertAdmin(LocationScopedAdmin):
    location_lookups = ("stock_level__location",)
    list_display = (
        "location_code",
        "sku",
        "product",
        "available",
        "threshold",
        "available_now",
        "is_open",
        "created_at",
        "notified_at",
        "resolved_at",
    )
    list_filter = (AlertStateFilter, AlertLocationFilter)
    search_fields = ("stock_level__variant__sku", "=stock_level__variant__barcode")
    list_select_related = ("stock_level__location", "stock_level__variant__product")
    # Open alerts first (no resolved_at), then the most recently resolved; newest first within.
    ordering = (F("resolved_at").desc(nulls_first=True), "-created_at")
    fields = (
        "stock_level_link",
        "available",
        "threshold",
        "available_now",
        "created_at",
        "notified_at",
        "resolved_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[LowStockAlert]:
        return super().get_queryset(request).select_related("stock_level__location", "stock_level__variant__product")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # raised and resolved by the stock services

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("location"), ordering="stock_level__location__code")
    def location_code(self, alert: LowStockAlert) -> str:
        return alert.stock_level.location.code

    @admin.display(description=_("SKU"), ordering="stock_level__variant__sku")
    def sku(self, alert: LowStockAlert) -> str:
        return alert.stock_level.variant.sku

    @admin.display(description=_("product"))
    def product(self, alert: LowStockAlert) -> str:
        return alert.stock_level.variant.product.name

    @admin.display(description=_("available now"))
    def available_now(self, alert: LowStockAlert) -> int:
        return alert.stock_level.available

    @admin.display(description=_("open"), boolean=True)
    def is_open(self, alert: LowStockAlert) -> bool:
        return alert.resolved_at is None

    @admin.display(description=_("stock level"))
    def stock_level_link(self, alert: LowStockAlert) -> str:
        level = alert.stock_level
        return format_html(
            '<a href="{}">{} · {}</a>',
            reverse("admin:inventory_stocklevel_change", args=[level.pk]),
            level.location.code,
            level.variant,
        )
