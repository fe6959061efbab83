from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_GET

from digitsite.health import healthz
from recognizer import ids  # noqa: F401 - registers <id:...>, used by the apps' routes and the admin's


@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on pages without an icon link, and some ask anyway. Not a
    permanent redirect: the icon's static name carries its hash in production."""
    return HttpResponseRedirect(static("img/favicon.svg"))


admin.site.site_header = "Digits administration"
admin.site.site_title = "Digits admin"
admin.site.index_title = "Reviews, models and retraining"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("api.urls")),
    path("", include("recognizer.urls")),
]
