"""Parcels in the admin: the queue of a warehouse or store that ships, and the ship form.

Staff of a location see the parcels leaving it (staff reaching every order see all): to ship with
a carrier and tracking number (the lines in the box chosen on the form; those left out stay for
the next box) and, when the carrier says so, to mark delivered. The order's page shows its parcels
and offers the same ship form ("Ship a parcel"). Every step is a service call
(orders.services.parcels): refused, it changes nothing and says why.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import connection
from django.db.models import CharField, QuerySet, StringAgg, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from config.admin_kit import (
    BOTH_LOCATIONS,
    REFUSALS,
    IdChoiceFilter,
    NoAddMixin,
    NoDeleteMixin,
    ReadOnlyInline,
    ReadOnlyPageMixin,
    ServiceAdminMixin,
)
from inventory.selectors import location_list_for_user
from orders import selectors, services
from orders.admin.common import OrderServiceAdminMixin, store_actor
from orders.models import Order, Parcel, ParcelLine
from orders.services.access import CANCEL_PERMISSION


class ParcelShipForm(forms.Form):
    """One box: its carrier, its tracking number and the units of each line in it (of one parcel)."""

    carrier = forms.CharField(label=_("carrier"), max_length=60)
    tracking_number = forms.CharField(label=_("tracking number"), max_length=100)

    def __init__(self, data: Any = None, *, rows: list[ParcelLine], parcel_id: int | None = None) -> None:
        super().__init__(data)
        self.rows = {f"units_{row.pk}": row for row in rows}
        first = parcel_id or (rows[0].parcel_id if rows else None)  # the whole of one parcel, to start with
        for name, row in self.rows.items():
            self.fields[name] = forms.IntegerField(
                label=parcel_row_label(row),
                min_value=0,
                max_value=row.quantity,
                required=False,
                initial=row.quantity if row.parcel_id == first else 0,
                help_text=_("Units in this box; those left out stay behind as the next parcel from the same place."),
            )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        box = [(row, cleaned.get(name) or 0) for name, row in self.rows.items()]
        box = [(row, units) for row, units in box if units > 0]
        if not box:
            raise forms.ValidationError(_("Put at least one unit in the box."))
        if len({row.parcel_id for row, _units in box}) > 1:
            raise forms.ValidationError(_("Lines of one parcel at a time: each parcel is one box from one place."))
        cleaned["box"] = box
        return cleaned


class ParcelCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=200,
        help_text=_("Kept in the order's history and written on the credit note, if there is one."),
    )


def parcel_row_label(row: ParcelLine) -> str:
    return gettext("Parcel %(parcel)s from %(source)s: %(quantity)s x %(sku)s %(description)s") % {
        "parcel": row.parcel.position,
        "source": row.parcel.source.code,
        "quantity": row.quantity,
        "sku": row.order_line.sku,
        "description": row.order_line.description,
    }


def ship_form_page(
    admin_view: ServiceAdminMixin,
    request: HttpRequest,
    order: Order,
    *,
    action: str,
    selected: Any,
    parcel_id: int | None = None,
) -> TemplateResponse | None:
    """The ship form for one order's parcels; its valid POST ships one parcel (or says why not)."""
    rows = selectors.parcel_lines_to_ship(order, user=request.user)
    if not rows:
        admin_view.message_user(
            request,
            _("%(order)s: no parcel waits to leave from your locations.") % {"order": order.number},
            messages.WARNING,
        )
        return None
    form = ParcelShipForm(request.POST if "apply" in request.POST else None, rows=rows, parcel_id=parcel_id)
    if form.is_valid():
        box: list[tuple[ParcelLine, int]] = form.cleaned_data["box"]
        parcel = box[0][0].parcel
        full = {row.pk for row, units in box if units == row.quantity}
        whole = all(row.pk in full for row in rows if row.parcel_id == parcel.pk)
        try:
            services.parcel_ship(
                order=order,
                position=parcel.position,
                actor=store_actor(request),
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                lines=None
                if whole
                else [services.ParcelLineRequest(line=row.order_line.position, quantity=units) for row, units in box],
            )
        except REFUSALS as exc:
            admin_view.form_add_refusal(form, exc)
        else:
            admin_view.message_user(
                request,
                _("%(order)s: parcel %(parcel)s shipped.") % {"order": order.number, "parcel": parcel.position},
                messages.SUCCESS,
            )
            return None
    return admin_view.action_form_page(
        request,
        form,
        action=action,
        selected=selected,
        rows=[],
        title=gettext("Ship a parcel of %(order)s") % {"order": order.number},
        submit_label=gettext("Ship"),
        intro=gettext("The parcel leaves with its carrier: its units are sold from where it leaves."),
    )


class ParcelLineInline(ReadOnlyInline):
    model = ParcelLine
    fields = ("order_line", "quantity")
    readonly_fields = fields
    verbose_name_plural = _("in the box")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ParcelLine]:
        return super().get_queryset(request).select_related("order_line")


class ParcelInline(ReadOnlyInline):
    """An order's parcels, on the order seen whole."""

    model = Parcel
    fields = ("position", "source", "status", "contents", "carrier", "tracking_number", "shipped_at", "delivered_at")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Parcel]:
        return with_contents(Parcel.objects.select_related("source", "order"))  # the order: each row's name

    @admin.display(description=_("in the box"))
    def contents(self, parcel: Parcel) -> str:
        return parcel_contents(parcel)


class PickingParcelInline(ParcelInline):
    """A supplier's staff see the parcels leaving their locations only."""

    verbose_name_plural = _("parcels to ship from here")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Parcel]:
        parcels = selectors.parcel_list_for_staff(user=request.user, with_lines=False)
        return with_contents(parcels.select_related("order"))


def with_contents(parcels: QuerySet[Parcel]) -> QuerySet[Parcel]:
    """Each parcel with what is in it as one text ("2 x SKU, 1 x SKU"), in the same query."""
    # In line order where the database can order an aggregate (PostgreSQL; not every SQLite).
    ordered = connection.features.supports_aggregate_order_by_clause
    return parcels.annotate(
        contents_text=StringAgg(
            Concat(Cast("lines__quantity", CharField()), Value(" x "), "lines__order_line__sku"),
            delimiter=Value(", "),
            order_by=("lines__order_line__position",) if ordered else None,
            default=Value(""),
        )
    )


def parcel_contents(parcel: Parcel) -> str:
    return getattr(parcel, "contents_text", "")


class ParcelSourceFilter(IdChoiceFilter):
    """The user's locations only."""

    title = _("ships from")
    parameter_name = "source_at"
    paths = ("source",)

    def options(self, request: HttpRequest) -> list[tuple[str, str]]:
        rows = location_list_for_user(user=request.user).order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} · {name}") for pk, code, name in rows]


@admin.register(Parcel)
class ParcelAdmin(OrderServiceAdminMixin, NoAddMixin, NoDeleteMixin, ReadOnlyPageMixin, admin.ModelAdmin):
    """The parcels leaving the user's locations: the shipping queue, shipped and delivered by actions."""

    list_display = (
        "__str__",
        "source",
        "status",
        "contents",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
    )
    list_filter = ("status", ParcelSourceFilter)
    search_fields = ("order__number", "tracking_number")
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "order",
        "position",
        "source",
        "status",
        "ship_to",
        "carrier",
        "tracking_number",
        "created_at",
        "shipped_at",
        "shipped_by_user",
        "shipped_by_client",
        "delivered_at",
    )
    readonly_fields = fields
    inlines = (ParcelLineInline,)
    actions = ("ship", "deliver", "cancel")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Parcel]:
        parcels = selectors.parcel_list_for_staff(user=request.user, with_lines=False)
        return with_contents(parcels.select_related("order"))

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(CANCEL_PERMISSION))

    @admin.display(description=_("in the box"))
    def contents(self, parcel: Parcel) -> str:
        return parcel_contents(parcel)

    @admin.display(description=_("ship to"))
    def ship_to(self, parcel: Parcel) -> str:
        """The label: the address the box goes to, nothing else of the customer."""
        order = parcel.order
        parts = (
            order.shipping_name,
            order.shipping_street,
            f"{order.shipping_postal_code} {order.shipping_city}".strip(),
            order.shipping_country,
        )
        return ", ".join(part for part in parts if part)

    @admin.action(
        description=_("Ship: carrier, tracking number, what goes in the box"),
        permissions=["change"],
        location=BOTH_LOCATIONS,
    )
    def ship(self, request: HttpRequest, queryset: QuerySet[Parcel]) -> HttpResponse | None:
        parcels = list(queryset.order_by("pk")[:2])
        if len(parcels) != 1:
            self.message_user(
                request, _("Ship one parcel at a time: each has its own tracking number."), messages.ERROR
            )
            return None
        return ship_form_page(self, request, parcels[0].order, action="ship", selected=parcels, parcel_id=parcels[0].pk)

    @admin.action(
        description=_("Delivered: the carrier handed the parcel over"), permissions=["change"], location=BOTH_LOCATIONS
    )
    def deliver(self, request: HttpRequest, queryset: QuerySet[Parcel]) -> None:
        actor = store_actor(request)
        self.run_for_each(
            request,
            queryset.order_by("pk"),
            lambda parcel: services.parcel_deliver(order=parcel.order, position=parcel.position, actor=actor),
            label=str,
            done=ngettext_lazy("%(count)d parcel delivered.", "%(count)d parcels delivered.", "count"),
        )

    @admin.action(
        description=_("Cancel: not sent, its stock back on sale, its money back, a credit note"),
        permissions=["cancel"],
        location=BOTH_LOCATIONS,
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Parcel]) -> HttpResponse | None:
        parcels = list(queryset.order_by("pk"))
        form = self.action_step_form(request, ParcelCancelForm)
        if form.is_valid():
            actor, reason = store_actor(request), form.cleaned_data["reason"]
            self.run_for_each(
                request,
                parcels,
                lambda parcel: services.parcel_cancel(
                    order=parcel.order, position=parcel.position, actor=actor, reason=reason
                ),
                label=str,
                done=ngettext_lazy("%(count)d parcel cancelled.", "%(count)d parcels cancelled.", "count"),
            )
            return None
        return self.action_form_page(
            request,
            form,
            action="cancel",
            selected=parcels,
            rows=[f"{parcel} · {parcel.source.code} · {parcel.get_status_display()}" for parcel in parcels],
            title=gettext("Cancel parcels"),
            submit_label=gettext("Cancel the parcels"),
            intro=gettext(
                "A parcel still to ship is not sent: its units go back on sale and its lines are refunded and "
                "credited. These parcels:"
            ),
        )
