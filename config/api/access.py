"""Who may call each operation of the API: one declaration per view, one permission class.

Every view says, per action (a ViewSet) or per HTTP method (an APIView), what it needs:

    access = {
        "list": Access(scope=Scope.ORDERS_READ, staff=("orders.view_order",)),
        "hand_over": Access(scope=Scope.ORDERS_FULFIL, staff=("orders.hand_over_order",)),
        "consents.post": Access(scope=Scope.CUSTOMERS_WRITE, staff=("customers.add_consent",)),
    }

- A channel credential needs the scope (403 `missing_scope` naming it); `scope=None` refuses
  every credential.
- A staff member signed in needs every Django permission listed, as in the admin (403);
  `staff=None` refuses staff. Locations and reach are checked on the objects by each app.
- `Access.anyone()` lets anyone in (public tracking, the API docs).
- An operation without a declaration is refused: a new endpoint is closed until it says who
  may use it (and the permission matrix test fails until it has its rows).

Which objects a caller sees (reach, locations) is the app's business: its selectors filter
by the caller, so another's object answers 404 exactly like a missing one.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.api.authentication import request_channel_client
from config.exceptions import ApplicationError, ConfigErrorCode
from config.scopes import Scope


class MissingScope(ApplicationError):
    code = ConfigErrorCode.MISSING_SCOPE
    status_code = 403

    def __init__(self, scope: str) -> None:
        super().__init__(
            _("This credential lacks the scope %(scope)s needed here.") % {"scope": scope},
            extra={"scope": scope},
        )


class NotForCredential(ApplicationError):
    code = ConfigErrorCode.PERMISSION_DENIED
    status_code = 403


@dataclass(frozen=True)
class Access:
    """What one operation needs: a scope for channel credentials, permissions for staff."""

    scope: Scope | None = None
    staff: tuple[str, ...] | None = None
    public: bool = False

    @classmethod
    def anyone(cls) -> "Access":
        return cls(public=True)

    def describe(self) -> str:
        if self.public:
            return _("Public: no credential needed.")
        parts = [
            _("Channel credentials need the scope `%(scope)s`.") % {"scope": self.scope}
            if self.scope
            else _("Channel credentials may not call this.")
        ]
        if self.staff is None:
            parts.append(_("Staff may not call this."))
        elif self.staff:
            perms = ", ".join(f"`{perm}`" for perm in self.staff)
            parts.append(_("Staff need the permissions %(perms)s.") % {"perms": perms})
        else:
            parts.append(_("Any staff member signed in may call this."))
        return " ".join(parts)


def access_key(view: Any, method: str) -> str:
    """The action of a ViewSet, else the HTTP method; HEAD is GET."""
    method = method.lower()
    action = getattr(view, "action", None)
    if action:
        return str(action)
    return "get" if method == "head" else method


def access_rule(view: Any, method: str) -> Access | None:
    declared: dict[str, Access] = getattr(view, "access", {}) or {}
    key = access_key(view, method)
    lower = method.lower()
    return declared.get(f"{key}.{'get' if lower == 'head' else lower}") or declared.get(key)


class ApiAccess(BasePermission):
    """The one permission class of the API: it enforces each view's `access` declaration."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method == "OPTIONS":
            return True  # no metadata is served (DEFAULT_METADATA_CLASS is None): a 405 follows
        rule = access_rule(view, request.method or "GET")
        if rule is None:
            return False
        if rule.public:
            return True
        client = request_channel_client(request)
        if client is not None:
            if rule.scope is None:
                raise NotForCredential(_("Channel credentials may not call this."))
            if not client.has_scope(rule.scope):
                raise MissingScope(str(rule.scope))
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        return rule.staff is not None and user.has_perms(rule.staff)
