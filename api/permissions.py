from rest_framework.permissions import SAFE_METHODS, BasePermission


class StaffReviews(BasePermission):
    """Only staff set the true label (PATCH), as in the admin.

    Checked on the object, after the lookup, so another user's id is a 404 for everyone.
    """

    message = (
        "Only staff can set true_label. To say a prediction is wrong, "
        'POST {"label": N} to its feedback/ URL.'
    )

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method != "PATCH" or request.user.is_staff


class OwnerWrites(BasePermission):
    """Staff may read and review any prediction, but deleting and feedback stay with the owner."""

    message = "Only the owner of a prediction can delete it or give feedback on it."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS or request.method == "PATCH":
            return True
        return obj.owner_id == request.user.pk
