import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from simple_history.admin import SimpleHistoryAdmin

from . import export, model_versions, registry, retraining, review, tasks
from .models import REVIEW_QUEUE_ORDERING, DigitReading, ModelVersion, Prediction, TrainingRun
from .stats import model_version_stats

REVIEW_BATCH = 60


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


class DigitReadingInline(admin.TabularInline):
    """The digits read, for reading only: labels change through the review screen and API."""

    model = DigitReading
    fields = [
        "position",
        "digit",
        "confidence",
        "low_confidence",
        "user_label",
        "true_label",
        "reviewed_by",
        "reviewed_at",
        "history_link",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Label history")
    def history_link(self, obj: DigitReading):
        url = reverse("admin:recognizer_digitreading_history", args=[obj.pk])
        return format_html('<a href="{}">History</a>', url)


@admin.register(DigitReading)
class DigitReadingAdmin(SimpleHistoryAdmin):
    """Each digit's label history (who changed which label, when); nothing is edited here."""

    list_display = ["prediction", "position", "digit", "user_label", "true_label", "reviewed_by"]
    list_select_related = ["prediction", "reviewed_by"]
    history_list_display = ["true_label", "user_label", "reviewed_by"]
    search_fields = ["=prediction__id"]

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

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("recognizer.view_prediction")


@admin.register(Prediction)
class PredictionAdmin(SimpleHistoryAdmin):
    inlines = [DigitReadingInline]
    list_display = [
        "thumb",
        "id",
        "owner",
        "text",
        "digit",
        "confidence_pct",
        "low_confidence",
        "user_label",
        "true_label",
        "excluded_from_training",
        "status",
        "model_version",
        "created_at",
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
        "confidence",
        "probabilities",
        "low_confidence",
        "model_version",
        "predict_ms",
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
            "review_url": reverse("admin:recognizer_prediction_review"),
            "needs_review": Prediction.objects.needs_review().count(),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Image")
    def thumb(self, obj: Prediction):
        url = reverse("recognizer:thumbnail", args=[obj.pk])
        return format_html('<img src="{}" alt="upload #{}" width="48" height="48">', url, obj.pk)

    @admin.display(description="Image")
    def preview(self, obj: Prediction):
        return format_html(
            '<img src="{}" alt="upload" class="admin-preview"> '
            '<img src="{}" alt="what the model saw" width="112" height="112" class="pixelated">',
            reverse("recognizer:image", args=[obj.pk]),
            reverse("recognizer:model_input", args=[obj.pk]),
        )

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_pct(self, obj: Prediction):
        return "—" if obj.confidence is None else f"{obj.confidence:.0%}"

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
        buffer = io.BytesIO()
        export.dataset_export(out=buffer, predictions=queryset)
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
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
            "opts": self.model._meta,
            "title": "Review queue",
            "items": items,
            "remaining": queue.count(),
            "changelist_url": reverse("admin:recognizer_prediction_changelist"),
        }
        return TemplateResponse(request, "admin/recognizer/prediction/review.html", context)


# The model versions and training runs lists have more columns than fit beside both the admin's
# app sidebar and the filters on a 1280 px screen; the breadcrumbs lead back instead.
WIDE_LIST = {"is_nav_sidebar_enabled": False}


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
        "params",
        "metrics",
        "created_at",
        "parent",
        "training_data",
        "heldout_metrics",
    ]

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
        return super().changelist_view(request, {**(extra_context or {}), **WIDE_LIST})

    def get_urls(self):
        return [
            path(
                "<int:pk>/stats/",
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
        extra_context = {
            **(extra_context or {}),
            **WIDE_LIST,
            "can_retrain": self.has_retrain_permission(request),
            "retrain_url": reverse("admin:recognizer_trainingrun_retrain"),
        }
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
