"""grouping: the marks of one line of handwriting grouped into digits, left to right."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.crop import Frame, normalise_crop, to_mnist
from ml.decode import ImageRejected
from ml.grouping import MAX_MARKS, Marks, _label_marks, find_marks
from ml.reading import segment
from tests.ml.helpers import (
    PEN,
    drawn,
    first_index,
    ink_pieces,
    line_image,
)


def test_separated_digits_come_out_left_to_right_with_their_boxes(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    picks = [images[first_index(labels, d)] for d in (0, 4, 2)]
    image = line_image(picks)
    crops = segment(image)
    assert len(crops) == 3
    lefts = [c.box[0] for c in crops]
    assert lefts == sorted(lefts)
    for crop, digit in zip(crops, picks, strict=True):
        x0, y0, x1, y1 = crop.box
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
        assert crop.model_input.shape == (28, 28) and crop.model_input.dtype == np.float32
        # Each crop is the digit as to_mnist would see it alone.
        alone = to_mnist(Image.fromarray(digit))
        assert np.corrcoef(crop.model_input.ravel(), alone.ravel())[0, 1] > 0.8


def test_a_crop_goes_through_the_same_normalisation_as_a_single_digit(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    image = line_image([images[3]])
    marks = find_marks(image)
    ys, xs = np.flatnonzero(marks.mask.any(axis=1)), np.flatnonzero(marks.mask.any(axis=0))
    box = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
    via_marks = normalise_crop(marks.soft_crop(marks.mask, box))
    assert via_marks is not None
    np.testing.assert_array_equal(via_marks, to_mnist(image))
    # segment analyses a line at a higher resolution than to_mnist, so close, not equal.
    crop = segment(image)[0].model_input
    assert np.corrcoef(crop.ravel(), to_mnist(image).ravel())[0, 1] > 0.95


def test_five_with_a_detached_bar_is_one_digit() -> None:
    image = drawn(
        [
            [(150, 60), (230, 58)],  # the bar, lifted off the body
            [(150, 90), (145, 140), (190, 135), (215, 170), (205, 215), (160, 230), (135, 215)],
        ]
    )
    assert len(segment(image)) == 1


def test_seven_with_a_detached_crossbar_is_one_digit() -> None:
    image = drawn([[(140, 60), (240, 60), (170, 240)], [(165, 150), (230, 150)]])
    assert len(segment(image)) == 1


def test_four_with_an_open_top_is_one_digit() -> None:
    # The stem is lifted where the bar crosses it: two marks, stacked in the same columns.
    image = drawn(
        [[(150, 50), (130, 160), (240, 160)], [(210, 50), (210, 135)], [(210, 185), (210, 250)]]
    )
    assert len(segment(image)) == 1


def test_dotted_stroke_is_one_digit() -> None:
    # A 7 drawn in dots one pen width apart (a pen skipping on the paper).
    points = [(140 + t, 60) for t in range(0, 100, 2 * PEN)]
    points += [(240 - 0.35 * t, 60 + t) for t in range(2 * PEN, 190, 2 * PEN)]
    image = drawn([[p] for p in points])
    assert len(segment(image)) == 1


def test_specks_around_a_number_are_dropped(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[first_index(labels, d)] for d in (3, 8)])
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(0)
    for _ in range(12):
        x, y = rng.uniform(5, image.width - 5), rng.uniform(5, image.height - 5)
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=40)
    assert len(segment(image)) == 2


def test_more_than_twenty_marks_are_refused_with_the_count() -> None:
    strokes = [[(40 + 50 * i, 100), (40 + 50 * i, 180)] for i in range(MAX_MARKS + 5)]
    image = drawn(strokes, size=(40 + 50 * (MAX_MARKS + 5) + 40, 280))
    with pytest.raises(ImageRejected) as info:
        segment(image)
    assert info.value.code == "too_many_marks"
    assert str(MAX_MARKS + 5) in info.value.message


def test_several_lines_are_refused(mnist_test_small: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = mnist_test_small
    top = np.asarray(line_image([images[first_index(labels, d)] for d in (1, 2, 3)], margin=40))
    bottom = np.asarray(line_image([images[first_index(labels, d)] for d in (4, 5, 6)], margin=40))
    width = max(top.shape[1], bottom.shape[1])
    page = np.full((top.shape[0] + bottom.shape[0], width), 245, dtype=np.uint8)
    page[: top.shape[0], : top.shape[1]] = top
    page[top.shape[0] :, : bottom.shape[1]] = bottom
    with pytest.raises(ImageRejected) as info:
        segment(Image.fromarray(page, "L"))
    assert info.value.code == "several_lines"
    assert "2 lines" in info.value.message


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def test_a_shadow_binarised_as_a_lumpy_blob_is_no_mark_but_a_digit_is() -> None:
    shape = (300, 200)
    zero = _ellipse(shape, 60, 100, 45, 30) & ~_ellipse(shape, 60, 100, 37, 22)
    # A soft shadow on uneven paper binarises as a lumpy blob: two thirds of its box.
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    shadow = _ellipse(shape, 220, 100, 55, 45) & ~((yy < 215) & (xx > 110))
    assert 0.6 < shadow.sum() / (111 * 91) < 0.7
    mask = zero | shadow
    marks = Marks(
        ink=mask * np.float32(0.5),
        mask=mask,
        sigma=0.01,
        frame=Frame(0.0, 0.0, 1.0, 1.0),
        image_size=(shape[1], shape[0]),
    )
    _, groups = _label_marks(marks)
    assert [(g.y0, g.y1) for g in groups] == [(15, 106)]


def test_blank_page_has_no_digit() -> None:
    with pytest.raises(ImageRejected) as info:
        segment(Image.new("RGB", (640, 480), (240, 238, 230)))
    assert info.value.code == "no_digit"


def test_a_digit_touching_the_top_of_a_pad_is_kept(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    page = np.asarray(line_image([images[first_index(labels, d)] for d in (7, 6, 1)], margin=40))
    ys = np.flatnonzero((page < 128).any(axis=1))
    # The tallest digit starts in the first row, and stands most of the frame's height.
    image = Image.fromarray(page[ys[0] :], "L")
    assert len(segment(image)) == 3


def test_touching_digits_across_a_pad_from_its_top_to_its_side_are_no_edge(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    page = np.asarray(line_image([images[first_index(labels, d)] for d in (2, 0, 3, 9)], gap=-0.2))
    ys = np.flatnonzero((page < 128).any(axis=1))
    xs = np.flatnonzero((page < 128).any(axis=0))
    # One mark as long as the frame, touching its top and its left side (a pad's export).
    image = Image.fromarray(page[ys[0] : ys[-1] + 30, xs[0] : xs[-1] + 10], "L")
    assert ink_pieces(image) == 1, "the digits should touch in this test"
    crops = segment(image)
    assert crops[-1].box[2] - crops[0].box[0] > 0.8 * image.width
