"""Request logging and size limits, a warning for untrusted proxy headers, and overload errors
turned into 503 answers."""

import errno
import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from recognizer.request_size import takes_batch_body

from .security import unavailable_response

logger = logging.getLogger("digitsite.request")

# Fields that services attach to their log records during a request (`extra={"request_fields":
# {...}}`), gathered for the request's log line without the services knowing about requests.
_request_fields: ContextVar[dict | None] = ContextVar("request_fields", default=None)


class RequestFieldCollector(logging.Handler):
    """Logging handler (on the `recognizer` logger) that copies records' `request_fields`."""

    def emit(self, record: logging.LogRecord) -> None:
        fields = _request_fields.get()
        extra = getattr(record, "request_fields", None)
        if fields is not None and isinstance(extra, dict):
            fields.update({key: value for key, value in extra.items() if value is not None})


def _escaped(value: str) -> str:
    """A request's text as one log token: a newline or space in a URL must not forge a line or a
    field (`%0A` in a path decodes to a real newline)."""
    return value.encode("unicode_escape").decode("ascii").replace(" ", "\\x20")


class RequestLogMiddleware:
    """One line per request: method, path, status, milliseconds, user, and upload fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields: dict = {}
        token = _request_fields.set(fields)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            _request_fields.reset(token)
            elapsed_ms = (time.perf_counter() - started) * 1000
            # Only a user that auth already loaded: logging must not cost a session query.
            user = getattr(request, "_cached_user", None)
            user_id = user.pk if user is not None and user.is_authenticated else "-"
            extra = "".join(f" {key}={fields[key]}" for key in sorted(fields))
            logger.info(
                "request method=%s path=%s status=%s ms=%.1f user=%s%s",
                _escaped(request.method or ""),
                _escaped(request.path),
                status,
                elapsed_ms,
                user_id,
                extra,
            )


class RequestSizeLimitMiddleware:
    """Refuse a body larger than any upload to its view could be, from its Content-Length, before
    a byte of it is read: the check runs once the URL is resolved, ahead of CsrfViewMiddleware,
    the first reader of the body. The proxy in front should cap bodies too (README, Running in
    production): a chunked body has no Content-Length to check here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        api = "api" in request.resolver_match.namespaces
        batch = api or takes_batch_body(view_func)
        limit = settings.REQUEST_MAX_BYTES_API if batch else settings.REQUEST_MAX_BYTES
        if length <= limit:
            return None
        detail = (
            f"The request is {length / 1e6:.1f} MB; this server accepts at most "
            f"{limit / 1e6:.0f} MB per request. Send a smaller image (at most "
            f"{settings.UPLOAD_MAX_BYTES / 1e6:.0f} MB)."
        )
        if api:
            response: HttpResponse = JsonResponse(
                {"error": "too_large", "detail": detail}, status=413
            )
        else:
            response = HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
        # The unread body cannot be skipped on a kept-alive connection.
        response["Connection"] = "close"
        return response


# Storage errors that mean "try again later", not "this request is wrong".
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EAGAIN}
# PostgreSQL: lock_not_available, query_canceled (lock/statement timeout), deadlock, serialization.
_PG_RETRYABLE = {"55P03", "57014", "40P01", "40001"}


def overload_part(exc: BaseException) -> str | None:
    """Which part is overloaded if `exc` means "retry later", else None."""
    if isinstance(exc, OperationalError):
        cause = exc.__cause__
        if getattr(cause, "sqlstate", None) in _PG_RETRYABLE:
            return "database"
        message = str(exc).lower()
        if "database is locked" in message or "database table is locked" in message:
            return "database"
        return None
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return "storage"
    return None


class ServiceUnavailableMiddleware:
    """A locked database or a full disk is the server's temporary problem: 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        part = overload_part(exception)
        if part is None:
            return None
        logger.warning(
            "unavailable part=%s path=%s error=%s: %s",
            part,
            request.path,
            type(exception).__name__,
            exception,
        )
        return unavailable_response(request, part=part)


class UntrustedProxyHeadersMiddleware:
    """Warn, once per process and header, when requests carry forwarding headers the settings do
    not trust: behind a proxy that nobody declared, the login lockout and every per-address limit
    see one address (the proxy's) for all clients, so one attacker locks everyone out."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._warned: set[str] = set()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(self._warned) < 2:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        meta = request.META
        if (
            "HTTP_X_FORWARDED_FOR" in meta
            and not settings.PROXY_COUNT
            and "X-Forwarded-For" not in self._warned
        ):
            self._warned.add("X-Forwarded-For")
            logger.warning(
                "proxy_header_not_trusted header=X-Forwarded-For: requests carry "
                "X-Forwarded-For but DJANGO_PROXY_COUNT is 0, so client addresses are taken "
                "from the connection (REMOTE_ADDR=%s). If a proxy sets the header, set "
                "DJANGO_PROXY_COUNT to the number of proxies (README, Running in production).",
                _escaped(meta.get("REMOTE_ADDR", "")),
            )
        if (
            "HTTP_X_FORWARDED_PROTO" in meta
            and not settings.SECURE_PROXY_SSL_HEADER
            and "X-Forwarded-Proto" not in self._warned
        ):
            self._warned.add("X-Forwarded-Proto")
            logger.warning(
                "proxy_header_not_trusted header=X-Forwarded-Proto: requests carry "
                "X-Forwarded-Proto but DJANGO_SECURE_PROXY_SSL_HEADER is off, so HTTPS requests "
                "through the proxy look like plain HTTP. If a proxy sets the header, set "
                "DJANGO_SECURE_PROXY_SSL_HEADER=true (README, Running in production)."
            )
