"""Transfers between locations: requested on a form, then shipped, received or cancelled by actions."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from config.admin_kit import BOTH_LOCATIONS, ReadOnlyInline, form_data
from inventory import services
from inventory.admin.common import LinesDocumentAdmin, LocationFilter, user_locations
from inventory.admin.fields import LinesField, LocationScopedForm
from inventory.models import Location, Transfer, TransferLeadTime, TransferLine

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class TransferLocationFilter(LocationFilter):
    title = _("from or to")
    paths = ("source", "destination")


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


class TransferLineInline(ReadOnlyInline):
    model = TransferLine
    fields = ("variant", "quantity")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransferLine]:
        return super().get_queryset(request).select_related("variant__product")


@admin.register(Transfer)
class TransferAdmin(LinesDocumentAdmin):
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
        form = TransferRequestForm(form_data(request), locations=user_locations(request).filter(is_active=True))

        def request_transfer(data: dict[str, Any]) -> tuple[Transfer, str]:
            transfer = services.transfer_request(
                source=data["source"],
                destination=data["destination"],
                lines=data["lines"],
                reference=data["reference"],
                expected_at=data["expected_at"],
                user=request.user,
            )
            message = _("Transfer T-%(number)d requested: the goods are reserved at %(source)s.") % {
                "number": transfer.pk,
                "source": data["source"].code,
            }
            return transfer, message

        return self.add_command_page(
            request,
            form,
            create=request_transfer,
            title=str(_("Request a transfer")),
            submit_label=str(_("Request")),
        )

    def _move_each(
        self, request: HttpRequest, queryset: QuerySet[Transfer], service: Callable[..., Any], done: "StrOrPromise"
    ) -> None:
        """One of the transfer services on each selected transfer, oldest first."""
        self.run_for_each(
            request,
            queryset.order_by("pk"),
            lambda transfer: service(transfer=transfer, user=request.user),
            label=lambda transfer: f"T-{transfer.pk} {transfer.source.code} → {transfer.destination.code}",
            done=done,
        )

    @admin.action(description=_("Ship: the goods leave the source"), permissions=["change"], location=BOTH_LOCATIONS)
    def ship(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._move_each(request, queryset, services.transfer_ship, _("%(count)d transfers shipped."))

    @admin.action(
        description=_("Receive: the goods entered the destination"), permissions=["change"], location=BOTH_LOCATIONS
    )
    def receive(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._move_each(request, queryset, services.transfer_receive, _("%(count)d transfers received."))

    @admin.action(description=_("Cancel the request"), permissions=["change"], location=BOTH_LOCATIONS)
    def cancel(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        self._move_each(request, queryset, services.transfer_cancel, _("%(count)d transfers cancelled."))


@admin.register(TransferLeadTime)
class TransferLeadTimeAdmin(admin.ModelAdmin):
    """Days goods take between two locations; pairs not listed take the default setting."""

    list_display = ("source", "destination", "days")
    list_filter = ("source", "destination")
    list_select_related = ("source", "destination")
    search_fields = ("source__code", "destination__code")
