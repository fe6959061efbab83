"""Every write to Predictions and ModelVersions goes through here."""

import contextlib
import io
import logging
import time
from pathlib import Path
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from ml import preprocess
from ml.predict import LOW_CONFIDENCE_THRESHOLD

from . import artifacts, registry
from .models import ModelVersion, Prediction

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (128, 128)
# zlib level 1 instead of Pillow's 6: 2-3x faster to encode (26 -> 8 ms for a photo decoded from a
# 12 MP JPEG), files about 35% bigger; the stored PNGs stay lossless.
PNG_COMPRESS_LEVEL = 1
# Box-reduce by an integer factor before the Lanczos filter whenever the image is at least twice
# the thumbnail: half the cost of filtering from full size, no visible difference at 128 px.
THUMBNAIL_REDUCING_GAP = 1.0


# What a prediction (or its failure) sets on an upload; repredict saves exactly these.
_RESULT_FIELDS = [
    "digit",
    "confidence",
    "probabilities",
    "low_confidence",
    "model_version",
    "predict_ms",
    "status",
    "error_message",
]


class UploadRejected(Exception):
    """The upload is not a usable image. Nothing was stored."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _storable(image: Image.Image) -> Image.Image:
    """A copy of the decoded image in a mode PNG can hold, transparency kept."""
    if image.mode in ("RGB", "RGBA"):
        return _grey_if_lossless(image)
    if image.mode in ("L", "LA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max()
        scaled = array * (255.0 / top) if top > 255 else array
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")


def _grey_if_lossless(image: Image.Image) -> Image.Image:
    """An opaque colour image whose pixels are all grey, as one plane: the same pixels, a third
    of the data to compress (drawings from the pad and scans arrive as RGB or RGBA)."""
    pixels = np.asarray(image)
    if image.mode == "RGBA" and not (pixels[..., 3] == 255).all():
        return image
    if (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
        return Image.fromarray(np.ascontiguousarray(pixels[..., 1]), mode="L")
    return image


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Pillow copies a source's ICC profile into the PNG unless told not to: metadata is dropped.
    image.save(
        buffer, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL, icc_profile=None
    )
    return buffer.getvalue()


def _thumbnail_bytes(image: Image.Image) -> bytes:
    thumb = image.copy()
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", thumb.size, (255, 255, 255, 255))
        background.alpha_composite(thumb.convert("RGBA"))
        thumb = background.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS, reducing_gap=THUMBNAIL_REDUCING_GAP)
    return _png_bytes(thumb)


def decode_upload(image_file: BinaryIO) -> tuple[Image.Image, np.ndarray]:
    """Decode and validate an upload; return the image and the model's 28x28 input.

    The web form, the API and `classify` all come through here, so they accept and refuse alike.
    """
    try:
        image = preprocess.load_image(
            image_file,
            max_bytes=settings.UPLOAD_MAX_BYTES,
            max_pixels=settings.UPLOAD_MAX_PIXELS,
        )
        model_input = preprocess.to_mnist(image)
    except preprocess.ImageRejected as exc:
        raise UploadRejected(exc.code, exc.message) from exc
    return image, model_input


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
    image, model_input = decode_upload(image_file)
    stored = _storable(image)
    png = _png_bytes(stored)
    thumbnail = _thumbnail_bytes(stored)

    prediction = Prediction(
        owner=user,
        original_filename=Path(original_filename or "").name[:255],
        source=source,
        model_input=(model_input * 255).round().astype(np.uint8).tobytes(),
    )
    # The model runs in this process in well under a millisecond, so the row is written once,
    # with its result or the reason it has none, instead of as pending and then updated.
    _predict(prediction, model_input)
    # Files first, then the row; if the row cannot be written, the files go too. The row is one
    # INSERT, outside a transaction: an upload is not a label change, so it writes no label
    # history (its "before" state goes on record at the first change, _label_history_start).
    prediction.image.save("upload.png", ContentFile(png), save=False)
    try:
        prediction.thumbnail.save("thumb.png", ContentFile(thumbnail), save=False)
        with _no_label_history(prediction):
            prediction.save()
    except BaseException:
        _delete_files(prediction)
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
    with _no_label_history(prediction):
        prediction.save(update_fields=_RESULT_FIELDS)
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
    prediction.digit = digit
    prediction.confidence = probs[digit]
    prediction.probabilities = probs
    prediction.low_confidence = probs[digit] < LOW_CONFIDENCE_THRESHOLD
    prediction.model_version = version
    prediction.predict_ms = elapsed_ms
    prediction.status = Prediction.Status.DONE
    prediction.error_message = ""


def _mark_failed(prediction: Prediction, message: str) -> None:
    prediction.status = Prediction.Status.FAILED
    prediction.error_message = message


def _log_result(prediction: Prediction) -> None:
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
        )
    else:
        logger.warning(
            "prediction_failed prediction=%s user=%s source=%s reason=%s",
            prediction.pk,
            prediction.owner_id,
            prediction.source,
            prediction.error_message,
        )


def _model_input_from_storage(prediction: Prediction) -> np.ndarray:
    with prediction.image.open("rb") as fh:
        _, model_input = decode_upload(fh)
    return model_input


@contextlib.contextmanager
def _no_label_history(prediction: Prediction):
    """Save without a label-history row: storing an upload and the model's result (or failure)
    are not label changes, and skipping them saves a transaction on every upload."""
    prediction.skip_history_when_saving = True
    try:
        yield
    finally:
        del prediction.skip_history_when_saving


def _label_history_start(prediction: Prediction) -> None:
    """Before an upload's first label change, record its labels as stored, so the change has a
    "from" in the history. Read from the database: callers may have changed the instance."""
    if Prediction.history.filter(id=prediction.pk).exists():
        return
    stored = Prediction.objects.select_related("owner").get(pk=prediction.pk)
    Prediction.history.bulk_history_create(
        [stored],
        default_user=stored.owner,
        default_change_reason="upload",
        default_date=stored.created_at,
    )


def _delete_files(prediction: Prediction) -> None:
    for field in (prediction.image, prediction.thumbnail):
        if field.name:
            field.storage.delete(field.name)


def prediction_delete(*, prediction: Prediction) -> None:
    names = [(f.storage, f.name) for f in (prediction.image, prediction.thumbnail) if f.name]
    with transaction.atomic():
        prediction.delete()
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])


def prediction_review(
    *, prediction: Prediction, label: int | None, reviewer: AbstractBaseUser
) -> Prediction:
    if label is not None and not 0 <= int(label) <= 9:
        raise ValueError("A label is a digit from 0 to 9.")
    _label_history_start(prediction)
    prediction.true_label = None if label is None else int(label)
    prediction.reviewed_by = None if label is None else reviewer
    prediction.reviewed_at = None if label is None else timezone.now()
    # Every caller (admin, review screen, API, commands) gets the reviewer into the label history,
    # with or without a request in flight.
    prediction._history_user = reviewer
    prediction._change_reason = "review"
    prediction.save(update_fields=["true_label", "reviewed_by", "reviewed_at"])
    return prediction


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


def prediction_exclude(
    *, prediction: Prediction, reviewer: AbstractBaseUser, excluded: bool = True
) -> Prediction:
    """Mark an upload as junk (or take it back): it never becomes training data."""
    _label_history_start(prediction)
    prediction.excluded_from_training = excluded
    prediction.reviewed_by = reviewer
    prediction.reviewed_at = timezone.now()
    prediction._history_user = reviewer
    prediction._change_reason = "exclude" if excluded else "include"
    prediction.save(update_fields=["excluded_from_training", "reviewed_by", "reviewed_at"])
    return prediction


def predictions_exclude(*, predictions, reviewer: AbstractBaseUser) -> int:
    count = 0
    for prediction in predictions:
        prediction_exclude(prediction=prediction, reviewer=reviewer)
        count += 1
    return count


def prediction_feedback(*, prediction: Prediction, label: int) -> Prediction:
    """The owner says the prediction is wrong and names the digit; staff review it later."""
    if not 0 <= int(label) <= 9:
        raise ValueError("A label is a digit from 0 to 9.")
    _label_history_start(prediction)
    prediction.user_label = int(label)
    prediction.user_label_at = timezone.now()
    prediction._history_user = prediction.owner
    prediction._change_reason = "owner feedback"
    prediction.save(update_fields=["user_label", "user_label_at"])
    return prediction


def model_version_register(
    *,
    version: str,
    artifact_path: str,
    sha256: str,
    params: dict,
    metrics: dict,
    activate: bool = True,
    **extra,
) -> ModelVersion:
    # Files before the row: once a version can be activated, every server can fetch it.
    artifacts.publish(artifact_path)
    with transaction.atomic():
        model_version = ModelVersion.objects.create(
            version=version,
            artifact_path=artifact_path,
            sha256=sha256,
            params=params,
            metrics=metrics,
            **extra,
        )
        if activate:
            model_version_activate(model_version=model_version)
    return model_version


def model_version_activate(*, model_version: ModelVersion, note: str = "") -> ModelVersion:
    with transaction.atomic():
        # Retire first: the partial unique index allows only one active row at any moment.
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(
            pk=model_version.pk
        ).update(status=ModelVersion.Status.RETIRED)
        model_version.status = ModelVersion.Status.ACTIVE
        model_version.status_note = note
        model_version.save(update_fields=["status", "status_note"])
    return model_version


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

    Every file is decoded and checked before any is stored, so a batch with one bad file leaves
    nothing behind and the client can resend it fixed. Each file then goes through
    prediction_create, the one upload path.
    """
    for index, (image_file, filename) in enumerate(files):
        try:
            decode_upload(image_file)
        except UploadRejected as exc:
            raise BatchUploadRejected(
                index=index, filename=filename, code=exc.code, message=exc.message
            ) from exc
        image_file.seek(0)

    created: list[Prediction] = []
    try:
        for image_file, filename in files:
            created.append(
                prediction_create(
                    user=user, image_file=image_file, original_filename=filename, source=source
                )
            )
    except BaseException:
        for prediction in created:
            prediction_delete(prediction=prediction)
        raise
    return created
