"""Domain errors with stable codes. One exception handler maps them to the API's error shape."""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class ApplicationError(Exception):
    """A business rule said no. `code` is stable: clients may branch on it."""

    code: ClassVar[str] = "invalid"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.fields = dict(fields or {})
        self.extra = dict(extra or {})


class NotFoundError(ApplicationError):
    code = "not_found"
    status_code = 404


class ConflictError(ApplicationError):
    code = "conflict"
    status_code = 409
