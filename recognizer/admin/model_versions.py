"""Model versions: their metrics in words, promotion and rollback, and the stats page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator

from recognizer import model_versions, registry
from recognizer.models import ModelVersion
from recognizer.stats import model_version_stats

from .common import (
    WIDE_LIST,
    ReadOnlyAdminMixin,
    RetrainMixin,
    percent,
    plain,
    readable,
    render,
    retrain_button,
)


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, RetrainMixin, admin.ModelAdmin):
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

    def has_activate_permission(self, request):
        return request.user.has_perm("recognizer.change_modelversion")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **WIDE_LIST, **retrain_button(request)}
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

    @admin.display(description="Stats")
    def stats_link(self, obj: ModelVersion):
        return render("_link.html", url=_stats_url(obj), text="Stats")

    @admin.display(description="Parameters")
    def params_readable(self, obj: ModelVersion):
        return readable(obj.params)

    @admin.display(description="Metrics (MNIST test set)")
    def metrics_readable(self, obj: ModelVersion):
        metrics = obj.metrics or {}
        per_class = [
            (
                digit,
                percent(row.get("precision")),
                percent(row.get("recall")),
                plain(row.get("support")),
            )
            for digit, row in (metrics.get("per_class") or {}).items()
        ]
        ece = (metrics.get("calibration") or {}).get("ece")
        if ece is not None:
            metrics = {**metrics, "calibration error (ECE)": percent(ece, 2)}
        return render(
            "modelversion/_metrics.html",
            summary=readable(metrics, skip=("per_class", "confusion", "calibration")),
            per_class=per_class,
            stats_url=_stats_url(obj),
        )

    @admin.display(description="Training data")
    def training_data_readable(self, obj: ModelVersion):
        return readable(obj.training_data)

    @admin.display(description="Held-out reviewed uploads")
    def heldout_readable(self, obj: ModelVersion):
        return readable(obj.heldout_metrics)

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


def _stats_url(version: ModelVersion) -> str:
    return reverse("admin:recognizer_modelversion_stats", args=[version.pk])
