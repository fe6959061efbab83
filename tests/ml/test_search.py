"""search: wide marks cut into the digits the model reads best."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.decode import ImageRejected
from ml.reading import segment
from tests.ml.helpers import (
    drawn,
    first_index,
    ink_pieces,
    line_image,
)


def test_touching_neighbours_are_cut_apart(
    mnist_test_small: tuple[np.ndarray, np.ndarray], ml_result_model
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[first_index(labels, d)] for d in (7, 2, 3)], gap=[0.4, -0.25])
    assert ink_pieces(image) == 2, "the 2 and the 3 should touch in this test"
    crops = segment(image, predict_proba=ml_result_model.predict_proba)
    assert len(crops) == 3
    assert crops[1].box[0] < crops[2].box[0]


class _Sure:
    """A stand-in model that reads every crop, whatever it holds, as ``digit`` at 0.99: the
    overconfidence on blobs and pairs that the shape rules must not trust."""

    def __init__(self, digit: int) -> None:
        self.row = np.full(10, 0.01 / 9)
        self.row[digit] = 0.99

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self.row, (len(x), 1))


def test_a_lone_dot_is_no_digit_even_with_a_model() -> None:
    # One click on the pad: no half of it is a digit either.
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).ellipse([130, 120, 151, 141], fill=(17, 17, 17))
    with pytest.raises(ImageRejected) as info:
        segment(image, predict_proba=_Sure(0).predict_proba)
    assert info.value.code == "no_digit"


def test_close_digits_linked_into_one_mark_are_cut_apart(
    mnist_test_small: tuple[np.ndarray, np.ndarray], ml_result_model
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[first_index(labels, d)] for d in (9, 2)], gap=0.03)
    crops = segment(image, predict_proba=ml_result_model.predict_proba)
    assert len(crops) == 2
    assert crops[0].box[2] <= crops[1].box[0] + 10


def test_a_wide_mark_read_surely_as_one_digit_is_cut_when_too_wide_for_it(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[first_index(labels, d)] for d in (2, 3)], gap=-0.25)
    assert ink_pieces(image) == 1, "the 2 and the 3 should touch in this test"
    # A 0 is about as wide as tall, never half as wide again: two digits, however sure.
    assert len(segment(image, predict_proba=_Sure(0).predict_proba)) == 2


def test_a_digit_too_wide_to_cut_into_digits_is_kept_not_lost(ml_result_model) -> None:
    # A 1, then a 2 whose tail runs on: no cut leaves two pieces as tall as the line.
    one = [(100, 70), (100, 230)]
    two = [(200, 90), (250, 65), (300, 100), (220, 230), (520, 230)]
    crops = segment(drawn([one, two], size=(640, 300)), predict_proba=ml_result_model.predict_proba)
    assert len(crops) == 2
    assert crops[1].box[2] - crops[1].box[0] > 250


def test_a_digit_with_a_long_tail_beside_another_is_one_piece_of_two(ml_result_model) -> None:
    # A 0, then close to it a 2 whose tail runs on to 1.5 line heights wide: "02", not "2".
    turn = np.linspace(0, 2 * np.pi, 40)
    zero = [(110 + 48 * np.cos(a), 150 + 78 * np.sin(a)) for a in turn]
    two = [(185, 100), (235, 72), (290, 105), (200, 228), (470, 228)]
    crops = segment(
        drawn([zero, two], size=(600, 300)), predict_proba=ml_result_model.predict_proba
    )
    assert len(crops) == 2
    assert crops[0].box[2] < 185 < crops[1].box[0] + 10
    assert crops[1].box[2] - crops[1].box[0] > 1.5 * (crops[1].box[3] - crops[1].box[1])
