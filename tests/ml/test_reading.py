"""read: one digit or a whole number, with each digit's box, input and probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from ml.preprocess import ImageRejected, load_image, locate_digit, to_mnist
from ml.reading import (
    HALF_BELOW,
    HALF_MARGIN,
    WHOLE_MARGIN,
    DigitReading,
    Reading,
    _look_like_halves,
    prefer_whole,
    read,
)
from ml.segment import DigitCrop
from testkit.uploads import KINDS, generate
from tests.ml.test_segment import drawn, line_image


class Always:
    """A stand-in model that reads every crop as ``digit`` with probability ``p``."""

    def __init__(self, digit: int, p: float = 0.9) -> None:
        self.row = np.full(10, (1 - p) / 9)
        self.row[digit] = p

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        assert x.ndim == 3 and x.shape[1:] == (28, 28) and x.dtype == np.float32
        return np.tile(self.row, (len(x), 1))


def _digits(mnist: tuple[np.ndarray, np.ndarray], wanted: tuple[int, ...]) -> list[np.ndarray]:
    images, labels = mnist
    return [images[int(np.flatnonzero(labels == d)[0])] for d in wanted]


@pytest.mark.parametrize("kind", [k for k in KINDS if not k.startswith("blank")])
def test_digit_mode_gives_exactly_to_mnists_input(
    kind: str, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_test_small
    for upload in generate(kind, 1, seed=3, images=images, labels=labels):
        image = load_image(upload.data)
        reading = read(image, Always(4), mode="digit")
        assert len(reading.digits) == 1
        np.testing.assert_array_equal(reading.digits[0].model_input, to_mnist(image))
        assert reading.mode == "digit"


def test_auto_mode_reads_a_single_digit_through_the_digit_path(
    mnist_test_small: tuple[np.ndarray, np.ndarray], ml_result_model
) -> None:
    images, labels = mnist_test_small
    for upload in generate("photo_white_paper", 5, seed=1, images=images, labels=labels):
        image = load_image(upload.data)
        auto = read(image, ml_result_model)
        digit = read(image, ml_result_model, mode="digit")
        assert auto.mode == "digit"
        assert auto.text == digit.text
        np.testing.assert_array_equal(auto.digits[0].model_input, to_mnist(image))
        assert auto.digits[0].box == locate_digit(image)[1]


def test_reading_fields_and_shapes(
    mnist_test_small: tuple[np.ndarray, np.ndarray], ml_result_model
) -> None:
    image = line_image(_digits(mnist_test_small, (7, 0, 3)))
    reading = read(image, ml_result_model, mode="number")
    assert isinstance(reading, Reading)
    assert reading.mode == "number"
    assert len(reading.digits) == 3 and len(reading.text) == 3
    for d, char in zip(reading.digits, reading.text, strict=True):
        assert isinstance(d, DigitReading)
        assert d.model_input.shape == (28, 28) and d.model_input.dtype == np.float32
        assert len(d.probabilities) == 10 and all(isinstance(p, float) for p in d.probabilities)
        assert math.isclose(sum(d.probabilities), 1.0)
        assert d.digit == int(np.argmax(d.probabilities)) and str(d.digit) == char
        assert d.confidence == max(d.probabilities)
        assert d.low_confidence == (d.confidence < 0.5)
        x0, y0, x1, y1 = d.box
        assert all(isinstance(v, int) for v in d.box)
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
    assert [d.box[0] for d in reading.digits] == sorted(d.box[0] for d in reading.digits)
    assert math.isclose(reading.confidence, math.prod(d.confidence for d in reading.digits))
    assert reading.low_confidence == any(d.low_confidence for d in reading.digits)


def test_leading_zeros_are_kept(mnist_test_small: tuple[np.ndarray, np.ndarray]) -> None:
    image = line_image(_digits(mnist_test_small, (0, 0, 4, 2)))
    assert read(image, Always(0)).text == "0000"


def test_auto_mode_reads_a_number_when_the_image_holds_one(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    reading = read(line_image(_digits(mnist_test_small, (1, 2))), Always(5))
    assert reading.mode == "number" and reading.text == "55"


def test_low_confidence_follows_the_threshold(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    image = line_image(_digits(mnist_test_small, (3, 5)))
    sure = read(image, Always(3, p=0.6))
    assert not sure.low_confidence and sure.confidence == pytest.approx(0.36)
    unsure = read(image, Always(3, p=0.6), low_confidence_threshold=0.7)
    assert unsure.low_confidence and all(d.low_confidence for d in unsure.digits)


def test_digit_mode_reads_one_digit_even_from_a_number(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    image = line_image(_digits(mnist_test_small, (4, 2)))
    reading = read(image, Always(2), mode="digit")
    assert reading.text == "2"
    np.testing.assert_array_equal(reading.digits[0].model_input, to_mnist(image))


@pytest.mark.parametrize("mode", ["auto", "number"])
def test_refusals_carry_a_code_and_a_sentence(
    mode: str, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(ImageRejected) as info:
        read(Image.new("RGB", (300, 200), "white"), Always(1), mode=mode)  # type: ignore[arg-type]
    assert info.value.code == "no_digit"
    strokes = [[(40 + 50 * i, 100), (40 + 50 * i, 180)] for i in range(22)]
    with pytest.raises(ImageRejected) as info:
        read(drawn(strokes, size=(1200, 280)), Always(1), mode=mode)  # type: ignore[arg-type]
    assert info.value.code == "too_many_marks"
    assert "22 separate marks" in info.value.message


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        read(Image.new("RGB", (10, 10)), Always(1), mode="page")  # type: ignore[arg-type]


def test_a_lone_dot_is_refused_in_auto_mode(ml_result_model) -> None:
    image = drawn([[(200, 150)]])
    with pytest.raises(ImageRejected) as info:
        read(image, ml_result_model)
    assert info.value.code == "no_digit"


def test_auto_mode_does_not_take_a_number_for_one_digit(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    # The single-digit shortcut must see the second digit, however sure the model is.
    image = line_image(_digits(mnist_test_small, (1, 1)), gap=0.3)
    reading = read(image, Always(1, p=0.99))
    assert reading.mode == "number" and reading.text == "11"


def _made(boxes: list[tuple[int, int, int, int]], confidences: list[float]) -> Reading:
    digits = tuple(
        DigitReading(
            box=box,
            model_input=np.zeros((28, 28), np.float32),
            digit=0,
            confidence=c,
            probabilities=(c,) + (0.0,) * 9,
            low_confidence=False,
        )
        for box, c in zip(boxes, confidences, strict=True)
    )
    return Reading(
        text="0" * len(digits),
        digits=digits,
        confidence=math.prod(confidences),
        low_confidence=False,
        mode="number" if len(digits) > 1 else "digit",
    )


HALVES = [(10, 10, 40, 70), (42, 12, 75, 70)]


def test_a_lone_digit_cut_in_two_reads_whole_when_surer_by_the_margin() -> None:
    # A wide 0 cut into halves read at 0.97 each (0.94 together) and read whole at 0.98.
    number = _made(HALVES, [0.97, 0.97])
    whole = _made([(10, 10, 75, 70)], [number.confidence + WHOLE_MARGIN + 0.001])

    assert prefer_whole(number, whole)
    assert not prefer_whole(number, _made([(10, 10, 75, 70)], [number.confidence + 0.01]))


def test_two_digits_stay_two_when_the_one_digit_holds_only_one_of_them() -> None:
    # The digit path picked the left digit of "42" and reads it surely: that is not the line.
    number = _made(HALVES, [0.9, 0.9])

    assert not prefer_whole(number, _made([(10, 10, 40, 70)], [0.999]))


def test_pieces_are_halves_when_one_looks_little_whole() -> None:
    crops = [DigitCrop(box=box, model_input=np.zeros((28, 28), np.float32)) for box in HALVES]
    seen = {}

    def wholeness(scores: list[float]):
        def score(x: np.ndarray, boxes: np.ndarray, height: float) -> np.ndarray:
            seen["boxes"], seen["height"] = boxes.tolist(), height
            return np.array(scores)

        return score

    assert _look_like_halves(crops, wholeness([0.7, HALF_BELOW - 0.05]))
    # Boxes go to the wholeness part as (y0, y1, x0, x1), in the line's height.
    assert seen == {"boxes": [[10, 70, 10, 40], [12, 70, 42, 75]], "height": 60.0}
    assert not _look_like_halves(crops, wholeness([0.7, HALF_BELOW + 0.05]))
    assert not _look_like_halves(crops, None)


def test_halves_read_whole_by_a_smaller_margin() -> None:
    number = _made(HALVES, [0.98, 0.98])
    whole = _made([(10, 10, 75, 70)], [number.confidence + HALF_MARGIN + 0.005])
    assert prefer_whole(number, whole, margin=HALF_MARGIN)
    assert not prefer_whole(number, whole)


def test_a_number_is_read_by_the_model_once_per_mark(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    # The segmenter reads every mark with the model, also those wide enough that it weighs
    # cutting them; the reading reuses those probabilities instead of reading them again.
    calls = []

    class Counted(Always):
        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            calls.append(len(x))
            return super().predict_proba(x)

    images, labels = mnist_test_small
    zeros = [images[i] for i in np.flatnonzero(labels == 0)[:4]]
    image = line_image(zeros)
    reading = read(image, Counted(0, p=0.99), mode="number")
    assert reading.text == "0000"
    assert calls == [4]
    assert all(digit.probabilities[0] == pytest.approx(0.99) for digit in reading.digits)


def test_auto_mode_binarises_a_single_digit_once_for_both_looks(
    mnist_test_small: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whether the image is one digit (every mark) and which digit it is are two selections from
    # one binarisation of the same pixels.
    from ml import preprocess

    shapes = []
    ink_map = preprocess._ink_map

    def counted(planes: np.ndarray):
        shapes.append(planes.shape)
        return ink_map(planes)

    monkeypatch.setattr(preprocess, "_ink_map", counted)
    images, labels = mnist_test_small
    for upload in generate("photo_white_paper", 3, seed=2, images=images, labels=labels):
        image = load_image(upload.data)
        shapes.clear()
        reading = read(image, Always(4))
        assert reading.mode == "digit"
        # Each scale once: the digit's own pixels, and a closer look when it is small.
        assert len(shapes) == len(set(shapes)), shapes
        monkeypatch.setattr(preprocess, "_ink_map", ink_map)
        np.testing.assert_array_equal(reading.digits[0].model_input, to_mnist(image))
        assert reading.digits[0].box == locate_digit(image)[1]
        monkeypatch.setattr(preprocess, "_ink_map", counted)
