"""ruled: printed, margin and faint lines are not writing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.crop import to_mnist
from ml.grouping import Group
from ml.reading import segment
from ml.ruled import without_faint_lines
from tests.ml.helpers import (
    assert_mnist_format,
    big_digit,
    first_index,
    line_image,
)


def test_ruled_paper_lines_are_not_digits(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    plain = line_image([images[first_index(labels, d)] for d in (5, 1, 7)], margin=120)
    page = np.repeat(np.asarray(plain, dtype=np.float32)[..., None], 3, axis=2)
    for y in range(10, page.shape[0], 40):
        page[y : y + 2] = np.minimum(page[y : y + 2], (120, 150, 210))
    page[:, 40:43] = np.minimum(page[:, 40:43], (220, 90, 100))
    image = Image.fromarray(page.astype(np.uint8), "RGB")
    assert len(segment(image)) == 3


def _mark(y0: int, y1: int, x0: int, x1: int, strength: float) -> Group:
    area = (y1 - y0) * (x1 - x0) // 5
    return Group([0], y0, y1, x0, x1, mass=strength * area, area=area)


def test_a_band_of_marks_far_fainter_than_the_writing_is_dropped() -> None:
    digits = [_mark(100, 140, 0, 30, 0.3), _mark(102, 140, 40, 70, 0.25)]
    # What is left where printed lines cross: above and below the number, half as dark.
    crossings = [_mark(30, 60, 10, 14, 0.12), _mark(190, 210, 0, 30, 0.1)]
    kept = without_faint_lines(digits + crossings, 40.0)
    assert kept == digits
    # A second line written with the same pen stays, to be refused as several lines.
    second = [_mark(30, 70, 10, 40, 0.2)]
    assert without_faint_lines(digits + second, 40.0) == digits + second
    # One line has nothing to drop, however faint its marks.
    assert len(without_faint_lines([*digits, _mark(100, 140, 80, 110, 0.05)], 40.0)) == 3


def test_a_margin_line_ending_above_the_number_is_not_a_second_line(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    plain = line_image([images[first_index(labels, d)] for d in (0, 1, 1)], margin=120)
    page = np.repeat(np.asarray(plain, dtype=np.float32)[..., None], 3, axis=2)
    # A faint red margin line, broken off (faded) just above the writing.
    page[:100, 180:182] = np.minimum(page[:100, 180:182], (230, 120, 130))
    image = Image.fromarray(page.astype(np.uint8), "RGB")
    assert len(segment(image)) == 3


def test_a_lone_digit_among_pieces_of_ruled_lines_is_one_line(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    # Faded ruled lines come out as short flat slivers, one per line above and below the digit;
    # they must not set the line's height, or the digit is "far heavier" and they are the line.
    images, labels = mnist_test_small
    plain = line_image([images[first_index(labels, 9)]], margin=120)
    page = np.asarray(plain, dtype=np.float32).copy()
    for i, y in enumerate(range(12, page.shape[0], 30)):
        x = 5 + (i * 37) % 60
        page[y : y + 3, x : x + 45] = np.minimum(page[y : y + 3, x : x + 45], 150)
    image = Image.fromarray(page.astype(np.uint8), "L")

    crops = segment(image)

    assert len(crops) == 1
    x0, y0, x1, y1 = crops[0].box
    # The digit's box, inside the 120-pixel margin, not a box stretched over the slivers.
    assert x0 >= 110 and y0 >= 110
    assert x1 <= image.width - 110 and y1 <= image.height - 110


@pytest.mark.parametrize("index", [0, 2])
def test_ruled_paper_lines_are_not_ink(
    index: int, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = mnist_test_small
    cov = big_digit(images[index], scale=6)

    def page(*, ruled: bool) -> np.ndarray:
        page = np.full((480, 640, 3), 235, dtype=np.float32)
        if ruled:
            for y in range(20, 480, 36):  # pale blue lines, some crossing the digit
                page[y : y + 2] = (120, 150, 210)
            page[:, 70:72] = (220, 90, 100)  # the red margin
        page[150 : 150 + cov.shape[0], 250 : 250 + cov.shape[1]] *= 1 - 0.85 * cov[..., None]
        return to_mnist(Image.fromarray(page.astype(np.uint8), "RGB"))

    x, plain = page(ruled=True), page(ruled=False)
    assert_mnist_format(x)
    # The same digit on blank paper is the reference: the lines must change next to nothing.
    assert np.corrcoef(x.ravel(), plain.ravel())[0, 1] > 0.97
    reference = to_mnist(Image.fromarray(images[index]))
    assert np.corrcoef(plain.ravel(), reference.ravel())[0, 1] > 0.75
