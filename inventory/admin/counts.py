"""Cycle counts: what was counted on the shelf, recorded on a form and applied by an action."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from config.admin_kit import BOTH_LOCATIONS, ReadOnlyInline, form_data
from inventory import services
from inventory.admin.common import LinesDocumentAdmin, LocationFilter, user_locations
from inventory.admin.fields import LinesField, LocationScopedForm
from inventory.models import CycleCount, CycleCountLine, CycleCountStatus, Location, StockLevel


class CycleCountForm(LocationScopedForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label=_("location"))
    lines = LinesField(
        minimum=0,
        label=_("counted"),
        help_text=_(
            "One line per item: SKU or barcode, then the units counted on the shelf. E.g. MOD-CAM-0001-M-NEG 4"
        ),
    )


class CycleCountLineInline(ReadOnlyInline):
    model = CycleCountLine
    fields = ("variant", "counted", "on_hand_now", "difference")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[CycleCountLine]:
        on_hand = StockLevel.objects.filter(location=OuterRef("count__location"), variant=OuterRef("variant"))
        return (
            super()
            .get_queryset(request)
            .select_related("variant__product")
            .annotate(on_hand_now=Subquery(on_hand.values("on_hand")[:1]))
        )

    @admin.display(description=_("on hand now"))
    def on_hand_now(self, line: CycleCountLine) -> int:
        return getattr(line, "on_hand_now", None) or 0

    @admin.display(description=_("difference"))
    def difference(self, line: CycleCountLine) -> str:
        return f"{line.counted - self.on_hand_now(line):+d}"


@admin.register(CycleCount)
class CycleCountAdmin(LinesDocumentAdmin):
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
        form = CycleCountForm(form_data(request), locations=user_locations(request))

        def record_count(data: dict[str, Any]) -> tuple[CycleCount, str]:
            count = services.cycle_count_create(location=data["location"], lines=data["lines"], user=request.user)
            return count, _("Count C-%(number)d recorded. Apply it to adjust the stock.") % {"number": count.pk}

        return self.add_command_page(
            request,
            form,
            create=record_count,
            title=str(_("Record a count")),
            submit_label=str(_("Record")),
        )

    @admin.action(
        description=_("Apply count: adjust stock to what was counted"), permissions=["change"], location=BOTH_LOCATIONS
    )
    def apply_count(self, request: HttpRequest, queryset: QuerySet[CycleCount]) -> None:
        self.run_for_each(
            request,
            queryset.filter(status=CycleCountStatus.OPEN).order_by("pk"),
            lambda count: services.cycle_count_apply(count=count, user=request.user),
            label=lambda count: f"C-{count.pk} {count.location.code}",
            done=_("%(count)d counts applied."),
        )
        applied = queryset.exclude(status=CycleCountStatus.OPEN).count()
        if applied:
            self.message_user(
                request, _("%(count)d counts were applied already.") % {"count": applied}, messages.WARNING
            )
