"""The one seam between the site and `ml`: read an upload's decoded image with the active model.

It gets the model from the registry, reads (with the uploading user's corrections, see
recognizer.personal), times the reading, and turns `ml`'s refusals (no digit, several lines, too
many marks, not a digit) into the site's UploadRejected. Nothing else in the site runs the model
or the segmenter.
"""

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ml import crop, decode
from ml.digitness import NOT_A_DIGIT_CODE, NOT_A_DIGIT_MESSAGE
from ml.personal import Memory, PersonalModel
from ml.predict import LOW_CONFIDENCE_THRESHOLD
from ml.reading import Reading, read_image, segment

from . import registry
from .images import UploadRejected
from .models import ModelVersion
from .personal import personal_memory

logger = logging.getLogger(__name__)


@dataclass
class ReadResult:
    """The active model's reading of an image, or why there is none (`failure`). Boxes are in
    the stored image's pixels."""

    reading: Reading | None = None
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    model_version: ModelVersion | None = None
    predict_ms: float | None = None
    failure: str = ""
    # Read with this many of the owner's corrections (0: the model alone), and then what the
    # model alone said of each digit.
    personal_corrections: int = 0
    model_probabilities: list[tuple[float, ...]] | None = None


def image_read(
    image: Image.Image, *, mode: str, stored_size: tuple[int, int], user=None
) -> ReadResult:
    """Read the decoded image with the active model and `user`'s own corrections. Refusals (no
    digit, several lines, too many marks, a mark like those the user said are not digits) raise
    UploadRejected whether or not a model is usable; a missing or failing model is a `failure`,
    and the upload is kept to be read later."""
    try:
        version, model = registry.get_active_model()
    except registry.ModelUnavailable as exc:
        check_readable(image, mode=mode)
        return ReadResult(failure=str(exc))
    started = time.perf_counter()
    memory = personal_memory(user=user)
    try:
        reading, alone = personal_read(image, model, mode=mode, memory=memory)
    except UploadRejected:
        raise
    except Exception as exc:
        logger.exception("prediction_error mode=%s", mode)
        check_readable(image, mode=mode)
        return ReadResult(failure=f"Prediction failed unexpectedly ({type(exc).__name__}).")
    elapsed_ms = (time.perf_counter() - started) * 1000
    boxes = [scale_box(d.box, image.size, stored_size) for d in reading.digits]
    return ReadResult(
        reading=reading,
        boxes=boxes,
        model_version=version,
        predict_ms=elapsed_ms,
        personal_corrections=len(memory),
        model_probabilities=alone,
    )


def model_read(image: Image.Image, model, *, mode: str) -> Reading:
    """`model`'s reading of the image (the `classify` command passes a model of its own)."""
    threshold = getattr(model, "low_confidence_threshold", LOW_CONFIDENCE_THRESHOLD)
    try:
        return read_image(image, model, mode=mode, low_confidence_threshold=threshold)
    except decode.ImageRejected as exc:
        raise UploadRejected(exc.code, exc.message) from exc


def personal_read(
    image: Image.Image, model, *, mode: str, memory: Memory
) -> tuple[Reading, list[tuple[float, ...]] | None]:
    """`model_read` with a user's `memory` of corrections when it holds any, and then what the
    model alone said of each digit (None when the memory is empty: the model alone read it).
    A reading whose every digit is closest to a mark the user said is not a digit is refused."""
    if not len(memory):
        return model_read(image, model, mode=mode), None
    reader = PersonalModel(model, memory)
    reading = model_read(image, reader, mode=mode)
    proba, refused = reader.model_alone(np.stack([d.model_input for d in reading.digits]))
    if refused.all():
        # Every mark is closest to one the user said is not a digit: ml's own refusal.
        raise UploadRejected(NOT_A_DIGIT_CODE, NOT_A_DIGIT_MESSAGE)
    return reading, [tuple(float(p) for p in row) for row in proba]


def check_readable(image: Image.Image, *, mode: str) -> None:
    """Refuse, as reading would, an image that holds nothing to read, without a model (when none
    is usable the upload is kept and read later; a refusal must not wait for that). Without a
    model a wide mark is not cut, so this checks the lines and marks, not the digits' count."""
    try:
        if mode == "digit":
            crop.locate_digit(image)
            return
        try:
            segment(image)
        except decode.NoDigitFound:
            if mode == "number":
                raise
            crop.locate_digit(image)
    except decode.ImageRejected as exc:
        raise UploadRejected(exc.code, exc.message) from exc


def scale_box(
    box: tuple[int, int, int, int], source: tuple[int, int], target: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A box in `source`-sized pixels as the box covering the same ink in `target`-sized ones
    (the stored copy may be smaller than the decoded upload)."""
    if source == target:
        return box
    sx, sy = target[0] / source[0], target[1] / source[1]
    x0, y0, x1, y1 = box
    return (
        max(0, math.floor(x0 * sx)),
        max(0, math.floor(y0 * sy)),
        min(target[0], math.ceil(x1 * sx)),
        min(target[1], math.ceil(y1 * sy)),
    )
