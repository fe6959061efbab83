"""search: wide marks cut into the digits the model reads best."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.budget import (
    FULL_BUDGET_PIXELS,
    HALF_BUDGET_PIXELS,
    MAX_CHAIN_CELLS,
    MAX_MODEL_CALLS,
    MAX_PIECES,
    SearchBudget,
)
from ml.decode import ImageRejected, load_image
from ml.grouping import MAX_MARKS
from ml.reading import read_image, segment
from tests.ml.helpers import (
    dot_line_png,
    drawn,
    encode,
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


class _Counted:
    """A real model whose reads are counted: ``calls`` holds the pieces of each call."""

    def __init__(self, model) -> None:
        self.model = model
        self.calls: list[int] = []

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(len(x))
        return self.model.predict_proba(x)


def test_a_line_of_35_dots_is_refused_before_the_model_reads_anything(ml_result_model) -> None:
    counted = _Counted(ml_result_model)
    data = dot_line_png(35)
    assert len(data) < 1000, "the probe is a PNG of a few hundred bytes"
    with pytest.raises(ImageRejected) as info:
        read_image(load_image(data), counted)
    assert info.value.code == "too_many_marks"
    assert f"at most {MAX_MARKS}" in info.value.message
    assert counted.calls == []


def test_too_many_separate_marks_are_refused_before_the_model_reads_anything(
    ml_result_model,
) -> None:
    counted = _Counted(ml_result_model)
    paper = Image.new("L", (1200, 600), 255)
    draw = ImageDraw.Draw(paper)
    for k in range(25):
        draw.rectangle((20 + 46 * k, 250, 33 + 46 * k, 349), fill=0)
    with pytest.raises(ImageRejected) as info:
        read_image(load_image(encode(paper, "PNG")), counted)
    assert info.value.code == "too_many_marks"
    assert counted.calls == []


@pytest.mark.parametrize("dots", [14, 22, 30, 35])
def test_the_cut_search_of_a_dot_line_stays_within_its_budget(ml_result_model, dots) -> None:
    counted = _Counted(ml_result_model)
    try:
        read_image(load_image(dot_line_png(dots)), counted)
    except ImageRejected as exc:
        assert exc.code == "too_many_marks"
    # The marks of the line are read once together before the search spends its budget.
    assert len(counted.calls) <= MAX_MODEL_CALLS + 1
    assert sum(counted.calls) <= MAX_PIECES + MAX_MARKS


def test_the_search_stops_where_its_budget_runs_out(ml_result_model) -> None:
    counted = _Counted(ml_result_model)
    image = load_image(dot_line_png(22))
    with pytest.raises(ImageRejected) as info:
        segment(image, predict_proba=counted.predict_proba, budget=SearchBudget(pieces=60))
    assert info.value.code == "too_many_marks"
    assert "too many marks" in info.value.message
    assert sum(counted.calls) <= 60 + MAX_MARKS
    # With the whole budget the same line is searched further (and refused for its count).
    counted.calls.clear()
    with pytest.raises(ImageRejected):
        segment(image, predict_proba=counted.predict_proba)
    assert sum(counted.calls) > 60 + MAX_MARKS


def test_a_huge_image_leaves_the_search_half_its_budget() -> None:
    photo = SearchBudget.for_image(3000 * 1000)
    assert (photo.pieces, photo.calls, photo.cells) == (
        MAX_PIECES,
        MAX_MODEL_CALLS,
        MAX_CHAIN_CELLS,
    )
    # Decoding and analysing the pixels took their share of the second.
    huge = SearchBudget.for_image(HALF_BUDGET_PIXELS)
    assert (huge.pieces, huge.calls) == (MAX_PIECES // 2, MAX_MODEL_CALLS // 2)
    middle = SearchBudget.for_image((FULL_BUDGET_PIXELS + HALF_BUDGET_PIXELS) // 2)
    assert huge.pieces < middle.pieces < photo.pieces
