from rest_framework.permissions import SAFE_METHODS, BasePermission

REVIEW_PERMISSION = "recognizer.change_prediction"


class Reviewer(BasePermission):
    """Review decisions need Django's change_prediction permission: being staff is not enough.

    Checked on the object, after the lookup, so an id the caller may not see is a 404.
    """

    message = "Only reviewers (the change_prediction permission) can review predictions."

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)


class StaffReviews(Reviewer):
    """Only reviewers set the true label (PATCH), as in the admin."""

    message = (
        "Only reviewers can set true_label. To say a prediction is wrong, "
        'POST {"label": N} to its feedback/ URL.'
    )

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method != "PATCH" or super().has_object_permission(request, view, obj)


class OwnerWrites(BasePermission):
    """Reviewers may read and review any prediction, but deleting and feedback stay with the
    owner."""

    message = "Only the owner of a prediction can delete it or give feedback on it."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS or request.method == "PATCH":
            return True
        return obj.owner_id == request.user.pk
