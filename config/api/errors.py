"""The API's one error shape: {"error": {"code": ..., "message": ..., "fields": {...}}}."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from config.exceptions import ApplicationError, ConfigErrorCode, error_codes


def error_body(
    *, code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any
) -> dict[str, dict[str, Any]]:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def _first_code(codes: Any) -> str:
    """The first code in DRF's nested get_codes() answer."""
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list | tuple) and codes:
        return _first_code(codes[0])
    return ConfigErrorCode.INVALID


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = error_body(code=exc.code, message=exc.message, fields=exc.fields, **exc.extra)
        retry_after = getattr(exc, "retry_after", None)
        return Response(
            body, status=exc.status_code, headers={"Retry-After": str(retry_after)} if retry_after else None
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # A service's refusal says why (not your location, not bound here): the caller is told.
        exc = exceptions.PermissionDenied(str(exc) or None)

    if not isinstance(exc, exceptions.APIException):
        return None  # a 500: Django's handler500 renders it in the same shape

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        # Field problems share one code; the messages per field say what is wrong.
        body = error_body(code=ConfigErrorCode.INVALID, message=_("The request has invalid fields."), fields=fields)
    else:
        body = error_body(code=_first_code(exc.get_codes()), message=str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _is_api(request):
        return JsonResponse(
            error_body(code=ConfigErrorCode.NOT_FOUND, message=_("Not found.")), status=status.HTTP_404_NOT_FOUND
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> Any:
    if _is_api(request):
        return JsonResponse(
            error_body(
                code=ConfigErrorCode.SERVER_ERROR, message=_("Something went wrong on our side. It has been logged.")
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error

    return server_error(request)


# --- The error shape in the OpenAPI schema

# What some codes add beside code, message and fields (ApplicationError's `extra`).
ERROR_EXTRAS = {
    "scope": "missing_scope: the scope the credential lacks.",
    "lines": "out_of_stock and stock refusals: per line, the SKU, what was asked and what is available.",
    "status": "order_state, transfer_state: the state the object is in.",
    "fulfilment_type": "order_state: how the order is fulfilled.",
    "amount_due": "order_not_paid, payment_exceeds_due: what is left to pay.",
    "balance": "insufficient_points, insufficient_store_credit: what there is.",
    "requested": "insufficient_points, insufficient_store_credit: what was asked.",
    "remaining": "credit_exceeds_remaining: what is left to credit.",
    "line_id": "credit_exceeds_remaining: the line over its remaining amount.",
    "order": "idempotency_key_reused: the order the key placed.",
    "number": "document_issued: the issued document.",
    "findings": "invalid_e_invoice: what the schema and the EN 16931 rules found.",
    "limit": "full_invoice_required, simplified_over_limit: the most a simplified invoice may be for.",
}


class ErrorCodeField(serializers.CharField):
    """An error's code. Its schema lists every app's codes (config.exceptions.error_codes), read
    when the schema is made: config names no domain app."""


class ErrorCodeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ErrorCodeField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "enum": error_codes()}


# The API's one error shape (error_body), for the schema. Inline: a serializer class cannot
# declare a field named `fields`.
ApiErrorSerializer = inline_serializer(
    name="ApiError",
    fields={
        "error": inline_serializer(
            name="ApiErrorBody",
            fields={
                "code": ErrorCodeField(help_text="Stable: clients may branch on it. Every app's codes."),
                "message": serializers.CharField(help_text="For people, in the request's language."),
                "fields": serializers.DictField(
                    child=serializers.JSONField(),
                    help_text="Per field, what is wrong with it (code invalid); empty otherwise.",
                ),
                **{name: serializers.JSONField(required=False, help_text=text) for name, text in ERROR_EXTRAS.items()},
            },
        )
    },
)


def api_errors(described: Mapping[int, Mapping[StrEnum, str]]) -> dict[int, OpenApiResponse]:
    """Error responses for an operation's schema: {status: {code: what it means here}}.

    The statuses every operation shares (401, 403, 404, 429, and 400 for input) are added by
    config.api.schema with their codes; an operation names here the codes its own rules give.
    """
    return {
        status_code: OpenApiResponse(ApiErrorSerializer, description=codes_described(codes))
        for status_code, codes in described.items()
    }


def codes_described(codes: Mapping[StrEnum, str]) -> str:
    """`code`: what it means; ... (a code without words is listed alone)."""
    return "; ".join(f"`{code}`: {text}" if text else f"`{code}`" for code, text in codes.items()) + "."
