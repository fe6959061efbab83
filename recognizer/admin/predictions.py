"""Uploads in the admin: the list in review-queue order, each upload's page with its digits,
the bulk decisions, and the keyboard review screen."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from recognizer import export, review
from recognizer.models import REVIEW_QUEUE_ORDERING, Digit, Label, Prediction

from .common import (
    WIDE_LIST,
    RetrainMixin,
    confidence_text,
    probabilities_list,
    render,
    retrain_button,
)
from .digits import DigitInline

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
        return [("yes", "Owner says a digit is wrong"), ("no", "No claim")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.claimed(self.value() == "yes")
        return queryset


class DigitFlagFilter(admin.SimpleListFilter):
    """Uploads with (or without) a digit flagged `flag`."""

    flag = ""

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.with_digits_where(**{self.flag: True})
        if self.value() == "no":
            return queryset.exclude(pk__in=queryset.with_digits_where(**{self.flag: True}))
        return queryset


class LowConfidenceFilter(DigitFlagFilter):
    title = "low confidence"
    parameter_name = "low"
    flag = "low_confidence"


class ExcludedFilter(DigitFlagFilter):
    title = "excluded from training"
    parameter_name = "excluded"
    flag = "excluded_from_training"


class TrueLabelFilter(admin.SimpleListFilter):
    title = "a digit reviewed as"
    parameter_name = "true_label"

    def lookups(self, request, model_admin):
        return Label.choices

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.with_digits_where(true_label=int(self.value()))


class TrueLabelForm(forms.ModelForm):
    """A row of the uploads list: its one digit's true label, its select named for screen
    readers; a number's is disabled (its digits are labelled one by one)."""

    true_label = forms.TypedChoiceField(
        choices=[("", "---------"), *Label.choices], coerce=int, empty_value=None, required=False
    )

    class Meta:
        model = Prediction
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["true_label"]
        field.initial = self.instance.true_label
        name = f"True label of upload {self.instance.pk}"
        if self.instance.one_digit is None:
            field.disabled = True
            if self.instance.is_number:
                name += f", the number {self.instance.text}: label its digits on the review screen"
        field.widget.attrs["aria-label"] = name


class LabelChangeList(ChangeList):
    """The list with the one digit's label editable in each row (it is no column of uploads)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_editable = ("true_label",)


def _set_label_action(label: Label):
    def action(modeladmin, request, queryset):
        count = review.predictions_set_label(
            predictions=queryset, label=label, reviewer=request.user
        )
        said = "“not a digit”" if label == Label.NOT_A_DIGIT else label.label
        modeladmin.message_user(request, f"Set the label of {count} prediction(s) to {said}.")

    action.__name__ = f"set_label_{label}"
    return action


@admin.register(Prediction)
class PredictionAdmin(RetrainMixin, admin.ModelAdmin):
    inlines = [DigitInline]
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
    list_filter = [
        ReviewedFilter,
        ClaimFilter,
        LowConfidenceFilter,
        ExcludedFilter,
        TrueLabelFilter,
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
    fields = [
        "preview",
        "owner",
        "original_filename",
        "source",
        "status",
        "error_message",
        "mode",
        "text",
        "confidence_pct",
        "probabilities_table",
        "model_version",
        "predict_time",
        "created_at",
    ]
    # Labels change through the review services (list, actions, review screen), never here.
    readonly_fields = fields

    class Media:
        css = {"all": ["css/review.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).with_digit_summary()

    def get_changelist(self, request, **kwargs):
        return LabelChangeList

    def get_changelist_form(self, request, **kwargs):
        return TrueLabelForm

    def get_ordering(self, request):
        # The review queue (PredictionQuerySet.review_queue), as on the review screen.
        return REVIEW_QUEUE_ORDERING

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            # Kept after the bulk actions so "set the label to N" reads as one group of ten.
            for label in Label:
                action = _set_label_action(label)
                said = "“not a digit”" if label == Label.NOT_A_DIGIT else label.label
                actions[action.__name__] = (action, action.__name__, f"Set the label to {said}")
        return actions

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        review_url = path(
            "review/",
            self.admin_site.admin_view(self.review_view),
            name="recognizer_prediction_review",
        )
        return [review_url, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            **WIDE_LIST,
            **retrain_button(request),
            "review_url": reverse("admin:recognizer_prediction_review"),
            # Counted as the review screen counts: one item per digit.
            "needs_review": Digit.objects.needs_review().count(),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Image")
    def thumb(self, obj: Prediction):
        return render("prediction/_thumb.html", prediction=obj)

    @admin.display(description="Read", ordering="digits_confidence")
    def reading(self, obj: Prediction):
        if not obj.text:
            return "—"
        return render(
            "prediction/_reading.html", prediction=obj, confidence=confidence_text(obj.confidence)
        )

    @admin.display(description="Owner says")
    def owner_says(self, obj: Prediction):
        """The owners' claims on any digit: "9", or for a number "digit 2: 9"."""
        digits = obj.digit_rows
        claims = [d for d in digits if d.user_label is not None]
        if not claims:
            return "—"
        if len(digits) == 1:
            return Label(claims[0].user_label).label
        return "; ".join(f"digit {d.position + 1}: {Label(d.user_label).label}" for d in claims)

    @admin.display(description="True label")
    def true_label(self, obj: Prediction):
        return "—" if obj.true_label is None else Label(obj.true_label).label

    @admin.display(description="Status", ordering="status")
    def state(self, obj: Prediction):
        return render("prediction/_state.html", prediction=obj)

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Prediction):
        return render("_time.html", when=timezone.localtime(obj.created_at))

    @admin.display(description="Image")
    def preview(self, obj: Prediction):
        return render("prediction/_preview.html", prediction=obj, one=obj.one_digit)

    @admin.display(description="Confidence")
    def confidence_pct(self, obj: Prediction):
        return confidence_text(obj.confidence)

    @admin.display(description="Probabilities")
    def probabilities_table(self, obj: Prediction):
        if obj.is_number:
            return "Each digit's are under Digits below."
        return probabilities_list(obj.probabilities)

    @admin.display(description="Reading took")
    def predict_time(self, obj: Prediction):
        return "—" if obj.predict_ms is None else f"{obj.predict_ms:.1f} ms"

    def save_model(self, request, obj, form, change):
        # Only the list's label select is editable, and it goes through the review service.
        if "true_label" in form.changed_data:
            try:
                review.prediction_review(
                    prediction=obj, label=form.cleaned_data["true_label"], reviewer=request.user
                )
            except review.ReviewRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)

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

    def review_view(self, request: HttpRequest) -> HttpResponse:
        """The keyboard review screen: one item per digit, in the list's order."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        queue = Digit.objects.needs_review().review_queue()
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
