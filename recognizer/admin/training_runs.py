"""Retraining runs: their progress while the worker trains, and the "Retrain now" button."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils.text import Truncator

from recognizer.models import TrainingRun

from .common import (
    WIDE_LIST,
    ReadOnlyAdminMixin,
    RetrainMixin,
    enqueue_retraining,
    render,
    retrain_button,
)


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdminMixin, RetrainMixin, admin.ModelAdmin):
    # Fits beside the admin's sidebar and filters at 1280 px; the finish time is on each run's page.
    list_display = [
        "id",
        "state",
        "progress_and_stage",
        "candidate",
        "verdict",
        "requested_by",
        "created_at",
    ]
    list_filter = ["state", "promoted"]
    readonly_fields = [
        "state",
        "progress_bar",
        "forced",
        "candidate",
        "verdict",
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
        extra_context = {**(extra_context or {}), **WIDE_LIST, **retrain_button(request)}
        return super().changelist_view(request, extra_context)

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        """The list's "Retrain now" button: a retraining needs no selected rows."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        enqueue_retraining(self, request)
        return redirect("admin:recognizer_trainingrun_changelist")

    @admin.display(description="Progress")
    def progress_and_stage(self, obj: TrainingRun):
        return render("trainingrun/_progress.html", run=obj, stage=Truncator(_stage(obj)).chars(80))

    @admin.display(description="Progress")
    def progress_bar(self, obj: TrainingRun):
        return render("trainingrun/_progress.html", run=obj, stage=_stage(obj))

    @admin.display(description="Promote despite the gate")
    def forced(self, obj: TrainingRun):
        # In words: a red cross on a run still going would read as its verdict.
        return "yes" if obj.force else "no"

    @admin.display(description="Promoted", ordering="promoted")
    def verdict(self, obj: TrainingRun):
        # Only a finished run has passed or failed the gate: a run still going has no verdict,
        # and one that failed never reached it.
        if obj.state != TrainingRun.State.SUCCEEDED:
            return self.get_empty_value_display()
        return render("trainingrun/_verdict.html", promoted=obj.promoted)


def _stage(run: TrainingRun) -> str:
    """The words under a run's bar: the stage it is in, while it is queued or running; where it
    stopped, if it failed."""
    if run.state == TrainingRun.State.QUEUED:
        return "Waiting for the task worker"
    if run.state == TrainingRun.State.RUNNING:
        return run.stage or "Starting"
    if run.state == TrainingRun.State.FAILED and run.stage:
        return f"Stopped at: {run.stage}"
    return ""
