"""Domain errors with stable codes. One exception handler maps them to the API's error shape.

Each app names its codes in one enum, `<App>ErrorCode` in its `exceptions` module, and raises
with its members, never a bare string: the OpenAPI schema lists every member of every app
(`error_codes`), and tests/config/test_error_codes.py fails on a code raised outside them.
"""

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar

from config.discovery import project_app_modules


class ConfigErrorCode(StrEnum):
    """The platform's codes: the API's common parts (config.api) and config's own services."""

    # Any operation
    INVALID = "invalid"  # a field or a parameter is not valid: `fields` says which
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    SERVER_ERROR = "server_error"
    # Authentication, access and throttling (config.api)
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 (a code, not a secret)
    INVALID_TOKEN_HEADER = "invalid_token_header"  # noqa: S105
    PERMISSION_DENIED = "permission_denied"
    MISSING_SCOPE = "missing_scope"
    THROTTLED = "throttled"
    # The HTTP request itself
    PARSE_ERROR = "parse_error"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # Idempotency-Key (config.api.idempotency)
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"  # not 1 to 100 characters
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # the key was used for another operation or body
    IDEMPOTENCY_KEY_IN_PROGRESS = "idempotency_key_in_progress"  # the first request with the key still runs
    IDEMPOTENCY_ANSWER_ERASED = "idempotency_answer_erased"  # done once; its answer named a person since erased
    # Channel clients (config.services)
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_SCOPE = "unknown_scope"
    UNKNOWN_REACH = "unknown_reach"
    REACH_NOT_ALLOWED = "reach_not_allowed"
    INVALID_THROTTLE_RATE = "invalid_throttle_rate"
    DUPLICATE_NAME = "duplicate_name"
    # The outbox and its webhooks (config.outbox)
    INVALID_TARGET_URL = "invalid_target_url"
    DUPLICATE_SUBSCRIPTION = "duplicate_subscription"
    ALREADY_DELIVERED = "already_delivered"
    BEING_SENT = "being_sent"  # a worker holds the message's lease: replaying it would send it twice
    OUTBOX_REDACTED = "outbox_redacted"  # its personal data was purged: nothing left to send


class ApplicationError(Exception):
    """A business rule said no. `code` is stable: clients may branch on it."""

    code: ClassVar[StrEnum] = ConfigErrorCode.INVALID
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: StrEnum | None = None,
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
    code: ClassVar[StrEnum] = ConfigErrorCode.NOT_FOUND
    status_code = 404


class ConflictError(ApplicationError):
    code: ClassVar[StrEnum] = ConfigErrorCode.CONFLICT
    status_code = 409


def error_code_enums() -> list[type[StrEnum]]:
    """Every app's error codes: the `*ErrorCode` enums of each app's `exceptions` module."""
    return [
        value
        for module in project_app_modules("exceptions")
        for name, value in vars(module).items()
        if name.endswith("ErrorCode")
        and isinstance(value, type)
        and issubclass(value, StrEnum)
        and value.__module__ == module.__name__
    ]


def error_codes() -> list[str]:
    """Every code the API may answer with, once, sorted: the schema's enum of `error.code`."""
    return sorted({code.value for enum in error_code_enums() for code in enum})
