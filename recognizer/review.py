"""Staff decisions on the digits of uploads, one at a time or in bulk, each recorded in the
label history of the digit."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .history import label_change_save
from .models import LABEL_RULE, Digit, Label, Prediction


class ReviewRefused(ValueError):
    """A decision that cannot apply to this upload; the message says why, for staff."""


def _check_label(label: int | None) -> int | None:
    if label is None:
        return None
    if int(label) not in Label.values:
        raise ReviewRefused(LABEL_RULE)
    return int(label)


def digit_review(*, digit: Digit, label: int | None, reviewer: AbstractBaseUser) -> Digit:
    """The true label of one digit of an upload (None clears it)."""
    label = _check_label(label)
    label_change_save(
        digit,
        by=reviewer,
        reason="review",
        true_label=label,
        reviewed_by=None if label is None else reviewer,
        reviewed_at=None if label is None else timezone.now(),
    )
    return digit


def _only_digit(prediction: Prediction) -> Digit:
    digits = list(prediction.digits.all())
    if prediction.is_number or len(digits) > 1:
        raise ReviewRefused(
            f"Upload {prediction.pk} is the number {prediction.text}: label each of its digits."
        )
    if not digits:
        raise ReviewRefused(f"Upload {prediction.pk} has no digit read yet to label.")
    return digits[0]


def prediction_review(
    *, prediction: Prediction, label: int | None, reviewer: AbstractBaseUser
) -> Prediction:
    """The true label of a one-digit upload's digit (None clears it). A number is reviewed
    digit by digit (`digit_review`)."""
    _check_label(label)
    digit_review(digit=_only_digit(prediction), label=label, reviewer=reviewer)
    return prediction


def prediction_exclude(
    *, prediction: Prediction, reviewer: AbstractBaseUser, excluded: bool = True
) -> Prediction:
    """Mark an upload as junk (or take it back): none of its digits becomes training data."""
    digits = list(prediction.digits.all())
    if not digits:
        raise ReviewRefused(f"Upload {prediction.pk} has no digit read, so nothing to exclude.")
    now = timezone.now()
    with transaction.atomic():
        for digit in digits:
            label_change_save(
                digit,
                by=reviewer,
                reason="exclude" if excluded else "include",
                excluded_from_training=excluded,
                reviewed_by=reviewer,
                reviewed_at=now,
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
        raise ReviewRefused(LABEL_RULE)
    if position is None:
        if prediction.is_number:
            raise ReviewRefused(
                f"Upload {prediction.pk} is the number {prediction.text}: say which digit "
                "(position, 0 for the leftmost)."
            )
        digit = next(iter(prediction.digits.all()), None)
        if digit is None and action == "confirm":
            raise ReviewRefused("This upload has no prediction to confirm.")
        if digit is None:
            raise ReviewRefused(f"Upload {prediction.pk} has no digit read yet to label.")
    else:
        digit = next((d for d in prediction.digits.all() if d.position == position), None)
        if digit is None:
            raise ReviewRefused(f"Upload {prediction.pk} has no digit at position {position}.")
    if action == "confirm":
        label = digit.digit
    elif action == "accept_claim":
        if digit.user_label is None:
            raise ReviewRefused("The owner has not named a digit for this upload.")
        label = digit.user_label
    digit_review(digit=digit, label=label, reviewer=reviewer)
    return prediction


def _review_each(predictions, *, reviewer: AbstractBaseUser, label_of) -> int:
    """Bulk decisions apply to one-digit uploads; numbers are skipped (reviewed per digit), and
    so are uploads for which `label_of` their digit gives None."""
    count = 0
    for prediction in predictions.prefetch_related("digits"):
        digits = list(prediction.digits.all())
        if prediction.is_number or len(digits) != 1:
            continue
        label = label_of(digits[0])
        if label is None:
            continue
        digit_review(digit=digits[0], label=label, reviewer=reviewer)
        count += 1
    return count


def predictions_confirm(*, predictions, reviewer: AbstractBaseUser) -> int:
    """Staff agree with the model: the predicted digit becomes the true label."""
    return _review_each(predictions, reviewer=reviewer, label_of=lambda d: d.digit)


def predictions_accept_user_label(*, predictions, reviewer: AbstractBaseUser) -> int:
    """Staff agree with the owner's claim: the claimed digit becomes the true label."""
    return _review_each(predictions, reviewer=reviewer, label_of=lambda d: d.user_label)


def predictions_set_label(*, predictions, label: int, reviewer: AbstractBaseUser) -> int:
    label = _check_label(label)
    return _review_each(predictions, reviewer=reviewer, label_of=lambda d: label)


def predictions_exclude(*, predictions, reviewer: AbstractBaseUser) -> int:
    count = 0
    for prediction in predictions.prefetch_related("digits"):
        if prediction.digits.all():
            prediction_exclude(prediction=prediction, reviewer=reviewer)
            count += 1
    return count
