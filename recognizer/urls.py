from django.urls import path

from . import (
    ids,  # noqa: F401 - registers the <id:...> and <position:...> converters
    views,
)

app_name = "recognizer"

urlpatterns = [
    path("", views.home, name="upload"),
    path("upload/batch/", views.upload_batch, name="upload_batch"),
    path("predictions/batch/", views.batch_results, name="batch_results"),
    path("draw/", views.draw, name="draw"),
    path("predictions/", views.history, name="history"),
    path("predictions/<id:pk>/", views.detail, name="detail"),
    path("predictions/<id:pk>/delete/", views.delete, name="delete"),
    path("predictions/<id:pk>/feedback/", views.feedback, name="feedback"),
    path("predictions/<id:pk>/image", views.image, name="image"),
    path("predictions/<id:pk>/thumbnail", views.thumbnail, name="thumbnail"),
    path("predictions/<id:pk>/input.png", views.model_input, name="model_input"),
    path(
        "predictions/<id:pk>/digits/<position:position>/input.png",
        views.digit_input,
        name="digit_input",
    ),
]
