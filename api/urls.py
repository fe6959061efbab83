from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "api"


class IdConverter:
    """A database id: digits that fit a 64-bit integer (a larger one is a 404, not a crash)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > 2**63 - 1:
            raise ValueError("id out of range")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "api_id")


urlpatterns = [
    path("predictions/", views.PredictionList.as_view(), name="prediction-list"),
    path("predictions/<api_id:pk>/", views.PredictionDetail.as_view(), name="prediction-detail"),
    path(
        "predictions/<api_id:pk>/feedback/",
        views.PredictionFeedback.as_view(),
        name="prediction-feedback",
    ),
    path(
        "predictions/<api_id:pk>/decision/",
        views.PredictionDecision.as_view(),
        name="prediction-decision",
    ),
    path("predictions/<api_id:pk>/image", views.PredictionImage.as_view(), name="prediction-image"),
    path("models/", views.ModelVersionList.as_view(), name="model-list"),
    path("models/active/", views.ActiveModelVersion.as_view(), name="model-active"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    re_path(r"", views.not_found),
]
