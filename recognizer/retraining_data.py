"""The retraining data: which reviewed digits train a candidate and which score it, as arrays.

A candidate trains on the reviewed digits of uploads not excluded, plus shifted and rotated
copies of them; one reviewed upload in HELDOUT_MODULUS is kept out to score it honestly.
"""

import hashlib
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Max, QuerySet
from scipy import ndimage

from ml.digitness import CLASSES
from ml.digitness_data import Examples, concat, folds_by_upload, load_examples

from .models import Digit, Label

# One reviewed upload in HELDOUT_MODULUS is kept out of training to score candidates honestly.
HELDOUT_MODULUS = 5
# Augmented copies are shifted by up to this many pixels and rotated by up to this many degrees.
MAX_SHIFT = 2
MAX_ROTATION = 12.0


def is_heldout(prediction_id: int) -> bool:
    """Stable across runs and processes, so a reviewed digit is never trained on and tested on.
    By upload, not by digit: a number's digits share a writer, and a candidate trained on some
    of them would be tested on their siblings. One-digit uploads keep the split they had."""
    digest = hashlib.sha256(str(prediction_id).encode()).hexdigest()
    return int(digest, 16) % HELDOUT_MODULUS == 0


def split_reviewed(
    digits: QuerySet[Digit] | None = None,
) -> tuple[list[Digit], list[Digit]]:
    """(training, held-out) among the reviewed digits of uploads not excluded."""
    if digits is None:
        digits = Digit.objects.training_usable()
    rows = list(
        digits.order_by("prediction_id", "position").only(
            "id", "prediction_id", "position", "true_label", "model_input"
        )
    )
    train = [d for d in rows if not is_heldout(d.prediction_id)]
    heldout = [d for d in rows if is_heldout(d.prediction_id)]
    return train, heldout


def model_inputs(digits: list[Digit]) -> tuple[np.ndarray, np.ndarray]:
    """The stored 28x28 inputs (exactly what the model saw, as uint8) and the reviewed labels."""
    images = np.zeros((len(digits), 28, 28), dtype=np.uint8)
    labels = np.zeros(len(digits), dtype=np.int64)
    for i, digit in enumerate(digits):
        images[i] = digit.model_input_array
        labels[i] = digit.true_label
    return images, labels


def upload_ids(digits: list[Digit]) -> list[int]:
    return sorted({d.prediction_id for d in digits})


def augment(images: np.ndarray, copies: int, *, seed: int = 0) -> np.ndarray:
    """`copies` randomly shifted and rotated versions of each (28, 28) uint8 image, in order."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * copies, 28, 28), dtype=np.uint8)
    k = 0
    for image in images.astype(np.float32):
        for _ in range(copies):
            angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION)
            dy, dx = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=2)
            moved = ndimage.rotate(image, angle, reshape=False, order=1, mode="constant")
            moved = ndimage.shift(moved, (dy, dx), order=0, mode="constant")
            out[k] = np.clip(moved, 0, 255).astype(np.uint8)
            k += 1
    return out


def not_a_digit_examples(first_group: int) -> Examples | None:
    """The marks staff reviewed as "not a digit" (of uploads not excluded), as examples of the
    detector's class "other", each upload its own group; None when there are none."""
    rows = list(
        Digit.objects.filter(true_label=Label.NOT_A_DIGIT, excluded_from_training=False)
        .annotate(
            line_height=Max(F("prediction__digits__y1") - F("prediction__digits__y0")),
            marks=Count("prediction__digits"),
        )
        .order_by("prediction_id", "position")
        .only("prediction_id", "x0", "y0", "x1", "y1", "model_input")
    )
    if not rows:
        return None
    uploads = {pk: first_group + k for k, pk in enumerate(sorted({d.prediction_id for d in rows}))}
    n = len(rows)
    groups = np.array([uploads[d.prediction_id] for d in rows], dtype=np.int64)
    return Examples(
        inputs=np.stack([d.model_input_array for d in rows]).astype(np.float32) / 255,
        boxes=np.array([d.box for d in rows], dtype=np.float64),
        heights=np.array([max(d.line_height, 1) for d in rows], dtype=np.float64),
        lone=np.array([d.marks == 1 for d in rows]),
        labels=np.full(n, CLASSES.index("other"), dtype=np.int64),
        groups=groups,
        right=np.zeros(n, dtype=bool),
        folds=folds_by_upload(groups),
    )


def digitness_examples() -> Examples | None:
    """What the "not a digit" detector learns from: the shipped examples (DIGITNESS_EXAMPLES;
    None when that is empty) plus the reviewed "not a digit" marks."""
    if not settings.DIGITNESS_EXAMPLES:
        return None
    shipped = load_examples(Path(settings.DIGITNESS_EXAMPLES))
    reviewed = not_a_digit_examples(int(shipped.groups.max(initial=-1)) + 1)
    return shipped if reviewed is None else concat([shipped, reviewed])
