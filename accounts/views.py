import math
from functools import wraps

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.authtoken.models import Token

from recognizer import personal
from recognizer.budget import OverBudget

from . import attempts, data_export, services
from .forms import EmailChangeForm, PasswordConfirmForm, SignupForm

# The new key waits here between the POST that makes it and the page that shows it once.
NEW_TOKEN_SESSION_KEY = "accounts_new_api_token"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("recognizer:upload")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("recognizer:upload")
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return super().get_context_data(
            password_reset_enabled=settings.PASSWORD_RESET_ENABLED, **kwargs
        )


def _refused(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """429 for a form that asks for the password once too many wrong ones were given."""
    response = render(
        request, template, {**context, "refusal": attempts.refusal_message()}, status=429
    )
    response["Retry-After"] = str(attempts.window_seconds())
    return response


def _password_form_valid(request: HttpRequest, form) -> bool:
    valid = form.is_valid()
    if form.has_error("password", "password_incorrect") or form.has_error(
        "old_password", "password_incorrect"
    ):
        attempts.password_failure_record(user=request.user)
    return valid


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view, with failed old-password checks counted and, past the limit, refused."""

    def post(self, request, *args, **kwargs):
        if attempts.password_checks_blocked(user=request.user):
            # Refused before the form is validated: validating it would check the password.
            context = self.get_context_data(form=self.form_class(user=request.user))
            return _refused(request, self.template_name, context)
        form = self.get_form()
        if _password_form_valid(request, form):
            return self.form_valid(form)
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _password_reset_available(view):
    """Without a mail server the reset pages say so, instead of mailing links nowhere."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.PASSWORD_RESET_ENABLED:
            return render(request, "registration/password_reset_unavailable.html", status=404)
        return view(request, *args, **kwargs)

    return wrapper


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        client = get_client_ip_address(self.request) or "unknown"
        if not attempts.reset_mail_allowed(email=form.cleaned_data["email"], client=client):
            # The same answer as a sent mail: the page must not tell which addresses exist.
            return redirect(self.get_success_url())
        return super().form_valid(form)


password_reset = _password_reset_available(PasswordResetView.as_view())
password_reset_done = _password_reset_available(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = _password_reset_available(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = _password_reset_available(auth_views.PasswordResetCompleteView.as_view())


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The account page; its form changes the email address."""
    template = "accounts/account.html"
    if request.method == "POST":
        form = EmailChangeForm(request.POST, user=request.user)
        if attempts.password_checks_blocked(user=request.user):
            return _refused(
                request,
                template,
                _account_context(request, form=EmailChangeForm(user=request.user)),
            )
        if _password_form_valid(request, form):
            services.user_email_set(user=request.user, email=form.cleaned_data["email"])
            messages.success(request, "Your email address was saved.")
            return redirect("account")
        return render(request, template, _account_context(request, form=form), status=400)
    form = EmailChangeForm(user=request.user, initial={"email": request.user.email})
    return render(request, template, _account_context(request, form=form))


def _account_context(request: HttpRequest, **context) -> dict:
    return {**context, "corrections": personal.personal_count(user=request.user)}


@login_required
@require_http_methods(["POST"])
def personal_clear(request: HttpRequest) -> HttpResponse:
    """Stop using the user's corrections for their reads (the corrections stay)."""
    personal.personal_clear(user=request.user)
    messages.success(request, "Your reads no longer use your corrections so far.")
    return redirect("account")


@never_cache
@login_required
@require_GET
def account_export_download(request: HttpRequest) -> HttpResponse:
    try:
        data_export.account_export_budget_spend(user=request.user)
    except OverBudget as exc:
        form = EmailChangeForm(user=request.user, initial={"email": request.user.email})
        response = render(
            request,
            "accounts/account.html",
            _account_context(request, form=form, export_refusal=exc.message),
            status=429,
        )
        response["Retry-After"] = str(math.ceil(exc.wait))
        return response
    stamp = timezone.now().strftime("%Y%m%d")
    response = StreamingHttpResponse(
        data_export.account_export(user=request.user, request=request),
        content_type="application/zip",
    )
    response["Content-Disposition"] = content_disposition_header(
        True, f"digits-{request.user.get_username()}-{stamp}.zip"
    )
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    template = "accounts/account_delete.html"
    if request.method == "POST":
        form = PasswordConfirmForm(request.POST, user=request.user)
        if attempts.password_checks_blocked(user=request.user):
            return _refused(request, template, {"form": PasswordConfirmForm(user=request.user)})
        if _password_form_valid(request, form):
            # Deleted first: if that fails, the user is still logged in to see the error.
            services.account_delete(user=request.user)
            logout(request)
            messages.success(
                request, "Your account, your images and your predictions were deleted."
            )
            return redirect("login")
        return render(request, template, {"form": form}, status=400)
    return render(request, template, {"form": PasswordConfirmForm(user=request.user)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            replacing = Token.objects.filter(user=request.user).exists()
            if replacing and request.POST.get("replace") != "yes":
                return redirect("api_token_replace")
            key = services.api_token_create(user=request.user).key
            request.session[NEW_TOKEN_SESSION_KEY] = key
            return redirect("api_token")
        if action == "revoke":
            if services.api_token_revoke(user=request.user):
                messages.success(request, "Your API token was revoked. It no longer works.")
            return redirect("api_token")
        messages.error(request, "Choose to create or to revoke your token.")
        return _token_page(request, new_key=None, status=400)
    # Shown once: taken out of the session by the first page that shows it.
    return _token_page(request, new_key=request.session.pop(NEW_TOKEN_SESSION_KEY, None))


def _token_page(request: HttpRequest, *, new_key: str | None, status: int = 200) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    return render(
        request,
        "accounts/token.html",
        {
            "token": token,
            # A key revoked or replaced since (in another tab) is not worth showing.
            "new_key": new_key if token and token.key == new_key else None,
            "predictions_url": request.build_absolute_uri(reverse("api:prediction-list")),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def api_token_replace(request: HttpRequest) -> HttpResponse:
    if not Token.objects.filter(user=request.user).exists():
        return redirect("api_token")
    return render(request, "accounts/token_replace.html")
