from django.urls import path

from . import views

app_name = "recognizer"

urlpatterns = [
    path("", views.home, name="upload"),
    path("upload/batch/", views.upload_batch, name="upload_batch"),
    path("predictions/batch/", views.batch_results, name="batch_results"),
    path("draw/", views.draw, name="draw"),
    path("predictions/", views.history, name="history"),
    path("predictions/<int:pk>/", views.detail, name="detail"),
    path("predictions/<int:pk>/delete/", views.delete, name="delete"),
    path("predictions/<int:pk>/feedback/", views.feedback, name="feedback"),
    path("predictions/<int:pk>/image", views.image, name="image"),
    path("predictions/<int:pk>/thumbnail", views.thumbnail, name="thumbnail"),
    path("predictions/<int:pk>/input.png", views.model_input, name="model_input"),
    path(
        "predictions/<int:pk>/digits/<int:position>/input.png",
        views.digit_input,
        name="digit_input",
    ),
]
