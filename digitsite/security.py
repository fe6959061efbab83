"""Answers for refused requests: login lockouts (429) and overload (503), as a page or as JSON."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: too many failed logins for this username or address."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed login attempts. Logins for this account or from this address are "
        f"locked for {minutes} minutes."
    )
    if wants_json(request):
        response = JsonResponse({"error": "locked_out", "detail": message}, status=429)
    else:
        response = render(
            request,
            "errors/locked_out.html",
            {"message": message, "minutes": minutes},
            status=429,
        )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def unavailable_response(request: HttpRequest, *, part: str) -> HttpResponse:
    """A 503 the client may retry: the request did nothing, and nothing was kept."""
    message = (
        "The site is busy and could not save your request. Nothing was stored; "
        "please try again in a few seconds."
    )
    if wants_json(request):
        response = JsonResponse(
            {"error": "unavailable", "part": part, "detail": message},
            status=503,
        )
    else:
        response = render(
            request, "errors/unavailable.html", {"message": message, "part": part}, status=503
        )
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    return response
