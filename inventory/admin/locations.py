"""Locations: stores, warehouses and pickup points, who works their stock and which devices act there."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.channels import DEVICE_CHANNELS, Channel
from config.models import ChannelClient
from inventory.admin.common import user_locations
from inventory.models import Location

# The credentials that act at a place: store tills and devices such as lockers.
BOUND_CHANNELS = sorted({Channel.STORE, *DEVICE_CHANNELS})


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
