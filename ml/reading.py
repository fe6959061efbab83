"""Read a decoded image as one digit or as a whole number: the stages stitched together.

``read_image(image, model)`` is the one entry point: it finds the one digit (``ml.crop``) or
cuts the line into digits (``ml.grouping``, ``ml.search``), and returns a ``Reading`` with the
text, each digit's box, input and probabilities, and the confidence of the whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from PIL import Image

from ml.budget import SearchBudget, check_line_length
from ml.crop import locate_digit
from ml.cuts import Window
from ml.decode import NoDigitFound
from ml.grouping import MAX_MARKS, Group, find_line, find_marks, too_many_marks
from ml.ink import Analysis
from ml.predict import LOW_CONFIDENCE_THRESHOLD
from ml.search import (
    WHOLE_KEEP,
    PredictProba,
    ReadPieces,
    Wholeness,
    model_reads,
    split_group,
    whole_piece,
)

# A line no wider than this for its height holds one digit, whatever its marks.
ONE_DIGIT_ASPECT = 0.85
# A lone digit cut in two is read whole when that is surer by this much.
WHOLE_MARGIN = 0.03
# Two pieces are halves of one digit when one looks this little whole (then HALF_MARGIN).
HALF_BELOW = 0.35
HALF_MARGIN = 0.01
Mode = Literal["auto", "digit", "number"]
MODES: tuple[Mode, ...] = ("auto", "digit", "number")


class Classifier(Protocol):
    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ReadDigit:
    """One digit of a reading.

    ``box`` (x0, y0, x1, y1): the digit's ink in the decoded image's pixels (x1, y1 exclusive).
    ``model_input`` (28, 28) float32 in [0, 1]: what the model saw. ``digit`` 0-9, its
    ``confidence`` (the top probability), ``probabilities`` the 10 class probabilities (floats,
    index = digit), ``low_confidence`` whether ``confidence`` is below the reading's threshold.
    """

    box: tuple[int, int, int, int]
    model_input: np.ndarray
    digit: int
    confidence: float
    probabilities: tuple[float, ...]
    low_confidence: bool


@dataclass(frozen=True)
class Reading:
    """What an image says: ``text`` (the digits left to right, leading zeros kept), ``digits``
    (one ``ReadDigit`` each), ``confidence`` (the product of the digits' confidences),
    ``low_confidence`` (any digit low) and ``mode`` ("digit" when the image was read as a
    single digit by today's digit path, "number" when it was cut into digits)."""

    text: str
    digits: tuple[ReadDigit, ...]
    confidence: float
    low_confidence: bool
    mode: Literal["digit", "number"]


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a line: ``box`` (x0, y0, x1, y1) in the image's pixels (x1, y1 exclusive),
    ``model_input`` (28, 28) float32 in [0, 1] in MNIST's format, and ``probabilities`` (10,)
    when the segmenter already read it with the model (None otherwise)."""

    box: tuple[int, int, int, int]
    model_input: np.ndarray
    probabilities: np.ndarray | None = None


def _reading(
    crops: list[DigitCrop],
    model: Classifier,
    threshold: float,
    mode: Literal["digit", "number"],
) -> Reading:
    if all(c.probabilities is not None for c in crops):
        # The segmenter read them with this model already.
        proba = np.stack([c.probabilities for c in crops]).astype(np.float64, copy=False)
    else:
        batch = np.stack([c.model_input for c in crops]).astype(np.float32, copy=False)
        proba = np.asarray(model.predict_proba(batch), dtype=np.float64).reshape(len(crops), -1)
    digits = []
    for crop, row in zip(crops, proba, strict=True):
        digit = int(np.argmax(row))
        confidence = float(row[digit])
        digits.append(
            ReadDigit(
                box=crop.box,
                model_input=crop.model_input,
                digit=digit,
                confidence=confidence,
                probabilities=tuple(float(p) for p in row),
                low_confidence=confidence < threshold,
            )
        )
    return Reading(
        text="".join(str(d.digit) for d in digits),
        digits=tuple(digits),
        confidence=math.prod(d.confidence for d in digits),
        low_confidence=any(d.low_confidence for d in digits),
        mode=mode,
    )


def _wholeness(crops: list[DigitCrop], wholeness: Wholeness) -> np.ndarray:
    """How much each of ``crops`` looks like one whole digit, in a line as tall as the tallest."""
    boxes = np.array([c.box for c in crops])
    height = float(max(y1 - y0 for _, y0, _, y1 in boxes))
    return wholeness(np.stack([c.model_input for c in crops]), boxes, height)


def _looks_whole(crop: DigitCrop, wholeness: Wholeness | None) -> bool:
    """Whether the one digit ``crop`` found looks whole (not two touching digits), as far as
    the model's wholeness part can tell; True without one."""
    return wholeness is None or bool(_wholeness([crop], wholeness)[0] >= WHOLE_KEEP)


def _one_digit(image: Image.Image, analysis: Analysis | None = None) -> list[DigitCrop]:
    x, box = locate_digit(image, analysis=analysis)
    return [DigitCrop(box=box, model_input=x)]


def read_image(
    image: Image.Image,
    model: Classifier,
    *,
    mode: Mode = "auto",
    low_confidence_threshold: float = LOW_CONFIDENCE_THRESHOLD,
) -> Reading:
    """Read ``image`` (a decoded PIL image, e.g. from ``load_image``) with ``model``.

    ``model.predict_proba`` maps (n, 28, 28) float32 to (n, 10) float64. ``mode``:
    "digit" reads exactly one digit, with the same model input as ``to_mnist(image)``;
    "number" cuts the line into digits, however many; "auto" (default) does what the image
    holds: when the line is one digit it reads it exactly as "digit" mode does.

    Raises ``ImageRejected``: "no_digit" (no digit found), and in "auto"/"number" mode also
    "several_lines" and "too_many_marks" (see ``segment``); "not_a_digit" when the model's
    detector (``ml.digitness``) finds a mark that is not a digit; "not_an_image" when the
    pixels cannot be read. ``ValueError`` for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    reading = _read(image, model, mode, low_confidence_threshold)
    detector = getattr(model, "digitness", None)
    if detector is not None:
        detector.check(
            np.stack([d.model_input for d in reading.digits]),
            [d.box for d in reading.digits],
            lone=reading.mode == "digit",
        )
    return reading


def _read(
    image: Image.Image, model: Classifier, mode: Mode, low_confidence_threshold: float
) -> Reading:
    if mode == "digit":
        return _reading(_one_digit(image), model, low_confidence_threshold, "digit")
    wholeness = model.whole_proba if getattr(model, "wholeness", None) is not None else None
    # Every look at the image at the single-digit scale shares one analysis of it.
    analysis = Analysis(image) if mode == "auto" else None
    if analysis is not None:
        alone = _alone_digit(image, wholeness, analysis)
        if alone is not None:
            return _reading(alone, model, low_confidence_threshold, "digit")
    try:
        crops = segment(
            image,
            predict_proba=model.predict_proba,
            wholeness=wholeness,
            read_pieces=getattr(model, "read_pieces", None) if wholeness is not None else None,
        )
    except NoDigitFound:
        if mode == "number":
            raise
        # A lone stroke the line's rules drop (a 1 as long as a margin line) is still a digit.
        return _reading(_one_digit(image, analysis), model, low_confidence_threshold, "digit")
    one = None
    one_wide = _one_digit_wide(crops)
    if mode == "auto" and (one_wide or len(crops) == 2):
        try:
            one = _one_digit(image, analysis)
        except NoDigitFound:
            # The line's marks passed the segmenter but not the single-digit selection.
            one = None
    # Pieces narrow enough for one digit may still be two that touch.
    whole_ok = one is not None and (len(crops) == 1 or _looks_whole(one[0], wholeness))
    if whole_ok and one_wide:
        return _reading(one, model, low_confidence_threshold, "digit")
    number = _reading(crops, model, low_confidence_threshold, "number")
    if one is not None and len(crops) == 2:
        # A wide lone digit cut in two looks no more whole than two touching digits, but its
        # halves look like halves; two touching digits' pieces look whole.
        halves = _look_like_halves(crops, wholeness)
        if whole_ok or halves:
            whole = _reading(one, model, low_confidence_threshold, "digit")
            if prefer_whole(number, whole, margin=HALF_MARGIN if halves else WHOLE_MARGIN):
                return whole
    return number


def _look_like_halves(crops: list[DigitCrop], wholeness: Wholeness | None) -> bool:
    return wholeness is not None and bool(_wholeness(crops, wholeness).min() < HALF_BELOW)


def prefer_whole(number: Reading, whole: Reading, margin: float = WHOLE_MARGIN) -> bool:
    """Whether a line cut into two digits is better read as the one digit ``whole``: the one
    digit's box holds both pieces and it reads surer than the two together by ``margin``."""
    x0, y0, x1, y1 = whole.digits[0].box
    slack = 0.05 * (y1 - y0)
    holds = all(
        a >= x0 - slack and b >= y0 - slack and c <= x1 + slack and d <= y1 + slack
        for a, b, c, d in (digit.box for digit in number.digits)
    )
    return holds and whole.confidence >= number.confidence + margin


def _alone_digit(
    image: Image.Image, wholeness: Wholeness | None, analysis: Analysis
) -> list[DigitCrop] | None:
    """The common case made cheap: the digit ``to_mnist`` finds, if it is all the ink of the
    image (every mark ``find_marks`` keeps lies in its box), no wider than one digit can be and
    looks whole. None when the image may hold more (then it is segmented). Costs ``find_marks`` at
    ``to_mnist``'s scale, about half of segmenting the line."""
    try:
        marks = find_marks(image, analysis=analysis)
    except NoDigitFound:
        return None
    ys = np.flatnonzero(marks.mask.any(axis=1))
    xs = np.flatnonzero(marks.mask.any(axis=0))
    mx0, my0, mx1, my1 = marks.image_box((int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1))
    # A number is wider than one digit: it is not worth finding the digit (a third of the cost).
    if mx1 - mx0 > ONE_DIGIT_ASPECT * (my1 - my0):
        return None
    try:
        x, box = locate_digit(image, analysis=analysis)
    except NoDigitFound:
        return None
    x0, y0, x1, y1 = box
    if x1 - x0 > ONE_DIGIT_ASPECT * (y1 - y0):
        return None
    # One analysed pixel of slack each way: the two boxes are rounded from different grids.
    sx, sy = image.width / marks.mask.shape[1], image.height / marks.mask.shape[0]
    inside = mx0 >= x0 - sx and my0 >= y0 - sy and mx1 <= x1 + sx and my1 <= y1 + sy
    crop = DigitCrop(box=box, model_input=x)
    return [crop] if inside and _looks_whole(crop, wholeness) else None


def _one_digit_wide(crops: list[DigitCrop]) -> bool:
    """Whether the line is one mark, or no wider than one digit can be (a 5 whose bar came
    off, a 0 in two strokes): numbers of two or more digits are wider."""
    if len(crops) == 1:
        return True
    x0, y0 = min(c.box[0] for c in crops), min(c.box[1] for c in crops)
    x1, y1 = max(c.box[2] for c in crops), max(c.box[3] for c in crops)
    return x1 - x0 <= ONE_DIGIT_ASPECT * (y1 - y0)


def segment(
    image: Image.Image,
    *,
    predict_proba: PredictProba | None = None,
    wholeness: Wholeness | None = None,
    read_pieces: ReadPieces | None = None,
    budget: SearchBudget | None = None,
) -> list[DigitCrop]:
    """Cut the one line of digits in ``image`` into digit crops, left to right.

    ``predict_proba`` ((n, 28, 28) float32 -> (n, 10) float64, e.g. ``Model.predict_proba``)
    chooses where touching digits are cut; without it the cut goes through the thinnest ink
    and marks narrow enough for one digit are kept whole. ``wholeness`` (e.g.
    ``Model.whole_proba``) weighs how much each candidate piece looks like one whole digit;
    ``read_pieces`` (e.g. ``Model.read_pieces``), if given with both, does the two at once.
    The cut search spends from ``budget`` (by default ``SearchBudget.for_image``).
    Raises ``ImageRejected`` with code ``no_digit`` (no ink), ``several_lines`` (writing on
    more than one line) or ``too_many_marks`` (more than ``MAX_MARKS`` marks in the line, a
    line too long for them, or a layout whose cut search would outrun ``SearchBudget``).
    The line is analysed at ``LINE_LONG_SIDE``, so a crop's model input is close to, not
    bit-identical with, ``to_mnist``'s for the same digit alone.
    """
    line = find_line(image)
    marks, labels, digits, height = line.marks, line.labels, line.digits, line.height
    # The cheap refusals come before the model reads anything.
    check_line_length(digits, height)
    if budget is None:
        budget = SearchBudget.for_image(image.width * image.height)
    crops: list[DigitCrop] = []
    h, w = labels.shape
    windows, wholes = [], []
    for d in digits:
        # Each digit is worked on in a window a little larger than its box (the soft crop's
        # halo is 2 pixels): the same result as on the whole image, for far less work.
        wy0, wy1 = max(0, d.y0 - 3), min(h, d.y1 + 3)
        wx0, wx1 = max(0, d.x0 - 3), min(w, d.x1 + 3)
        window = Window(
            own=np.isin(labels[wy0:wy1, wx0:wx1], d.labels),
            ink=marks.mask[wy0:wy1, wx0:wx1],
            group=Group(d.labels, d.y0 - wy0, d.y1 - wy0, d.x0 - wx0, d.x1 - wx0, d.mass),
            origin=(wy0, wx0),
        )
        windows.append(window)
        wholes.append(whole_piece(marks, window))
    # One call for every mark of the line, each part of the model: most marks are read whole
    # on this alone.
    p_wholes: list[float | None] = [None] * len(wholes)
    probas: list[np.ndarray | None] = [None] * len(wholes)
    found = [k for k, whole in enumerate(wholes) if whole is not None]
    if predict_proba is not None and found:
        budget.spend(calls=1)
        inputs = np.stack([wholes[k][1] for k in found])
        boxes = np.array([wholes[k][0].box for k in found])
        rows, ps = model_reads(inputs, boxes, height, predict_proba, wholeness, read_pieces)
        for k, row in zip(found, rows, strict=True):
            probas[k] = row
        if ps is not None:
            for k, p in zip(found, ps, strict=True):
                p_wholes[k] = float(p)
    for window, whole, p_whole, proba in zip(windows, wholes, p_wholes, probas, strict=True):
        for piece, x, row in split_group(
            marks,
            window,
            height,
            predict_proba,
            alone=len(digits) == 1,
            whole=whole,
            p_whole=p_whole,
            whole_proba=proba,
            wholeness=wholeness,
            read_pieces=read_pieces,
            budget=budget,
        ):
            box = marks.image_box(piece.analysed_box())
            crops.append(DigitCrop(box=box, model_input=x, probabilities=row))
    if len(crops) > MAX_MARKS:
        raise too_many_marks(len(crops))
    if not crops:
        raise NoDigitFound()
    return crops
