"""The OpenAPI schema says, for each operation, the scope and the staff permissions it needs."""

from typing import Any

from drf_spectacular.openapi import AutoSchema

from config.api.access import access_rule


class AccessAutoSchema(AutoSchema):
    """Adds `x-required-scope`, `x-staff-permissions` and an access line to each operation."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        rule = access_rule(self.view, self.method)
        if rule is None:
            return operation
        if rule.scope:
            operation["x-required-scope"] = str(rule.scope)
        if rule.staff:
            operation["x-staff-permissions"] = list(rule.staff)
        text = operation.get("description", "")
        operation["description"] = f"{text}\n\n**Access.** {rule.describe()}".strip()
        return operation
