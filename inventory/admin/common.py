"""What inventory's admin pages share: scoping to the user's locations, and the documents with lines."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.admin_kit import IdChoiceFilter, NoDeleteMixin, ReadOnlyPageMixin, ServiceAdminMixin
from inventory import selectors
from inventory.models import Location

NOT_YOURS = _("You do not manage the stock of this location.")


def user_locations(request: HttpRequest) -> QuerySet[Location]:
    return selectors.location_list_for_user(user=request.user)


class LocationScopedAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Rows of the user's locations only; `location_lookups` name the paths to a location."""

    location_lookups: tuple[str, ...] = ("location",)
    # The pages name the location the user chose: a refusal for want of permission says so.
    forbidden_text = NOT_YOURS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        locations = user_locations(request)
        visible = Q()
        for lookup in self.location_lookups:
            visible |= Q(**{f"{lookup}__in": locations})
        return super().get_queryset(request).filter(visible)


class LocationFilter(IdChoiceFilter):
    """Only the user's locations are offered."""

    title = _("location")
    parameter_name = "location"
    paths: tuple[str, ...] = ("location",)

    def options(self, request: HttpRequest) -> list[tuple[str, str]]:
        rows = user_locations(request).order_by("code").values_list("pk", "code", "name")
        return [(str(pk), f"{code} · {name}") for pk, code, name in rows]


class LocationSkuColumnsMixin:
    """List columns of rows with a location and a variant: the location's code, the SKU."""

    @admin.display(description=_("location"), ordering="location__code")
    def location_code(self, row: Any) -> str:
        return str(row.location.code)

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, row: Any) -> str:
        return str(row.variant.sku)


class LinesDocumentAdmin(ReadOnlyPageMixin, NoDeleteMixin, LocationScopedAdmin):
    """Transfers and counts: read-only pages with their lines; they move on through actions."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # list_select_related is a tuple of relations on both subclasses.
        related: tuple[str, ...] = tuple(self.list_select_related)  # type: ignore[arg-type]
        return super().get_queryset(request).select_related(*related).annotate(num_lines=Count("lines"))

    @admin.display(description=_("lines"), ordering="num_lines")
    def line_count(self, document: Any) -> int:
        return int(document.num_lines)
