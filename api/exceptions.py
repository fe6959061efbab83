"""Every API error, DRF's own included, answers {"error": "<code>", "detail": "<sentence>"}."""

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from recognizer.images import UploadRejected
from recognizer.uploads import UploadRefused


class ApiError(exceptions.APIException):
    """A 400 with our own code; `extra` adds fields to the error body (e.g. which file)."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail=detail, code=code)
        self.extra = extra


def upload_error(exc: UploadRefused) -> exceptions.APIException:
    if exc.retry_after is not None:
        return exceptions.Throttled(wait=exc.retry_after, detail=exc.message)
    if exc.index is not None:
        return ApiError(
            exc.code,
            f"File {exc.index + 1} of the batch ({exc.filename or 'unnamed'}): {exc.message} "
            "Nothing was stored.",
            index=exc.index,
            filename=exc.filename,
        )
    return ApiError(exc.code, exc.message)


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, UploadRejected):
        return ApiError(exc.code, exc.message)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    # Django refuses these while reading the body; without this they would become HTML pages.
    if isinstance(exc, RequestDataTooBig):
        return ApiError("too_large", "The request body is too large.")
    if isinstance(exc, TooManyFilesSent):
        return ApiError("too_many_files", "The request holds too many files.")
    if isinstance(exc, TooManyFieldsSent):
        return ApiError("invalid", "The request holds too many fields.")
    if isinstance(exc, SuspiciousOperation):
        return ApiError("invalid", "The request could not be read.")
    return exc


def _flatten(detail, prefix: str = "") -> list[tuple[str, exceptions.ErrorDetail]]:
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [(prefix, item) for item in detail]
        items = ((str(index), item) for index, item in enumerate(detail))
    else:
        return [(prefix, detail)]
    flat = []
    for key, value in items:
        path = "" if key == "non_field_errors" else key
        flat.extend(_flatten(value, ".".join(part for part in (prefix, path) if part)))
    return flat


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        flat = _flatten(exc.detail)
        codes = {getattr(message, "code", None) for _, message in flat}
        fields: dict[str, list[str]] = {}
        for path, message in flat:
            fields.setdefault(path or "request", []).append(str(message))
        return {
            "error": "missing_field" if codes == {"required"} else "invalid",
            "detail": " ".join(f"{path}: {msg}" if path else str(msg) for path, msg in flat),
            "fields": fields,
        }
    codes = exc.get_codes()
    return {
        "error": codes if isinstance(codes, str) else exc.default_code,
        "detail": str(exc.detail),
        **getattr(exc, "extra", {}),
    }


def exception_handler(exc: Exception, context: dict):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API error (a bug or an outage): Django's 500 handling and logging take over.
        return None
    response.data = error_body(exc)
    return response
