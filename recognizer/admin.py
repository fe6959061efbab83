from django.contrib import admin, messages
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import ModelVersion, Prediction


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


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = [
        "thumb",
        "id",
        "owner",
        "digit",
        "confidence_pct",
        "low_confidence",
        "true_label",
        "status",
        "model_version",
        "created_at",
    ]
    list_display_links = ["id"]
    list_editable = ["true_label"]
    list_filter = [
        "digit",
        "true_label",
        ReviewedFilter,
        "low_confidence",
        "model_version",
        "status",
        "source",
        "created_at",
    ]
    list_select_related = ["owner", "model_version"]
    search_fields = ["owner__username", "=id"]
    # A review queue: unreviewed first, and among them the least confident first.
    ordering = [F("true_label").asc(nulls_first=True), F("confidence").asc(nulls_first=True)]
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["confirm_prediction"]
    readonly_fields = [
        "preview",
        "owner",
        "original_filename",
        "source",
        "status",
        "error_message",
        "digit",
        "confidence",
        "probabilities",
        "low_confidence",
        "model_version",
        "predict_ms",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    ]
    fields = [
        "preview",
        "owner",
        "original_filename",
        "source",
        "status",
        "error_message",
        "digit",
        "confidence",
        "probabilities",
        "low_confidence",
        "model_version",
        "predict_ms",
        "true_label",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Image")
    def thumb(self, obj: Prediction):
        url = reverse("recognizer:thumbnail", args=[obj.pk])
        return format_html('<img src="{}" alt="upload #{}" width="48" height="48">', url, obj.pk)

    @admin.display(description="Image")
    def preview(self, obj: Prediction):
        return format_html(
            '<img src="{}" alt="upload" style="max-width:240px"> '
            '<img src="{}" alt="what the model saw" width="112" height="112" '
            'style="image-rendering:pixelated">',
            reverse("recognizer:image", args=[obj.pk]),
            reverse("recognizer:model_input", args=[obj.pk]),
        )

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_pct(self, obj: Prediction):
        return "—" if obj.confidence is None else f"{obj.confidence:.0%}"

    def save_model(self, request, obj, form, change):
        if "true_label" in form.changed_data:
            services.prediction_review(
                prediction=obj, label=form.cleaned_data["true_label"], reviewer=request.user
            )
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description="Confirm prediction is correct")
    def confirm_prediction(self, request, queryset):
        count = services.predictions_confirm(predictions=queryset, reviewer=request.user)
        self.message_user(request, f"Confirmed {count} prediction(s).", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "created_at", "accuracy", "status", "sha256_short"]
    list_filter = ["status"]
    actions = ["promote"]
    readonly_fields = [
        "version",
        "artifact_path",
        "sha256",
        "params",
        "metrics",
        "created_at",
        "status",
        "status_note",
        "parent",
        "training_data",
        "heldout_metrics",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_activate_permission(self, request):
        # The change permission stays off (rows are read-only); activating needs it all the same.
        return request.user.has_perm("recognizer.change_modelversion")

    @admin.action(description="Make the selected version active", permissions=["activate"])
    def promote(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        model_version = services.model_version_activate(
            model_version=queryset.get(), note=f"Activated by {request.user} in the admin."
        )
        self.message_user(request, f"{model_version} is now active.", messages.SUCCESS)

    @admin.display(description="MNIST test accuracy")
    def accuracy(self, obj: ModelVersion):
        value = obj.mnist_accuracy
        return "—" if value is None else f"{value:.2%}"

    @admin.display(description="sha256")
    def sha256_short(self, obj: ModelVersion):
        return obj.sha256[:12]
