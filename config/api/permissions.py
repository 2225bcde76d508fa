from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.api.authentication import request_channel_client


class IsChannelClientOrStaff(BasePermission):
    """Channel clients with a valid token, and staff signed in to the admin."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request_channel_client(request) is not None:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsStaff(BasePermission):
    """Staff signed in to the back-office; channel clients are refused."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
