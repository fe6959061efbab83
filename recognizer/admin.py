from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from simple_history.admin import SimpleHistoryAdmin

from . import export, model_versions, registry, retraining, review, tasks
from .models import REVIEW_QUEUE_ORDERING, DigitReading, ModelVersion, Prediction, TrainingRun
from .stats import model_version_stats

REVIEW_BATCH = 60

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


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def _plain(value, key: str = "") -> str:
    """A JSON value as a person reads it: no 17-digit floats, no brackets."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, float):
        return _percent(value, 2) if key in _SHARES else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v, k)}" for k, v in value.items())
    if isinstance(value, list):
        shown = ", ".join(_plain(v, key) for v in value[:_LIST_SHOWN])
        return shown if len(value) <= _LIST_SHOWN else f"{shown}, … ({len(value)} in all)"
    return str(value)


def _readable(data: dict, skip: tuple[str, ...] = ()):
    """A JSON field as a definition list of its keys, each value in _plain's words."""
    rows = [(_KEY_NAMES.get(k, k), _plain(v, k)) for k, v in (data or {}).items() if k not in skip]
    if not rows:
        return "—"
    return format_html(
        '<dl class="readable-json">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
    )


def _ranked(probabilities: list[float]) -> list[tuple[int, float]]:
    return sorted(enumerate(probabilities), key=lambda pair: -pair[1])


def _likeliest(probabilities: list[float] | None, top: int = 3) -> str:
    """'7: 54.0% · 1: 38.2% · 9: 3.1%', for a row of a table."""
    if not probabilities:
        return "—"
    return " · ".join(f"{d}: {_percent(p)}" for d, p in _ranked(probabilities)[:top])


def _probabilities(probabilities: list[float] | None):
    """Each digit's probability as a percentage, likeliest first, as a list that wraps on a
    phone."""
    if not probabilities:
        return "—"
    ranked = ((d, _percent(p)) for d, p in _ranked(probabilities))
    return format_html(
        '<ol class="probabilities">{}</ol>',
        format_html_join("", "<li><strong>{}</strong>: {}</li>", ranked),
    )


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("no", "Not reviewed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.reviewed()
        if self.value() == "no":
            return queryset.unreviewed()
        return queryset


class ClaimFilter(admin.SimpleListFilter):
    title = "owner's claim"
    parameter_name = "claim"

    def lookups(self, request, model_admin):
        return [("yes", "Owner says it is wrong"), ("no", "No claim")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(user_label__isnull=False)
        if self.value() == "no":
            return queryset.filter(user_label__isnull=True)
        return queryset


def _set_label_action(label: int):
    def action(modeladmin, request, queryset):
        count = review.predictions_set_label(
            predictions=queryset, label=label, reviewer=request.user
        )
        modeladmin.message_user(request, f"Set the label of {count} prediction(s) to {label}.")

    action.__name__ = f"set_label_{label}"
    return action


RETRAIN_PERMISSION = "recognizer.start_retraining"


def _enqueue_retraining(modeladmin: admin.ModelAdmin, request: HttpRequest) -> None:
    if not request.user.has_perm(RETRAIN_PERMISSION):
        raise PermissionDenied
    try:
        run = tasks.training_run_enqueue(requested_by=request.user)
    except retraining.RetrainRefused as exc:
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


# The lists have more columns than fit beside both the admin's app sidebar and the filters on a
# 1280 px screen; the breadcrumbs lead back instead.
WIDE_LIST = {"is_nav_sidebar_enabled": False}


def _retrain_button(request: HttpRequest) -> dict:
    """Context for the lists' "Retrain now" button (admin/recognizer/_retrain_button.html): a
    retraining uses every reviewed upload, so it needs no selected rows, unlike an action."""
    return {
        "can_retrain": request.user.has_perm(RETRAIN_PERMISSION),
        "retrain_url": reverse("admin:recognizer_trainingrun_retrain"),
    }


class TrueLabelForm(forms.ModelForm):
    """A row of the predictions list: its label select is named for screen readers, and a
    number's is disabled (its digits are labelled one by one)."""

    class Meta:
        model = Prediction
        fields = ["true_label"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["true_label"]
        name = f"True label of upload {self.instance.pk}"
        if len(self.instance.text) > 1:
            field.disabled = True
            name += f", the number {self.instance.text}: label its digits on the review screen"
        field.widget.attrs["aria-label"] = name


class DigitReadingInline(admin.TabularInline):
    """The digits read, for reading only: labels change through the review screen and API."""

    model = DigitReading
    fields = [
        "position",
        "seen_as",
        "digit",
        "confidence_pct",
        "likeliest",
        "low_confidence",
        "user_label",
        "true_label",
        "reviewed",
        "history_link",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Seen as")
    def seen_as(self, obj: DigitReading):
        return _digit_input(obj, size=56)

    @admin.display(description="Confidence")
    def confidence_pct(self, obj: DigitReading):
        return _percent(obj.confidence)

    @admin.display(description="Likeliest")
    def likeliest(self, obj: DigitReading):
        return _likeliest(obj.probabilities)

    @admin.display(description="Reviewed")
    def reviewed(self, obj: DigitReading):
        if obj.reviewed_at is None:
            return "—"
        when = timezone.localtime(obj.reviewed_at)
        return f"{obj.reviewed_by or 'someone'}, {when:%Y-%m-%d %H:%M}"

    @admin.display(description="Label history")
    def history_link(self, obj: DigitReading):
        url = reverse("admin:recognizer_digitreading_history", args=[obj.pk])
        return format_html('<a href="{}">History</a>', url)


def _digit_input(digit: DigitReading, *, size: int):
    return format_html(
        '<img src="{}" alt="digit {} as the model saw it" width="{}" height="{}" '
        'class="pixelated">',
        reverse("recognizer:digit_input", args=[digit.prediction_id, digit.position]),
        digit.position + 1,
        size,
        size,
    )


@admin.register(DigitReading)
class DigitReadingAdmin(SimpleHistoryAdmin):
    """Each digit's label history (who changed which label, when); nothing is edited here."""

    list_display = ["prediction", "position", "digit", "user_label", "true_label", "reviewed_by"]
    list_select_related = ["prediction", "reviewed_by"]
    history_list_display = ["true_label", "user_label", "reviewed_by"]
    search_fields = ["=prediction__id"]
    fields = [
        "prediction",
        "position",
        "seen_as",
        "box",
        "digit",
        "confidence_pct",
        "probabilities_table",
        "low_confidence",
        "user_label",
        "user_label_at",
        "true_label",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["css/review.css"]}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}

    def has_delete_permission(self, request, obj=None):
        # Digits go with their upload: whoever may delete uploads may delete their digits in
        # the cascade, but never one by one (delete_view).
        return request.user.has_perm("recognizer.delete_prediction")

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # No "Delete" button leading to the 403 of delete_view.
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("recognizer.view_prediction")

    @admin.display(description="Seen as")
    def seen_as(self, obj: DigitReading):
        return _digit_input(obj, size=112)

    @admin.display(description="Box in the stored image")
    def box(self, obj: DigitReading):
        return f"from ({obj.x0}, {obj.y0}) to ({obj.x1}, {obj.y1})"

    @admin.display(description="Confidence")
    def confidence_pct(self, obj: DigitReading):
        return _percent(obj.confidence)

    @admin.display(description="Probabilities")
    def probabilities_table(self, obj: DigitReading):
        return _probabilities(obj.probabilities)


@admin.register(Prediction)
class PredictionAdmin(SimpleHistoryAdmin):
    inlines = [DigitReadingInline]
    # Ten columns that fit beside the filters at 1280 px (the app sidebar is off, as on the
    # other lists): the reading, its confidence and the low flag share a column, and so do the
    # status and the exclusion.
    list_display = [
        "thumb",
        "id",
        "owner",
        "reading",
        "owner_says",
        "true_label",
        "state",
        "model_version",
        "created",
    ]
    list_display_links = ["id"]
    list_editable = ["true_label"]
    list_filter = [
        ReviewedFilter,
        ClaimFilter,
        "low_confidence",
        "excluded_from_training",
        "digit",
        "true_label",
        "model_version",
        "status",
        "source",
        "created_at",
    ]
    list_select_related = ["owner", "model_version"]
    search_fields = ["owner__username", "=id"]
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = [
        "confirm_prediction",
        "accept_user_label",
        "exclude_from_training",
        "export_dataset",
        "retrain_with_corrections",
    ]
    history_list_display = ["true_label", "user_label", "excluded_from_training", "reviewed_by"]
    fields = [
        "preview",
        "owner",
        "original_filename",
        "source",
        "status",
        "error_message",
        "mode",
        "text",
        "digit",
        "confidence_pct",
        "probabilities_table",
        "low_confidence",
        "model_version",
        "predict_time",
        "user_label",
        "user_label_at",
        "true_label",
        "excluded_from_training",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    ]
    # Only the label is edited here, and it goes through the review service (save_model).
    readonly_fields = [f for f in fields if f != "true_label"]

    class Media:
        css = {"all": ["css/review.css"]}

    def get_readonly_fields(self, request, obj=None):
        # A number is labelled digit by digit (review screen, API): no one label for the whole.
        if obj is not None and len(obj.text) > 1:
            return [*self.readonly_fields, "true_label"]
        return self.readonly_fields

    def get_changelist_form(self, request, **kwargs):
        return TrueLabelForm

    def get_ordering(self, request):
        # The review queue (PredictionQuerySet.review_queue): unreviewed first; among them the
        # owners' claims, then low confidence, then the rest, least confident first.
        return REVIEW_QUEUE_ORDERING

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            # Kept after the bulk actions so "set the label to N" reads as one group of ten.
            for label in range(10):
                action = _set_label_action(label)
                actions[action.__name__] = (action, action.__name__, f"Set the label to {label}")
        return actions

    def has_add_permission(self, request):
        return False

    def has_retrain_permission(self, request):
        return request.user.has_perm(RETRAIN_PERMISSION)

    def get_urls(self):
        review = [
            path(
                "review/",
                self.admin_site.admin_view(self.review_view),
                name="recognizer_prediction_review",
            ),
        ]
        return review + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            **WIDE_LIST,
            **_retrain_button(request),
            "review_url": reverse("admin:recognizer_prediction_review"),
            # Counted as the review screen counts: one item per digit of a number.
            "needs_review": DigitReading.objects.needs_review().count(),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Image")
    def thumb(self, obj: Prediction):
        url = reverse("recognizer:thumbnail", args=[obj.pk])
        return format_html('<img src="{}" alt="upload #{}" width="48" height="48">', url, obj.pk)

    @admin.display(description="Read", ordering="confidence")
    def reading(self, obj: Prediction):
        if not obj.text:
            return "—"
        return format_html(
            '<span class="list-reading">{}</span> <span class="list-confidence">{}</span>{}',
            obj.text,
            _percent(obj.confidence, 0),
            mark_safe(' <span class="tag-low">low</span>') if obj.low_confidence else "",
        )

    @admin.display(description="Owner says", ordering="user_label")
    def owner_says(self, obj: Prediction):
        return "—" if obj.user_label is None else obj.user_label

    @admin.display(description="Status", ordering="status")
    def state(self, obj: Prediction):
        if obj.excluded_from_training:
            return format_html(
                '{} <span class="tag-excluded">excluded</span>', obj.get_status_display()
            )
        return obj.get_status_display()

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Prediction):
        when = timezone.localtime(obj.created_at)
        shown = f"{when:%Y-%m-%d %H:%M}"
        return format_html('<time datetime="{}">{}</time>', when.isoformat(), shown)

    @admin.display(description="Image")
    def preview(self, obj: Prediction):
        upload = format_html(
            '<img src="{}" alt="upload" class="admin-preview">',
            reverse("recognizer:image", args=[obj.pk]),
        )
        if len(obj.text) > 1:
            # A number's digits are each shown, as the model saw them, with their reading below.
            return upload
        return format_html(
            '{} <img src="{}" alt="what the model saw" width="112" height="112" class="pixelated">',
            upload,
            reverse("recognizer:model_input", args=[obj.pk]),
        )

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_pct(self, obj: Prediction):
        return _percent(obj.confidence)

    @admin.display(description="Probabilities")
    def probabilities_table(self, obj: Prediction):
        if len(obj.text) > 1:
            return "Each digit's are under Digit readings below."
        return _probabilities(obj.probabilities)

    @admin.display(description="Reading took")
    def predict_time(self, obj: Prediction):
        return "—" if obj.predict_ms is None else f"{obj.predict_ms:.1f} ms"

    def save_model(self, request, obj, form, change):
        if "true_label" in form.changed_data:
            try:
                review.prediction_review(
                    prediction=obj, label=form.cleaned_data["true_label"], reviewer=request.user
                )
            except review.ReviewRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Confirm prediction is correct", permissions=["change"])
    def confirm_prediction(self, request, queryset):
        count = review.predictions_confirm(predictions=queryset, reviewer=request.user)
        self.message_user(request, f"Confirmed {count} prediction(s).", messages.SUCCESS)

    @admin.action(description="Accept the owner's label", permissions=["change"])
    def accept_user_label(self, request, queryset):
        count = review.predictions_accept_user_label(predictions=queryset, reviewer=request.user)
        skipped = queryset.count() - count
        note = f" ({skipped} without a claim left as they were)" if skipped else ""
        self.message_user(request, f"Accepted the owner's label on {count}{note}.")

    @admin.action(description="Exclude from training (junk)", permissions=["change"])
    def exclude_from_training(self, request, queryset):
        count = review.predictions_exclude(predictions=queryset, reviewer=request.user)
        self.message_user(request, f"Excluded {count} prediction(s) from training.")

    @admin.action(description="Export the reviewed ones as a dataset (zip)", permissions=["view"])
    def export_dataset(self, request, queryset):
        response = StreamingHttpResponse(
            export.dataset_export_stream(predictions=queryset), content_type="application/zip"
        )
        name = f"digits-dataset-{timezone.now():%Y%m%d-%H%M%S}.zip"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(
        description="Retrain with reviewed corrections (all of them, in the background)",
        permissions=["retrain"],
    )
    def retrain_with_corrections(self, request, queryset):
        _enqueue_retraining(self, request)

    # --- The keyboard review screen -------------------------------------------------------

    def review_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        # One item per digit: a number's digits come together, in the upload's place.
        queue = DigitReading.objects.needs_review().review_queue()
        items = list(queue.select_related("prediction")[:REVIEW_BATCH])
        context = {
            **self.admin_site.each_context(request),
            **WIDE_LIST,
            "opts": self.model._meta,
            "title": "Review queue",
            "items": items,
            "remaining": queue.count(),
            "changelist_url": reverse("admin:recognizer_prediction_changelist"),
        }
        return TemplateResponse(request, "admin/recognizer/prediction/review.html", context)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    # Fits beside the admin's sidebar and filters at 1280 px; the parent, the hash and the whole
    # note are on each version's page.
    list_display = [
        "version",
        "kind",
        "status",
        "accuracy",
        "heldout_accuracy",
        "note_short",
        "created_at",
        "stats_link",
    ]
    list_filter = ["status", "kind"]
    actions = ["promote_candidate", "roll_back_to_this_version", "retrain_with_corrections"]
    readonly_fields = [
        "version",
        "kind",
        "stats_link",
        "status",
        "status_note",
        "artifact_path",
        "sha256",
        "params_readable",
        "metrics_readable",
        "created_at",
        "parent",
        "training_data_readable",
        "heldout_readable",
    ]
    fields = readonly_fields

    class Media:
        css = {"all": ["css/review.css"]}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_activate_permission(self, request):
        return request.user.has_perm("recognizer.change_modelversion")

    def has_retrain_permission(self, request):
        return request.user.has_perm(RETRAIN_PERMISSION)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **WIDE_LIST, **_retrain_button(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<id:pk>/stats/",
                self.admin_site.admin_view(self.stats_view),
                name="recognizer_modelversion_stats",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="MNIST")
    def accuracy(self, obj: ModelVersion):
        value = obj.mnist_accuracy
        return "—" if value is None else f"{value:.2%}"

    @admin.display(description="Held-out reviewed")
    def heldout_accuracy(self, obj: ModelVersion):
        value = (obj.heldout_metrics or {}).get("accuracy")
        if value is None:
            return "—"
        return f"{value:.0%} of {obj.heldout_metrics.get('n', 0)}"

    @admin.display(description="Note")
    def note_short(self, obj: ModelVersion):
        return Truncator(obj.status_note).chars(60)

    @admin.display(description="sha256")
    def sha256_short(self, obj: ModelVersion):
        return obj.sha256[:12]

    @admin.display(description="Stats")
    def stats_link(self, obj: ModelVersion):
        url = reverse("admin:recognizer_modelversion_stats", args=[obj.pk])
        return format_html('<a href="{}">Stats</a>', url)

    @admin.display(description="Parameters")
    def params_readable(self, obj: ModelVersion):
        return _readable(obj.params)

    @admin.display(description="Metrics (MNIST test set)")
    def metrics_readable(self, obj: ModelVersion):
        metrics = obj.metrics or {}
        per_class = metrics.get("per_class") or {}
        table = ""
        if per_class:
            table = format_html(
                '<table class="per-class"><caption>Each digit</caption><thead><tr>'
                '<th scope="col">digit</th><th scope="col">precision</th>'
                '<th scope="col">recall</th><th scope="col">images</th></tr></thead>'
                "<tbody>{}</tbody></table>",
                format_html_join(
                    "",
                    '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>',
                    (
                        (
                            digit,
                            _percent(row.get("precision")),
                            _percent(row.get("recall")),
                            _plain(row.get("support")),
                        )
                        for digit, row in per_class.items()
                    ),
                ),
            )
        ece = (metrics.get("calibration") or {}).get("ece")
        if ece is not None:
            metrics = {**metrics, "calibration error (ECE)": _percent(ece, 2)}
        summary = _readable(metrics, skip=("per_class", "confusion", "calibration"))
        stats = reverse("admin:recognizer_modelversion_stats", args=[obj.pk])
        return format_html(
            '{}{}<p>The confusion matrix and the reliability diagram are on <a href="{}">its '
            "stats page</a>.</p>",
            summary,
            table,
            stats,
        )

    @admin.display(description="Training data")
    def training_data_readable(self, obj: ModelVersion):
        return _readable(obj.training_data)

    @admin.display(description="Held-out reviewed uploads")
    def heldout_readable(self, obj: ModelVersion):
        return _readable(obj.heldout_metrics)

    def _single(self, request, queryset) -> ModelVersion | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version.", messages.ERROR)
            return None
        return queryset.get()

    @admin.action(description="Promote the selected candidate", permissions=["activate"])
    def promote_candidate(self, request, queryset):
        version = self._single(request, queryset)
        if version is None:
            return
        if version.status != ModelVersion.Status.CANDIDATE:
            self.message_user(
                request, f"{version} is not a candidate ({version.status}).", messages.ERROR
            )
            return
        try:
            model_versions.model_version_promote(model_version=version, user=request.user)
        except registry.ModelUnavailable as exc:
            self.message_user(request, f"Not promoted: {exc.detail}", messages.ERROR)
            return
        self.message_user(request, f"{version} is now the active model.", messages.SUCCESS)

    @admin.action(description="Roll back to the selected version", permissions=["activate"])
    def roll_back_to_this_version(self, request, queryset):
        version = self._single(request, queryset)
        if version is None:
            return
        if version.is_active:
            self.message_user(request, f"{version} is already active.", messages.WARNING)
            return
        try:
            model_versions.model_version_rollback(model_version=version, user=request.user)
        except registry.ModelUnavailable as exc:
            self.message_user(request, f"Not rolled back: {exc.detail}", messages.ERROR)
            return
        self.message_user(request, f"Rolled back: {version} is active again.", messages.SUCCESS)

    @admin.action(
        description="Retrain with reviewed corrections (in the background)",
        permissions=["retrain"],
    )
    def retrain_with_corrections(self, request, queryset):
        _enqueue_retraining(self, request)

    def stats_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Model {version.version}: how it does",
            "version": version,
            "stats": model_version_stats(version),
            "original": version,
        }
        return TemplateResponse(request, "admin/recognizer/modelversion/stats.html", context)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    # Fits beside the admin's sidebar and filters at 1280 px; the finish time is on each run's page.
    list_display = [
        "id",
        "state",
        "progress_and_stage",
        "candidate",
        "promoted",
        "requested_by",
        "created_at",
    ]
    list_filter = ["state", "promoted"]
    readonly_fields = [
        "state",
        "progress_bar",
        "stage",
        "force",
        "candidate",
        "promoted",
        "message",
        "requested_by",
        "task_id",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = readonly_fields

    class Media:
        css = {"all": ["css/review.css"]}
        js = ["js/training_runs.js"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retrain_permission(self, request):
        return request.user.has_perm(RETRAIN_PERMISSION)

    def get_urls(self):
        return [
            path(
                "retrain/",
                self.admin_site.admin_view(self.retrain_view),
                name="recognizer_trainingrun_retrain",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **WIDE_LIST, **_retrain_button(request)}
        return super().changelist_view(request, extra_context)

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        """The list's "Retrain now" button: a retraining needs no selected rows."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        _enqueue_retraining(self, request)
        return redirect("admin:recognizer_trainingrun_changelist")

    @admin.display(description="Progress")
    def progress_and_stage(self, obj: TrainingRun):
        return format_html(
            '{}<div class="run-stage">{}</div>',
            self.progress_bar(obj),
            Truncator(obj.stage).chars(80),
        )

    @admin.display(description="Progress")
    def progress_bar(self, obj: TrainingRun):
        value = obj.progress
        return format_html(
            '<progress max="100" value="{}" data-state="{}">{}%</progress> {}%',
            value,
            obj.state,
            value,
            value,
        )
