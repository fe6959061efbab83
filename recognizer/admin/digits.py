"""Each digit read: shown under its upload, and on a page of its own with its label history."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from recognizer.models import Digit

from .common import (
    ReadOnlyAdminMixin,
    confidence_text,
    digit_input,
    likeliest,
    probabilities_list,
    render,
)


class DigitInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The digits read, for reading only: labels change through the review screen and API."""

    model = Digit
    fields = [
        "position",
        "seen_as",
        "digit",
        "confidence_pct",
        "likeliest",
        "low_confidence",
        "user_label",
        "true_label",
        "excluded_from_training",
        "reviewed",
        "history_link",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Seen as")
    def seen_as(self, obj: Digit):
        return digit_input(obj, size=56)

    @admin.display(description="Confidence")
    def confidence_pct(self, obj: Digit):
        return confidence_text(obj.confidence)

    @admin.display(description="Likeliest")
    def likeliest(self, obj: Digit):
        return likeliest(obj.probabilities)

    @admin.display(description="Reviewed")
    def reviewed(self, obj: Digit):
        if obj.reviewed_at is None:
            return "—"
        when = timezone.localtime(obj.reviewed_at)
        return f"{obj.reviewed_by or 'someone'}, {when:%Y-%m-%d %H:%M}"

    @admin.display(description="Label history")
    def history_link(self, obj: Digit):
        url = reverse("admin:recognizer_digit_history", args=[obj.pk])
        return render("_link.html", url=url, text="History")


@admin.register(Digit)
class DigitAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Each digit's label history (who changed which label, when); nothing is edited here."""

    list_display = ["prediction", "position", "digit", "user_label", "true_label", "reviewed_by"]
    list_select_related = ["prediction", "reviewed_by"]
    history_list_display = ["true_label", "user_label", "excluded_from_training", "reviewed_by"]
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
        "excluded_from_training",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["css/review.css"]}

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
    def seen_as(self, obj: Digit):
        return digit_input(obj, size=112)

    @admin.display(description="Box in the stored image")
    def box(self, obj: Digit):
        return f"from ({obj.x0}, {obj.y0}) to ({obj.x1}, {obj.y1})"

    @admin.display(description="Confidence")
    def confidence_pct(self, obj: Digit):
        return confidence_text(obj.confidence)

    @admin.display(description="Probabilities")
    def probabilities_table(self, obj: Digit):
        return probabilities_list(obj.probabilities)
