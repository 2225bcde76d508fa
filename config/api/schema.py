"""The OpenAPI schema says, for each operation, who may call it and every status it may answer."""

from enum import StrEnum
from typing import Any

from drf_spectacular.openapi import AutoSchema

from config.api.access import access_rule
from config.api.errors import ApiErrorSerializer, codes_described
from config.exceptions import ConfigErrorCode as Code

# Query parameters every list takes; none of them refuses a value (a page past the end is a 404).
LIST_PARAMETERS = frozenset({"page", "page_size", "ordering", "search"})

SHARED_ERRORS: dict[int, dict[StrEnum, str]] = {
    400: {Code.INVALID: "the request has invalid fields; `fields` says, per field, what is wrong"},
    401: {
        Code.NOT_AUTHENTICATED: "no credential",
        Code.AUTHENTICATION_FAILED: "",
        Code.INVALID_TOKEN: "",
        Code.INVALID_TOKEN_HEADER: "a credential that is not valid",
    },
    403: {
        Code.MISSING_SCOPE: "the credential lacks the scope this needs (`scope` names it)",
        Code.PERMISSION_DENIED: "the credential or the staff member may not do this",
    },
    404: {Code.NOT_FOUND: "no such object among those you may see (another's answers the same), or no such page"},
    429: {Code.THROTTLED: "too many requests; `Retry-After` says in how many seconds to try again"},
}


class AccessAutoSchema(AutoSchema):
    """Adds `x-required-scope`, `x-staff-permissions` and an access line to each operation, and
    the error responses the API's common parts give (SHARED_ERRORS), in the one error shape."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        rule = access_rule(self.view, self.method)
        self._add_shared_errors(operation, public=rule is not None and rule.public)
        if rule is None:
            return operation
        if rule.scope:
            operation["x-required-scope"] = str(rule.scope)
        if rule.staff:
            operation["x-staff-permissions"] = list(rule.staff)
        text = operation.get("description", "")
        operation["description"] = f"{text}\n\n**Access.** {rule.describe()}".strip()
        return operation

    def shared_error_statuses(self, operation: dict[str, Any], *, public: bool) -> list[int]:
        """What the API's common parts may answer for this operation, whatever it does."""
        parameters = operation.get("parameters", [])
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        statuses = []
        if "requestBody" in operation or query - LIST_PARAMETERS:
            statuses.append(400)  # a serializer or a filter judges the input
        if not public:
            statuses += [401, 403]  # authentication, then the access rule (config.api.access)
        if any(parameter["in"] == "path" for parameter in parameters) or "page" in query:
            statuses.append(404)  # an object looked up, or a page
        if self.view.get_throttles():
            statuses.append(429)
        return statuses

    def _add_shared_errors(self, operation: dict[str, Any], *, public: bool) -> None:
        error = self.resolve_serializer(ApiErrorSerializer, "response").ref
        responses: dict[str, Any] = operation["responses"]
        for status in self.shared_error_statuses(operation, public=public):
            declared = responses.setdefault(str(status), {"description": ""})
            declared.setdefault("content", {"application/json": {"schema": error}})
            # The operation's own codes for this status first, then the shared ones.
            own = declared["description"]
            declared["description"] = f"{own}\n\n{codes_described(SHARED_ERRORS[status])}".strip()
        operation["responses"] = dict(sorted(responses.items()))
