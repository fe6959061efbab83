"""The write path of an upload: create (one or a batch), predict again, delete, owner feedback."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from . import images
from .history import label_change_save
from .images import UploadRejected
from .inference import ReadResult, image_read
from .models import LABEL_RULE, Digit, Label, Prediction

logger = logging.getLogger(__name__)

# What a prediction (or its failure) sets on an upload; repredict saves exactly these.
RESULT_FIELDS = [
    "text",
    "model_version",
    "predict_ms",
    "status",
    "error_message",
    "personal_corrections",
]


@dataclass
class PreparedUpload:
    """An upload decoded, checked, read and encoded for storage: all that is needed to store it."""

    png: bytes
    thumbnail: bytes
    mode: str
    result: ReadResult
    original_filename: str = ""

    @property
    def stored_bytes(self) -> int:
        return len(self.png) + len(self.thumbnail)


def _prepare(
    image_file: BinaryIO, original_filename: str, mode: str, user: AbstractBaseUser
) -> PreparedUpload:
    image = images.load_upload(image_file)
    stored = images.storable(image)
    # Read before encoding: a refused image costs no PNG.
    result = image_read(image, mode=mode, stored_size=stored.size, user=user)
    return PreparedUpload(
        png=images.png_bytes(stored),
        thumbnail=images.thumbnail_bytes(stored),
        mode=mode,
        result=result,
        original_filename=original_filename,
    )


def _check_quota(user: AbstractBaseUser, incoming: int) -> None:
    quota = settings.UPLOAD_QUOTA_BYTES
    if not quota:
        return
    used = Prediction.objects.owned_by(user).stored_bytes()
    if used + incoming > quota:
        raise UploadRejected(
            "quota_exceeded",
            f"Your uploads use {used / 1e6:.0f} MB of your {quota / 1e6:.0f} MB of storage, and "
            "this one does not fit. Delete some uploads in your history to make room.",
        )


def prediction_create(
    *,
    user: AbstractBaseUser,
    image_file: BinaryIO,
    original_filename: str = "",
    source: str = Prediction.Source.UPLOAD,
    mode: str = Prediction.Mode.AUTO,
) -> Prediction:
    """Validate, store and read one upload, as one digit, a number, or whatever it holds (`mode`).

    Bad input raises UploadRejected and leaves nothing behind. A usable upload is kept even if
    prediction fails: the row is marked failed with the reason and `repredict` finishes it later.
    """
    _check_mode(mode)
    upload = _prepare(image_file, original_filename, mode, user)
    _check_quota(user, upload.stored_bytes)
    return _store(user=user, upload=upload, source=source)


def _check_mode(mode: str) -> None:
    if mode not in Prediction.Mode.values:
        raise UploadRejected(
            "invalid_mode", f"The mode must be one of: {', '.join(Prediction.Mode.values)}."
        )


def _store(*, user: AbstractBaseUser, upload: PreparedUpload, source: str) -> Prediction:
    prediction = Prediction(
        owner=user,
        original_filename=Path(upload.original_filename or "").name[:255],
        source=source,
        mode=upload.mode,
        stored_bytes=upload.stored_bytes,
    )
    # The model ran before anything is written, so the row is written once, with its result or
    # the reason it has none, instead of as pending and then updated.
    digits = _apply(prediction, upload.result)
    # Files first, then the rows; if the rows cannot be written, the files go too. The upload is
    # one INSERT and its digits one more, in one transaction: reading is not a label change, so
    # it writes no label history (bulk_create; the "before" goes on record at the first change).
    prediction.image.save("upload.png", ContentFile(upload.png), save=False)
    try:
        prediction.thumbnail.save("thumb.png", ContentFile(upload.thumbnail), save=False)
        with transaction.atomic():
            prediction.save()
            Digit.objects.bulk_create(digits)
    except BaseException:
        images.delete_files(prediction.image, prediction.thumbnail)
        raise
    _log_result(prediction, upload.result)
    return prediction


def prediction_run(*, prediction: Prediction) -> Prediction:
    """Read a stored upload again (`repredict`) in the mode it was sent with, and record the
    result, or why it failed. Labels of its digits are kept where the digits stay the same."""
    try:
        with prediction.image.open("rb") as fh:
            image = images.load_stored(fh)
        result = image_read(
            image, mode=prediction.mode, stored_size=image.size, user=prediction.owner
        )
    except UploadRejected as exc:
        result = ReadResult(failure=str(exc))
    except Exception as exc:
        logger.exception("stored_image_unreadable prediction=%s", prediction.pk)
        result = ReadResult(failure=f"The stored image cannot be read ({type(exc).__name__}).")
    old = {d.position: d for d in prediction.digits.all()}
    digits = _apply(prediction, result)
    if result.reading is None:
        digits = []  # a failed re-read keeps the digits it had
    elif len(old) == len(digits):
        for digit in digits:
            before = old[digit.position]
            for name in LABEL_FIELDS:
                setattr(digit, name, getattr(before, name))
    with transaction.atomic():
        prediction.save(update_fields=RESULT_FIELDS)
        if digits:
            prediction.digits.all().delete()
            Digit.objects.bulk_create(digits)
    _log_result(prediction, result)
    return prediction


LABEL_FIELDS = [
    "user_label",
    "user_label_at",
    "true_label",
    "reviewed_by_id",
    "reviewed_at",
    "excluded_from_training",
]


def _apply(prediction: Prediction, result: ReadResult) -> list[Digit]:
    """Set the reading (or the failure) on the unsaved or re-read instance; return its digits,
    unsaved."""
    reading = result.reading
    if reading is None:
        _mark_failed(prediction, result.failure)
        return []
    alone = result.model_probabilities or [None] * len(reading.digits)
    digits = [
        Digit(
            prediction=prediction,
            position=position,
            x0=box[0],
            y0=box[1],
            x1=box[2],
            y1=box[3],
            model_input=images.model_input_to_bytes(d.model_input),
            digit=d.digit,
            confidence=d.confidence,
            probabilities=list(d.probabilities),
            low_confidence=d.low_confidence,
            model_digit=None if row is None else max(range(10), key=row.__getitem__),
            model_probabilities=None if row is None else list(row),
        )
        for position, (d, box, row) in enumerate(
            zip(reading.digits, result.boxes, alone, strict=True)
        )
    ]
    prediction.text = reading.text
    prediction.model_version = result.model_version
    prediction.predict_ms = result.predict_ms
    prediction.personal_corrections = result.personal_corrections
    prediction.status = Prediction.Status.DONE
    prediction.error_message = ""
    return digits


def _mark_failed(prediction: Prediction, message: str) -> None:
    prediction.status = Prediction.Status.FAILED
    prediction.error_message = message


def _log_result(prediction: Prediction, reading: ReadResult) -> None:
    done = reading.reading
    fields = {
        "prediction": prediction.pk,
        "model_version": prediction.model_version.version if prediction.model_version else None,
        "digit": done.digits[0].digit if done and len(done.digits) == 1 else None,
        "text": prediction.text,
        "predict_ms": None if prediction.predict_ms is None else round(prediction.predict_ms, 2),
    }
    # `request_fields` is read by the request log (digitsite.middleware): structured, not parsed.
    if prediction.status == Prediction.Status.DONE:
        logger.info(
            "prediction_done prediction=%s user=%s source=%s model_version=%s digit=%s text=%s "
            "confidence=%.3f predict_ms=%.2f",
            prediction.pk,
            prediction.owner_id,
            prediction.source,
            prediction.model_version.version,
            fields["digit"],
            prediction.text,
            done.confidence,
            prediction.predict_ms,
            extra={"request_fields": fields},
        )
    else:
        logger.warning(
            "prediction_failed prediction=%s user=%s source=%s reason=%s",
            prediction.pk,
            prediction.owner_id,
            prediction.source,
            prediction.error_message,
            extra={"request_fields": {"prediction": prediction.pk}},
        )


def prediction_delete(*, prediction: Prediction) -> None:
    """Delete the row; its files follow once that is committed (recognizer.signals)."""
    with transaction.atomic():
        prediction.delete()


class ClaimIsNoCorrection(ValueError):
    """The owner claimed the digit the model already read: that corrects nothing, yet a claim
    puts the upload at the head of the staff queue."""


def prediction_feedback(
    *, prediction: Prediction, label: int, position: int | None = None
) -> Prediction:
    """The owner says a digit of the reading is wrong (`position`, from 0 at the left; it may be
    left out when one digit was read) and names the right one; staff review it later."""
    if int(label) not in Label.values:
        raise ValueError(LABEL_RULE)
    digits = list(prediction.digits.all())
    if not digits:
        raise ValueError("Nothing was read here yet, so there is no digit to correct.")
    if position is None and len(digits) > 1:
        raise ValueError("Say which digit is wrong: its position, 0 for the leftmost.")
    if position is not None and not 0 <= position < len(digits):
        raise ValueError(f"This reading has no digit at position {position}.")
    digit = digits[position or 0]
    if digit.digit == int(label):
        which = f"digit {position + 1}" if len(digits) > 1 else "this"
        raise ClaimIsNoCorrection(
            f"Digits already read {which} as {label}. If {label} is right, there is nothing to "
            "correct; if not, choose the digit it really is."
        )
    label_change_save(
        digit,
        by=prediction.owner,
        reason="owner feedback",
        user_label=int(label),
        user_label_at=timezone.now(),
    )
    return prediction


class BatchUploadRejected(UploadRejected):
    """One file of a batch is not a usable image (`index`, `filename` say which). Nothing stored."""

    def __init__(self, *, index: int, filename: str, code: str, message: str):
        super().__init__(code, message)
        self.index = index
        self.filename = filename


def predictions_create_batch(
    *,
    user: AbstractBaseUser,
    files: list[tuple[BinaryIO, str]],
    source: str = Prediction.Source.UPLOAD,
    mode: str = Prediction.Mode.AUTO,
) -> list[Prediction]:
    """Create one prediction per (file, original filename), all or nothing for bad input.

    Every file is decoded, checked and encoded before any is stored, so a batch with one bad file
    leaves nothing behind and the client can resend it fixed. Each file is decoded once. So that
    one request cannot keep a worker past its timeout, the pixels the batch's decodes will make
    are bounded first, from the headers, and the reading stops once the batch has taken
    UPLOAD_BATCH_MAX_SECONDS (whatever the images hold).
    """
    total = sum(images.decoded_pixels(image_file) for image_file, _ in files)
    budget = settings.UPLOAD_BATCH_MAX_PIXELS
    if total > budget:
        raise UploadRejected(
            "too_many_pixels",
            f"The images of this batch hold {total / 1e6:.0f} million pixels together; a batch "
            f"may hold at most {budget / 1e6:.0f} million. Send fewer or smaller images at a "
            "time. Nothing was stored.",
        )
    _check_mode(mode)
    started = time.monotonic()
    prepared: list[PreparedUpload] = []
    for index, (image_file, filename) in enumerate(files):
        if index and time.monotonic() - started > settings.UPLOAD_BATCH_MAX_SECONDS:
            raise UploadRejected(
                "batch_too_slow",
                f"This batch took more than {settings.UPLOAD_BATCH_MAX_SECONDS:g} seconds to "
                f"read, after {index} of its {len(files)} files. Nothing was stored; send "
                "fewer images at a time.",
            )
        try:
            prepared.append(_prepare(image_file, filename, mode, user))
        except UploadRejected as exc:
            raise BatchUploadRejected(
                index=index, filename=filename, code=exc.code, message=exc.message
            ) from exc
    _check_quota(user, sum(upload.stored_bytes for upload in prepared))

    created: list[Prediction] = []
    try:
        for upload in prepared:
            created.append(_store(user=user, upload=upload, source=source))
    except BaseException:
        for prediction in created:
            prediction_delete(prediction=prediction)
        raise
    return created
