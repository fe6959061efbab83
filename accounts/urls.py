from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # login/, logout/ (POST), password_change/ and password_reset/ from django.contrib.auth.
    path("", include("django.contrib.auth.urls")),
]
