from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("token/", views.api_token, name="api_token"),
    # login/, logout/ (POST), password_change/ and password_reset/ from django.contrib.auth.
    path("", include("django.contrib.auth.urls")),
]
