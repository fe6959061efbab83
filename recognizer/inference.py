"""The one seam between the site and `ml`: read an upload's decoded image with the active model.

It gets the model from the registry, reads, times the reading, and turns `ml`'s refusals (no
digit, several lines, too many marks) into the site's UploadRejected. Nothing else in the site
runs the model or the segmenter.
"""

import logging
import math
import time
from dataclasses import dataclass, field

from PIL import Image

from ml import crop, decode
from ml.predict import LOW_CONFIDENCE_THRESHOLD
from ml.reading import Reading, read_image, segment

from . import registry
from .images import UploadRejected
from .models import ModelVersion

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


def image_read(image: Image.Image, *, mode: str, stored_size: tuple[int, int]) -> ReadResult:
    """Read the decoded image with the active model. Refusals (no digit, several lines, too many
    marks) raise UploadRejected whether or not a model is usable; a missing or failing model is
    a `failure`, and the upload is kept to be read later."""
    try:
        version, model = registry.get_active_model()
    except registry.ModelUnavailable as exc:
        check_readable(image, mode=mode)
        return ReadResult(failure=str(exc))
    started = time.perf_counter()
    try:
        reading = model_read(image, model, mode=mode)
    except UploadRejected:
        raise
    except Exception as exc:
        logger.exception("prediction_error mode=%s", mode)
        check_readable(image, mode=mode)
        return ReadResult(failure=f"Prediction failed unexpectedly ({type(exc).__name__}).")
    elapsed_ms = (time.perf_counter() - started) * 1000
    boxes = [scale_box(d.box, image.size, stored_size) for d in reading.digits]
    return ReadResult(reading=reading, boxes=boxes, model_version=version, predict_ms=elapsed_ms)


def model_read(image: Image.Image, model, *, mode: str) -> Reading:
    """`model`'s reading of the image (the `classify` command passes a model of its own)."""
    threshold = getattr(model, "low_confidence_threshold", LOW_CONFIDENCE_THRESHOLD)
    try:
        return read_image(image, model, mode=mode, low_confidence_threshold=threshold)
    except decode.ImageRejected as exc:
        raise UploadRejected(exc.code, exc.message) from exc


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
