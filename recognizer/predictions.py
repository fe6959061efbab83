"""The write path of an upload: create (one or a batch), predict again, delete, owner feedback."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from ml.predict import LOW_CONFIDENCE_THRESHOLD

from . import images, registry
from .history import label_history_start, no_label_history
from .images import UploadRejected
from .models import Prediction

logger = logging.getLogger(__name__)

# What a prediction (or its failure) sets on an upload; repredict saves exactly these.
RESULT_FIELDS = [
    "digit",
    "confidence",
    "probabilities",
    "low_confidence",
    "model_version",
    "predict_ms",
    "status",
    "error_message",
]


@dataclass
class PreparedUpload:
    """An upload decoded, checked and encoded for storage: all that is needed to store it."""

    png: bytes
    thumbnail: bytes
    model_input: np.ndarray
    original_filename: str = ""

    @property
    def stored_bytes(self) -> int:
        return len(self.png) + len(self.thumbnail)


def _prepare(image_file: BinaryIO, original_filename: str) -> PreparedUpload:
    image, model_input = images.decode_upload(image_file)
    stored = images.storable(image)
    return PreparedUpload(
        png=images.png_bytes(stored),
        thumbnail=images.thumbnail_bytes(stored),
        model_input=model_input,
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
) -> Prediction:
    """Validate, store and predict one upload.

    Bad input raises UploadRejected and leaves nothing behind. A usable upload is kept even if
    prediction fails: the row is marked failed with the reason and `repredict` finishes it later.
    """
    upload = _prepare(image_file, original_filename)
    _check_quota(user, upload.stored_bytes)
    return _store(user=user, upload=upload, source=source)


def _store(*, user: AbstractBaseUser, upload: PreparedUpload, source: str) -> Prediction:
    prediction = Prediction(
        owner=user,
        original_filename=Path(upload.original_filename or "").name[:255],
        source=source,
        model_input=images.model_input_to_bytes(upload.model_input),
        stored_bytes=upload.stored_bytes,
    )
    # The model runs in this process in well under a millisecond, so the row is written once,
    # with its result or the reason it has none, instead of as pending and then updated.
    _predict(prediction, upload.model_input)
    # Files first, then the row; if the row cannot be written, the files go too. The row is one
    # INSERT, outside a transaction: an upload is not a label change, so it writes no label
    # history (its "before" state goes on record at the first change, label_history_start).
    prediction.image.save("upload.png", ContentFile(upload.png), save=False)
    try:
        prediction.thumbnail.save("thumb.png", ContentFile(upload.thumbnail), save=False)
        with no_label_history(prediction):
            prediction.save()
    except BaseException:
        images.delete_files(prediction.image, prediction.thumbnail)
        raise
    _log_result(prediction)
    return prediction


def prediction_run(*, prediction: Prediction) -> Prediction:
    """Predict a stored upload again (`repredict`) and record the result, or why it failed."""
    try:
        model_input = _model_input_from_storage(prediction)
    except UploadRejected as exc:
        _mark_failed(prediction, str(exc))
    except Exception as exc:
        logger.exception("stored_image_unreadable prediction=%s", prediction.pk)
        _mark_failed(prediction, f"The stored image cannot be read ({type(exc).__name__}).")
    else:
        _predict(prediction, model_input)
    with no_label_history(prediction):
        prediction.save(update_fields=RESULT_FIELDS)
    _log_result(prediction)
    return prediction


def _predict(prediction: Prediction, model_input: np.ndarray) -> None:
    """Set the active model's result on the (unsaved) instance, or mark it failed."""
    try:
        version, model = registry.get_active_model()
        started = time.perf_counter()
        probabilities = model.predict_proba(model_input)
        elapsed_ms = (time.perf_counter() - started) * 1000
    except registry.ModelUnavailable as exc:
        _mark_failed(prediction, str(exc))
        return
    except Exception as exc:
        logger.exception("prediction_error user=%s", prediction.owner_id)
        _mark_failed(prediction, f"Prediction failed unexpectedly ({type(exc).__name__}).")
        return

    probs = [float(p) for p in probabilities]
    digit = int(np.argmax(probabilities))
    threshold = getattr(model, "low_confidence_threshold", LOW_CONFIDENCE_THRESHOLD)
    prediction.digit = digit
    prediction.confidence = probs[digit]
    prediction.probabilities = probs
    prediction.low_confidence = probs[digit] < threshold
    prediction.model_version = version
    prediction.predict_ms = elapsed_ms
    prediction.status = Prediction.Status.DONE
    prediction.error_message = ""


def _mark_failed(prediction: Prediction, message: str) -> None:
    prediction.status = Prediction.Status.FAILED
    prediction.error_message = message


def _log_result(prediction: Prediction) -> None:
    fields = {
        "prediction": prediction.pk,
        "model_version": prediction.model_version.version if prediction.model_version else None,
        "digit": prediction.digit,
        "predict_ms": None if prediction.predict_ms is None else round(prediction.predict_ms, 2),
    }
    # `request_fields` is read by the request log (digitsite.middleware): structured, not parsed.
    if prediction.status == Prediction.Status.DONE:
        logger.info(
            "prediction_done prediction=%s user=%s source=%s model_version=%s digit=%s "
            "confidence=%.3f predict_ms=%.2f",
            prediction.pk,
            prediction.owner_id,
            prediction.source,
            prediction.model_version.version,
            prediction.digit,
            prediction.confidence,
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


def _model_input_from_storage(prediction: Prediction) -> np.ndarray:
    with prediction.image.open("rb") as fh:
        _, model_input = images.decode_stored(fh)
    return model_input


def prediction_delete(*, prediction: Prediction) -> None:
    """Delete the row; its files follow once that is committed (recognizer.signals)."""
    with transaction.atomic():
        prediction.delete()


def prediction_feedback(*, prediction: Prediction, label: int) -> Prediction:
    """The owner says the prediction is wrong and names the digit; staff review it later."""
    if not 0 <= int(label) <= 9:
        raise ValueError("A label is a digit from 0 to 9.")
    label_history_start(prediction)
    prediction.user_label = int(label)
    prediction.user_label_at = timezone.now()
    prediction._history_user = prediction.owner
    prediction._change_reason = "owner feedback"
    prediction.save(update_fields=["user_label", "user_label_at"])
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
) -> list[Prediction]:
    """Create one prediction per (file, original filename), all or nothing for bad input.

    Every file is decoded, checked and encoded before any is stored, so a batch with one bad file
    leaves nothing behind and the client can resend it fixed. Each file is decoded once, and the
    batch's pixels together are bounded first, from the headers, so that one request cannot keep
    a worker decoding past its timeout.
    """
    total = sum(images.header_pixels(image_file) for image_file, _ in files)
    budget = settings.UPLOAD_BATCH_MAX_PIXELS
    if total > budget:
        raise UploadRejected(
            "too_many_pixels",
            f"The images of this batch hold {total / 1e6:.0f} million pixels together; a batch "
            f"may hold at most {budget / 1e6:.0f} million. Send fewer or smaller images at a "
            "time. Nothing was stored.",
        )
    prepared: list[PreparedUpload] = []
    for index, (image_file, filename) in enumerate(files):
        try:
            prepared.append(_prepare(image_file, filename))
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
