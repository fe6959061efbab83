"""Staff decisions on uploads, one at a time or in bulk, each recorded in the label history."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .history import label_history_start
from .models import Prediction


class ReviewRefused(ValueError):
    """A decision that cannot apply to this upload; the message says why, for staff."""


def prediction_review(
    *, prediction: Prediction, label: int | None, reviewer: AbstractBaseUser
) -> Prediction:
    if label is not None and not 0 <= int(label) <= 9:
        raise ReviewRefused("A label is a digit from 0 to 9.")
    label_history_start(prediction)
    prediction.true_label = None if label is None else int(label)
    prediction.reviewed_by = None if label is None else reviewer
    prediction.reviewed_at = None if label is None else timezone.now()
    # Every caller (admin, review screen, API, commands) gets the reviewer into the label history,
    # with or without a request in flight.
    prediction._history_user = reviewer
    prediction._change_reason = "review"
    prediction.save(update_fields=["true_label", "reviewed_by", "reviewed_at"])
    return prediction


def prediction_exclude(
    *, prediction: Prediction, reviewer: AbstractBaseUser, excluded: bool = True
) -> Prediction:
    """Mark an upload as junk (or take it back): it never becomes training data."""
    label_history_start(prediction)
    prediction.excluded_from_training = excluded
    prediction.reviewed_by = reviewer
    prediction.reviewed_at = timezone.now()
    prediction._history_user = reviewer
    prediction._change_reason = "exclude" if excluded else "include"
    prediction.save(update_fields=["excluded_from_training", "reviewed_by", "reviewed_at"])
    return prediction


DECISIONS = ("label", "confirm", "accept_claim", "exclude")


def prediction_decide(
    *, prediction: Prediction, action: str, reviewer: AbstractBaseUser, label: int | None = None
) -> Prediction:
    """One decision of the review screen: set a label, confirm the model, accept the owner's
    claim, or exclude the upload."""
    if action == "label":
        if label is None:
            raise ReviewRefused("A label is a digit from 0 to 9.")
        return prediction_review(prediction=prediction, label=label, reviewer=reviewer)
    if action == "confirm":
        if prediction.digit is None:
            raise ReviewRefused("This upload has no prediction to confirm.")
        return prediction_review(prediction=prediction, label=prediction.digit, reviewer=reviewer)
    if action == "accept_claim":
        if prediction.user_label is None:
            raise ReviewRefused("The owner has not named a digit for this upload.")
        return prediction_review(
            prediction=prediction, label=prediction.user_label, reviewer=reviewer
        )
    if action == "exclude":
        return prediction_exclude(prediction=prediction, reviewer=reviewer)
    raise ReviewRefused(f"The action must be one of: {', '.join(DECISIONS)}.")


def _review_each(predictions, *, reviewer: AbstractBaseUser, label_of) -> int:
    count = 0
    for prediction in predictions:
        prediction_review(prediction=prediction, label=label_of(prediction), reviewer=reviewer)
        count += 1
    return count


def predictions_confirm(*, predictions, reviewer: AbstractBaseUser) -> int:
    """Staff agree with the model: the predicted digit becomes the true label."""
    return _review_each(
        predictions.filter(digit__isnull=False), reviewer=reviewer, label_of=lambda p: p.digit
    )


def predictions_accept_user_label(*, predictions, reviewer: AbstractBaseUser) -> int:
    """Staff agree with the owner's claim: the claimed digit becomes the true label."""
    return _review_each(
        predictions.filter(user_label__isnull=False),
        reviewer=reviewer,
        label_of=lambda p: p.user_label,
    )


def predictions_set_label(*, predictions, label: int, reviewer: AbstractBaseUser) -> int:
    return _review_each(predictions, reviewer=reviewer, label_of=lambda p: label)


def predictions_exclude(*, predictions, reviewer: AbstractBaseUser) -> int:
    count = 0
    for prediction in predictions:
        prediction_exclude(prediction=prediction, reviewer=reviewer)
        count += 1
    return count
