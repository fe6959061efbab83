from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from recognizer import ids  # noqa: F401 - registers the <id:...> converter

from . import views

app_name = "api"


urlpatterns = [
    path("predictions/", views.PredictionList.as_view(), name="prediction-list"),
    path("predictions/<id:pk>/", views.PredictionDetail.as_view(), name="prediction-detail"),
    path(
        "predictions/<id:pk>/feedback/",
        views.PredictionFeedback.as_view(),
        name="prediction-feedback",
    ),
    path(
        "predictions/<id:pk>/decision/",
        views.PredictionDecision.as_view(),
        name="prediction-decision",
    ),
    path("predictions/<id:pk>/image", views.PredictionImage.as_view(), name="prediction-image"),
    path("models/", views.ModelVersionList.as_view(), name="model-list"),
    path("models/active/", views.ActiveModelVersion.as_view(), name="model-active"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    re_path(r"", views.not_found),
]
