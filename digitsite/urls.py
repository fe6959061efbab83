from django.contrib import admin
from django.urls import include, path

from digitsite import ids  # noqa: F401 - registers <id:...>, used by the apps' routes and the admin's
from digitsite.health import healthz

admin.site.site_header = "Digits administration"
admin.site.site_title = "Digits admin"
admin.site.index_title = "Reviews, models and retraining"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("api.urls")),
    path("", include("recognizer.urls")),
]
