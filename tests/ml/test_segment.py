"""segment: one line of handwriting cut into digit crops, left to right."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from ml.preprocess import ImageRejected, Marks, _Frame, find_marks, normalise_crop, to_mnist
from ml.segment import (
    MAX_MARKS,
    MIN_PIECE_HEIGHT,
    STRAIGHT_STEP,
    _cut_paths,
    _Group,
    _marks,
    _piece,
    _tall_enough,
    _Window,
    _without_faint_lines,
    candidate_cuts,
    segment,
)
from tests.ml.helpers import big_digit

PEN = 14  # stroke width of the drawn test digits, in pixels


def _first(labels: np.ndarray, digit: int) -> int:
    return int(np.flatnonzero(labels == digit)[0])


def line_image(
    images: list[np.ndarray],
    *,
    gap: float | list[float] = 0.35,
    scale: int = 5,
    margin: int = 80,
) -> Image.Image:
    """MNIST digits (28, 28) uint8 written left to right in dark ink on white paper, ``gap``
    digit heights apart (negative: overlapping), or one gap per neighbouring pair."""
    covs = []
    for image in images:
        cov = big_digit(image, scale)
        ys = np.flatnonzero(cov.max(axis=1) > 0.1)
        xs = np.flatnonzero(cov.max(axis=0) > 0.1)
        covs.append(cov[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1])
    height = max(c.shape[0] for c in covs)
    gaps = gap if isinstance(gap, list) else [gap] * (len(covs) - 1)
    steps = [round(g * height) for g in gaps] + [0]
    width = sum(c.shape[1] for c in covs) + sum(steps)
    page = np.zeros((height + 2 * margin, width + 2 * margin), dtype=np.float32)
    x = margin
    for cov, step in zip(covs, steps, strict=True):
        y = margin + height - cov.shape[0]
        region = page[y : y + cov.shape[0], x : x + cov.shape[1]]
        np.maximum(region, cov, out=region)
        x += cov.shape[1] + step
    return Image.fromarray((245 - 225 * page).astype(np.uint8), "L")


def drawn(strokes: list[list[tuple[float, float]]], size: tuple[int, int] = (400, 300)) -> Image:
    """Pen strokes (polylines in pixels) in dark ink on white paper."""
    image = Image.new("L", size, 245)
    draw = ImageDraw.Draw(image)
    for points in strokes:
        if len(points) == 1:
            x, y = points[0]
            draw.ellipse([x - PEN / 2, y - PEN / 2, x + PEN / 2, y + PEN / 2], fill=20)
        else:
            draw.line(points, fill=20, width=PEN, joint="curve")
    return image


def ink_pieces(image: Image.Image) -> int:
    return ndi.label(find_marks(image).mask, structure=np.ones((3, 3), dtype=bool))[1]


def test_separated_digits_come_out_left_to_right_with_their_boxes(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    picks = [images[_first(labels, d)] for d in (0, 4, 2)]
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
    box = (int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1)
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
    image = line_image([images[_first(labels, d)] for d in (3, 8)])
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(0)
    for _ in range(12):
        x, y = rng.uniform(5, image.width - 5), rng.uniform(5, image.height - 5)
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=40)
    assert len(segment(image)) == 2


def test_ruled_paper_lines_are_not_digits(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    plain = line_image([images[_first(labels, d)] for d in (5, 1, 7)], margin=120)
    page = np.repeat(np.asarray(plain, dtype=np.float32)[..., None], 3, axis=2)
    for y in range(10, page.shape[0], 40):
        page[y : y + 2] = np.minimum(page[y : y + 2], (120, 150, 210))
    page[:, 40:43] = np.minimum(page[:, 40:43], (220, 90, 100))
    image = Image.fromarray(page.astype(np.uint8), "RGB")
    assert len(segment(image)) == 3


def test_touching_neighbours_are_cut_apart(
    mnist_test_small: tuple[np.ndarray, np.ndarray], ml_result_model
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[_first(labels, d)] for d in (7, 2, 3)], gap=[0.4, -0.25])
    assert ink_pieces(image) == 2, "the 2 and the 3 should touch in this test"
    crops = segment(image, predict_proba=ml_result_model.predict_proba)
    assert len(crops) == 3
    assert crops[1].box[0] < crops[2].box[0]


def test_more_than_twenty_marks_are_refused_with_the_count() -> None:
    strokes = [[(40 + 50 * i, 100), (40 + 50 * i, 180)] for i in range(MAX_MARKS + 5)]
    image = drawn(strokes, size=(40 + 50 * (MAX_MARKS + 5) + 40, 280))
    with pytest.raises(ImageRejected) as info:
        segment(image)
    assert info.value.code == "too_many_marks"
    assert str(MAX_MARKS + 5) in info.value.message


def test_several_lines_are_refused(mnist_test_small: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = mnist_test_small
    top = np.asarray(line_image([images[_first(labels, d)] for d in (1, 2, 3)], margin=40))
    bottom = np.asarray(line_image([images[_first(labels, d)] for d in (4, 5, 6)], margin=40))
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
        frame=_Frame(0.0, 0.0, 1.0, 1.0),
        image_size=(shape[1], shape[0]),
    )
    _, groups = _marks(marks)
    assert [(g.y0, g.y1) for g in groups] == [(15, 106)]


def _mark(y0: int, y1: int, x0: int, x1: int, strength: float) -> _Group:
    area = (y1 - y0) * (x1 - x0) // 5
    return _Group([0], y0, y1, x0, x1, mass=strength * area, area=area)


def test_a_band_of_marks_far_fainter_than_the_writing_is_dropped() -> None:
    digits = [_mark(100, 140, 0, 30, 0.3), _mark(102, 140, 40, 70, 0.25)]
    # What is left where printed lines cross: above and below the number, half as dark.
    crossings = [_mark(30, 60, 10, 14, 0.12), _mark(190, 210, 0, 30, 0.1)]
    kept = _without_faint_lines(digits + crossings, 40.0)
    assert kept == digits
    # A second line written with the same pen stays, to be refused as several lines.
    second = [_mark(30, 70, 10, 40, 0.2)]
    assert _without_faint_lines(digits + second, 40.0) == digits + second
    # One line has nothing to drop, however faint its marks.
    assert len(_without_faint_lines([*digits, _mark(100, 140, 80, 110, 0.05)], 40.0)) == 3


def test_blank_page_has_no_digit() -> None:
    with pytest.raises(ImageRejected) as info:
        segment(Image.new("RGB", (640, 480), (240, 238, 230)))
    assert info.value.code == "no_digit"


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
    image = line_image([images[_first(labels, d)] for d in (9, 2)], gap=0.03)
    crops = segment(image, predict_proba=ml_result_model.predict_proba)
    assert len(crops) == 2
    assert crops[0].box[2] <= crops[1].box[0] + 10


def test_a_wide_mark_read_surely_as_one_digit_is_cut_when_too_wide_for_it(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    image = line_image([images[_first(labels, d)] for d in (2, 3)], gap=-0.25)
    assert ink_pieces(image) == 1, "the 2 and the 3 should touch in this test"
    # A 0 is about as wide as tall, never half as wide again: two digits, however sure.
    assert len(segment(image, predict_proba=_Sure(0).predict_proba)) == 2


def test_a_digit_touching_the_top_of_a_pad_is_kept(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    page = np.asarray(line_image([images[_first(labels, d)] for d in (7, 6, 1)], margin=40))
    ys = np.flatnonzero((page < 128).any(axis=1))
    # The tallest digit starts in the first row, and stands most of the frame's height.
    image = Image.fromarray(page[ys[0] :], "L")
    assert len(segment(image)) == 3


def test_touching_digits_across_a_pad_from_its_top_to_its_side_are_no_edge(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    page = np.asarray(line_image([images[_first(labels, d)] for d in (2, 0, 3, 9)], gap=-0.2))
    ys = np.flatnonzero((page < 128).any(axis=1))
    xs = np.flatnonzero((page < 128).any(axis=0))
    # One mark as long as the frame, touching its top and its left side (a pad's export).
    image = Image.fromarray(page[ys[0] : ys[-1] + 30, xs[0] : xs[-1] + 10], "L")
    assert ink_pieces(image) == 1, "the digits should touch in this test"
    crops = segment(image)
    assert crops[-1].box[2] - crops[0].box[0] > 0.8 * image.width


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


def test_a_margin_line_ending_above_the_number_is_not_a_second_line(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    plain = line_image([images[_first(labels, d)] for d in (0, 1, 1)], margin=120)
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
    plain = line_image([images[_first(labels, 9)]], margin=120)
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


def _rings(centres: list[int], height: int = 50) -> np.ndarray:
    """Rings (0s) of ``height`` at ``centres``, overlapping where they are close: ink (h, w)."""
    yy, xx = np.mgrid[:height, : max(centres) + height // 2 + 2]
    ink = np.zeros(yy.shape, dtype=bool)
    for c in centres:
        r = np.hypot((xx - c) / 0.7, yy - height / 2) / (height / 2 - 1)
        ink |= (r > 0.75) & (r <= 1.0)
    return ink


def test_a_wide_mark_is_also_cut_straight_down_where_neighbours_overlap() -> None:
    # Two overlapping 0s: the least-ink path from the overlap runs down the gap inside one
    # ring and gives half of it to the other; straight cuts share the overlap.
    ink = _rings([22, 50])
    height = float(ink.shape[0])
    straight = [c for c in candidate_cuts(ink, height)[1:-1] if np.ptp(c) <= 2]
    assert len(straight) >= int(ink.shape[1] / height / STRAIGHT_STEP) - 3
    # Without a wholeness part to weigh them, and in a mark one digit wide, none are tried.
    assert len(candidate_cuts(ink, height, straight=False)) < len(candidate_cuts(ink, height))
    one = _rings([22])
    one = one[:, one.any(axis=0)]
    assert len(candidate_cuts(one, height)) == len(candidate_cuts(one, height, straight=False))


def test_spans_left_out_before_reading_are_those_whose_pieces_would_be_dropped() -> None:
    # Two overlapping 0s and a short tick above them: pieces of the tick alone are too short.
    ink = _rings([22, 50], height=50)
    ink[:6, 60:63] = True
    height = float(ink.shape[0])
    cuts = candidate_cuts(ink, height)
    spans = [(i, j) for i in range(len(cuts)) for j in range(i + 1, len(cuts))]
    least = MIN_PIECE_HEIGHT * height
    kept = set(_tall_enough(ink, cuts, spans, least))
    h, w = ink.shape
    window = _Window(own=ink, ink=ink, group=_Group([1], 0, h, 0, w, 1.0), origin=(0, 0))
    dropped = 0
    for i, j in spans:
        piece = _piece(window, cuts[i], cuts[j])
        tall = piece is not None and piece.box[1] - piece.box[0] >= least
        assert (i, j) in kept or not tall, (i, j)
        dropped += (i, j) not in kept
    assert dropped > 0


def _reference_cut_paths(own: np.ndarray, columns: list[int], reach: int) -> np.ndarray:
    # The least-ink paths by plain loops: a step of at most one column a row, within reach of
    # the start column; a pixel costs its ink plus 0.01 per column off; ties go leftmost.
    h, w = own.shape
    paths = []
    for centre in columns:
        xs = list(range(centre - reach, centre + reach + 1))

        def cost(y: int, x: int, centre: int = centre) -> float:
            if not 0 <= x < w:
                return np.inf
            return float(np.float32(float(own[y, x]) + float(np.float32(0.01)) * abs(x - centre)))

        total = {x: np.float32(cost(0, x)) for x in xs}
        back = [{} for _ in range(h)]
        for y in range(1, h):
            new = {}
            for x in xs:
                came = min((x + d for d in (-1, 0, 1) if x + d in total), key=lambda c: total[c])
                back[y][x] = came
                new[x] = np.float32(total[came] + np.float32(cost(y, x)))
            total = new
        x = min(xs, key=lambda c: total[c])
        path = [x]
        for y in range(h - 1, 0, -1):
            x = back[y][x]
            path.append(x)
        paths.append(path[::-1])
    return np.array(paths)


def test_cut_paths_are_the_least_ink_paths_from_each_column() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        h, w = (int(n) for n in rng.integers(3, 30, size=2))
        own = rng.random((h, w)) < rng.uniform(0.1, 0.6)
        columns = sorted({int(c) for c in rng.integers(0, w, size=int(rng.integers(1, 6)))})
        reach = int(rng.integers(1, 5))
        expected = _reference_cut_paths(own, columns, reach)
        assert np.array_equal(_cut_paths(own, columns, reach), expected)
