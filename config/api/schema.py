"""The OpenAPI schema says, for each operation, who may call it and every status it may answer."""

from enum import StrEnum
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from config.api.access import access_key, access_rule
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

# What the Idempotency-Key adds to a write marked @idempotent (config.api.idempotency).
IDEMPOTENCY_ERRORS: dict[int, dict[StrEnum, str]] = {
    400: {Code.INVALID_IDEMPOTENCY_KEY: "the Idempotency-Key is not 1 to 100 characters"},
    409: {
        Code.IDEMPOTENCY_KEY_REUSED: "the Idempotency-Key was used for another operation or with another body",
        Code.IDEMPOTENCY_KEY_IN_PROGRESS: (
            "the first request with this Idempotency-Key is still running; `Retry-After` says when to try again"
        ),
        Code.IDEMPOTENCY_ANSWER_ERASED: (
            "the request with this Idempotency-Key was done once; its answer named a person since erased and "
            "is not kept"
        ),
    },
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1 to 100 characters, yours alone (per credential or staff member). A retry with the same key "
        "and body gets the first answer again (`Idempotent-Replayed: true`) and changes nothing; the same key "
        "with another body or operation is refused (409). Refusals are not remembered. Kept for "
        "IDEMPOTENCY_KEY_RETENTION_DAYS."
    ),
)
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present on a replay: this is the first answer to this Idempotency-Key, given again.",
    }
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
        if self.idempotent:
            self._add_idempotency(operation)
        if rule is None:
            return operation
        if rule.scope:
            operation["x-required-scope"] = str(rule.scope)
        if rule.staff:
            operation["x-staff-permissions"] = list(rule.staff)
        text = operation.get("description", "")
        operation["description"] = f"{text}\n\n**Access.** {rule.describe()}".strip()
        return operation

    @property
    def idempotent(self) -> bool:
        """The operation is a write marked @idempotent (config.api.idempotency)."""
        from config.api.idempotency import KEYED, METHODS, handler_idempotency

        if self.method.upper() not in METHODS:
            return False
        handler = getattr(self.view, access_key(self.view, self.method), None)
        return handler_idempotency(handler) == KEYED

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        return [*parameters, IDEMPOTENCY_PARAMETER] if self.idempotent else parameters

    def _add_idempotency(self, operation: dict[str, Any]) -> None:
        error = self.resolve_serializer(ApiErrorSerializer, "response").ref
        responses: dict[str, Any] = operation["responses"]
        for answered, response in responses.items():
            if answered.startswith("2"):
                response.setdefault("headers", {}).update(REPLAYED_HEADER)
        for refused, codes in IDEMPOTENCY_ERRORS.items():
            declared = responses.setdefault(str(refused), {"description": ""})
            declared.setdefault("content", {"application/json": {"schema": error}})
            declared["description"] = f"{declared['description']}\n\n{codes_described(codes)}".strip()
        operation["responses"] = dict(sorted(responses.items()))

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
