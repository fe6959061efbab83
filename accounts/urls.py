from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.account, name="account"),
    path("personal/clear/", views.personal_clear, name="account_personal_clear"),
    path("export/", views.account_export_download, name="account_export"),
    path("delete/", views.account_delete, name="account_delete"),
    path("signup/", views.signup, name="signup"),
    path("token/", views.api_token, name="api_token"),
    path("token/replace/", views.api_token_replace, name="api_token_replace"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password_reset/", views.password_reset, name="password_reset"),
    path("password_reset/done/", views.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", views.password_reset_complete, name="password_reset_complete"),
    # logout/ (POST) and password_change/done/ from django.contrib.auth.
    path("", include("django.contrib.auth.urls")),
]
