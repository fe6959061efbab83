"""The site's URLs plus views that fail on purpose, for the error page tests."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.urls import path

from digitsite.urls import urlpatterns as site_urlpatterns


def bad_request(request):
    raise BadRequest("broken on purpose")


def forbidden(request):
    raise PermissionDenied


def crash(request):
    raise RuntimeError("broken on purpose")


urlpatterns = [
    path("test-errors/400", bad_request),
    path("test-errors/403", forbidden),
    path("test-errors/500", crash),
    *site_urlpatterns,
]
