"""Staff decisions on uploads and on each digit of them, one at a time or in bulk, each recorded
in the label history."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .history import label_change_save
from .models import DigitReading, Prediction


class ReviewRefused(ValueError):
    """A decision that cannot apply to this upload; the message says why, for staff."""


def _is_number(prediction: Prediction) -> bool:
    return len(prediction.text) > 1


def _set_true_label(
    row: Prediction | DigitReading, label: int | None, reviewer: AbstractBaseUser
) -> None:
    label_change_save(
        row,
        by=reviewer,
        reason="review",
        true_label=label,
        reviewed_by=None if label is None else reviewer,
        reviewed_at=None if label is None else timezone.now(),
    )


def _check_label(label: int | None) -> None:
    if label is not None and not 0 <= int(label) <= 9:
        raise ReviewRefused("A label is a digit from 0 to 9.")


def prediction_review(
    *, prediction: Prediction, label: int | None, reviewer: AbstractBaseUser
) -> Prediction:
    """The true label of a one-digit upload (None clears it); its digit gets it too. A number
    is reviewed digit by digit (`digit_review`)."""
    _check_label(label)
    if _is_number(prediction):
        raise ReviewRefused(
            f"Upload {prediction.pk} is the number {prediction.text}: label each of its digits."
        )
    label = None if label is None else int(label)
    with transaction.atomic():
        _set_true_label(prediction, label, reviewer)
        for digit in prediction.digits.all():
            _set_true_label(digit, label, reviewer)
    return prediction


def digit_review(
    *, digit: DigitReading, label: int | None, reviewer: AbstractBaseUser
) -> DigitReading:
    """The true label of one digit of an upload; for a one-digit upload, the upload's too."""
    _check_label(label)
    prediction = digit.prediction
    if not _is_number(prediction):
        prediction_review(prediction=prediction, label=label, reviewer=reviewer)
        digit.refresh_from_db()
        return digit
    _set_true_label(digit, None if label is None else int(label), reviewer)
    return digit


def prediction_exclude(
    *, prediction: Prediction, reviewer: AbstractBaseUser, excluded: bool = True
) -> Prediction:
    """Mark an upload as junk (or take it back): none of its digits becomes training data."""
    label_change_save(
        prediction,
        by=reviewer,
        reason="exclude" if excluded else "include",
        excluded_from_training=excluded,
        reviewed_by=reviewer,
        reviewed_at=timezone.now(),
    )
    return prediction


DECISIONS = ("label", "confirm", "accept_claim", "exclude")


def prediction_decide(
    *,
    prediction: Prediction,
    action: str,
    reviewer: AbstractBaseUser,
    label: int | None = None,
    position: int | None = None,
) -> Prediction:
    """One decision of the review screen on the digit at `position` (it may be left out for a
    one-digit upload): set a label, confirm the model, accept the owner's claim, or exclude the
    whole upload."""
    if action not in DECISIONS:
        raise ReviewRefused(f"The action must be one of: {', '.join(DECISIONS)}.")
    if action == "exclude":
        return prediction_exclude(prediction=prediction, reviewer=reviewer)
    if action == "label" and label is None:
        raise ReviewRefused("A label is a digit from 0 to 9.")
    if position is None:
        if _is_number(prediction):
            raise ReviewRefused(
                f"Upload {prediction.pk} is the number {prediction.text}: say which digit "
                "(position, 0 for the leftmost)."
            )
        subject = prediction
    else:
        subject = next((d for d in prediction.digits.all() if d.position == position), None)
        if subject is None:
            raise ReviewRefused(f"Upload {prediction.pk} has no digit at position {position}.")
    if action == "confirm":
        if subject.digit is None:
            raise ReviewRefused("This upload has no prediction to confirm.")
        label = subject.digit
    elif action == "accept_claim":
        if subject.user_label is None:
            raise ReviewRefused("The owner has not named a digit for this upload.")
        label = subject.user_label
    if subject is prediction:
        prediction_review(prediction=prediction, label=label, reviewer=reviewer)
    else:
        digit_review(digit=subject, label=label, reviewer=reviewer)
    return prediction


def _review_each(predictions, *, reviewer: AbstractBaseUser, label_of) -> int:
    """Bulk decisions apply to one-digit uploads; numbers are skipped (reviewed per digit)."""
    count = 0
    for prediction in predictions:
        if _is_number(prediction):
            continue
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
