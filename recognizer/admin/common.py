"""What the recognizer's admin pages share: numbers and JSON in words, the read-only mixin, and
the retraining button and action."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from recognizer import tasks, training_runs
from recognizer.templatetags.digits import confidence

# Metrics that are shares of something, shown as percentages; any other float is rounded.
_SHARES = {"accuracy", "active_accuracy", "active_accuracy_same_test", "ece", "precision", "recall"}
# What a few metrics' keys mean, where the key alone is cryptic.
_KEY_NAMES = {
    "n": "test images",
    "n_train": "training images",
    "n_leaves": "leaves",
    "active_accuracy_same_test": "active model's accuracy on the same test set",
    "active_accuracy": "active model's accuracy",
}
# Long id lists (the uploads a model was trained or tested on) are cut to their first few.
_LIST_SHOWN = 12

RETRAIN_PERMISSION = "recognizer.start_retraining"
# The lists have more columns than fit beside both the admin's app sidebar and the filters on a
# 1280 px screen; the breadcrumbs lead back instead.
WIDE_LIST = {"is_nav_sidebar_enabled": False}


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def confidence_text(value: float | None) -> str:
    """A confidence or probability with the site's one rounding (whole percent, rounded down)."""
    return confidence(value) or "—"


def plain(value, key: str = "") -> str:
    """A JSON value as a person reads it: no 17-digit floats, no brackets."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, float):
        return percent(value, 2) if key in _SHARES else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v, k)}" for k, v in value.items())
    if isinstance(value, list):
        shown = ", ".join(plain(v, key) for v in value[:_LIST_SHOWN])
        return shown if len(value) <= _LIST_SHOWN else f"{shown}, … ({len(value)} in all)"
    return str(value)


def render(template: str, **context) -> SafeString:
    return mark_safe(render_to_string(f"admin/recognizer/{template}", context))


def readable(data: dict, skip: tuple[str, ...] = ()) -> SafeString | str:
    """A JSON field as a definition list of its keys, each value in plain words."""
    rows = [(_KEY_NAMES.get(k, k), plain(v, k)) for k, v in (data or {}).items() if k not in skip]
    if not rows:
        return "—"
    return render("_readable.html", rows=rows)


def _ranked(probabilities: list[float]) -> list[tuple[int, float]]:
    return sorted(enumerate(probabilities), key=lambda pair: -pair[1])


def likeliest(probabilities: list[float] | None, top: int = 3) -> str:
    """'7: 54% · 1: 38% · 9: 3%', for a row of a table."""
    if not probabilities:
        return "—"
    return " · ".join(f"{d}: {confidence_text(p)}" for d, p in _ranked(probabilities)[:top])


def probabilities_list(probabilities: list[float] | None) -> SafeString | str:
    """Each digit's probability as a percentage, likeliest first, as a list that wraps on a
    phone."""
    if not probabilities:
        return "—"
    return render(
        "_probabilities.html", ranked=[(d, confidence_text(p)) for d, p in _ranked(probabilities)]
    )


def digit_input(digit, *, size: int) -> SafeString:
    """The 28x28 image the model saw for `digit`, scaled up to `size` pixels."""
    return render("_digit_input.html", digit=digit, size=size)


class ReadOnlyAdminMixin:
    """Rows that are shown, never added or edited here (the services change them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def retrain_button(request: HttpRequest) -> dict:
    """Context for the lists' "Retrain now" button (admin/recognizer/_retrain_button.html): a
    retraining uses every reviewed digit, so it needs no selected rows, unlike an action."""
    return {
        "can_retrain": request.user.has_perm(RETRAIN_PERMISSION),
        "retrain_url": reverse("admin:recognizer_trainingrun_retrain"),
    }


class RetrainMixin:
    """The "retrain" permission and action shared by the lists that offer it."""

    def has_retrain_permission(self, request):
        return request.user.has_perm(RETRAIN_PERMISSION)

    @admin.action(
        description="Retrain with reviewed corrections (all of them, in the background)",
        permissions=["retrain"],
    )
    def retrain_with_corrections(self, request, queryset):
        enqueue_retraining(self, request)


def enqueue_retraining(modeladmin: admin.ModelAdmin, request: HttpRequest) -> None:
    if not request.user.has_perm(RETRAIN_PERMISSION):
        raise PermissionDenied
    try:
        run = tasks.training_run_enqueue(requested_by=request.user)
    except training_runs.RetrainRefused as exc:
        modeladmin.message_user(request, str(exc), messages.WARNING)
        return
    url = reverse("admin:recognizer_trainingrun_change", args=[run.pk])
    modeladmin.message_user(
        request,
        format_html(
            'Retraining queued as <a href="{}">training run #{}</a> (state: {}). The background '
            "worker (<code>manage.py db_worker</code>) runs it.",
            url,
            run.pk,
            run.get_state_display(),
        ),
        messages.SUCCESS,
    )
