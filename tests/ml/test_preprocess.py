"""to_mnist: one MNIST-format input whatever form the digit arrives in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ml import preprocess
from ml.predict import Model
from ml.preprocess import NoDigitFound, load_image, to_mnist
from tests.ml.helpers import (
    big_digit,
    encode,
    exif_rotated_jpeg,
    paper_photo,
    sixteen_bit_png,
    transparent_drawing,
    white_on_black,
)


def _forms(digit: np.ndarray) -> dict[str, bytes]:
    cov = big_digit(digit)
    photo = paper_photo(cov)
    return {
        "dark-on-light photo": encode(photo, "JPEG", quality=85),
        "white-on-black": encode(white_on_black(cov), "PNG"),
        "transparent PNG": encode(transparent_drawing(cov), "PNG"),
        "EXIF-rotated JPEG": exif_rotated_jpeg(photo),
        "16-bit PNG": sixteen_bit_png(cov),
    }


def assert_mnist_format(x: np.ndarray) -> None:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert x.min() >= 0.0
    assert x.max() == pytest.approx(1.0)
    cy, cx = ndi.center_of_mass(x)
    assert abs(cy - 14) <= 1.0
    assert abs(cx - 14) <= 1.0
    ys = np.flatnonzero(x.max(axis=1) > 0.05)
    xs = np.flatnonzero(x.max(axis=0) > 0.05)
    assert max(ys[-1] - ys[0] + 1, xs[-1] - xs[0] + 1) <= 21
    # The digit fills its 20x20 box along its longer side.
    assert max(ys[-1] - ys[0] + 1, xs[-1] - xs[0] + 1) >= 18
    # White digit on black: the frame stays dark.
    assert x[0].max() < 0.05 and x[-1].max() < 0.05


@pytest.mark.parametrize("index", [0, 1, 2, 3, 7])
def test_same_digit_in_every_form_gives_nearly_the_same_input(
    index: int, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = mnist_test_small
    outputs = {name: to_mnist(load_image(data)) for name, data in _forms(images[index]).items()}
    reference = outputs["white-on-black"]
    for name, x in outputs.items():
        assert_mnist_format(x)
        assert np.abs(x - reference).mean() < 0.03, name
        assert np.corrcoef(x.ravel(), reference.ravel())[0, 1] > 0.95, name


def test_mnist_digit_passes_through_nearly_unchanged(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    diffs = [
        np.abs(to_mnist(Image.fromarray(d)) - d.astype(np.float32) / 255).mean()
        for d in images[:50]
    ]
    assert np.mean(diffs) < 0.05


def test_thin_pen_strokes_are_thickened_to_mnist_width(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    cov = big_digit(images[0], scale=16)
    # A 3-pixel pen line along the digit's skeleton, 448 pixels tall.
    pen = ndi.binary_dilation(skeletonize(cov > 0.5))
    paper = Image.fromarray(np.where(pen, 20, 240).astype(np.uint8), "L")
    x = to_mnist(paper)
    thick = to_mnist(Image.fromarray(images[0]))
    # A hairline squeezed to 20x20 would light up far fewer pixels than MNIST's own strokes.
    assert (x > 0.5).sum() > 0.6 * (thick > 0.5).sum()


def test_off_centre_small_digit_in_large_photo_is_found(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    cov = big_digit(images[0], scale=3)
    page = np.full((1500, 2000), 230, dtype=np.float32)
    page[1200 : 1200 + cov.shape[0], 200 : 200 + cov.shape[1]] -= 200 * cov
    x = to_mnist(Image.fromarray(page.astype(np.uint8), "L").convert("RGB"))
    assert_mnist_format(x)
    reference = to_mnist(Image.fromarray(images[0]))
    assert np.corrcoef(x.ravel(), reference.ravel())[0, 1] > 0.9


def test_page_edge_band_is_ignored(mnist_test_small: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = mnist_test_small
    cov = big_digit(images[1], scale=6)
    page = np.full((480, 640), 225, dtype=np.float32)
    page[:, :90] = 40  # the table beside the sheet, more ink-like mass than the digit
    page[150 : 150 + cov.shape[0], 250 : 250 + cov.shape[1]] -= 190 * cov
    x = to_mnist(Image.fromarray(page.astype(np.uint8), "L"))
    reference = to_mnist(Image.fromarray(images[1]))
    assert np.corrcoef(x.ravel(), reference.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("index", [0, 1, 2])
def test_sheet_lying_on_a_dark_desk_is_read_not_the_desk(
    index: int, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = mnist_test_small
    cov = big_digit(images[index], scale=2)
    rng = np.random.default_rng(index)
    photo = np.zeros((1200, 1600, 3), dtype=np.float32) + np.array([70, 50, 35])
    photo[240:960, 400:1240] = (235, 232, 225)
    photo[400 : 400 + cov.shape[0], 600 : 600 + cov.shape[1]] *= 1 - 0.85 * cov[..., None]
    photo += rng.normal(0, 3, photo.shape)
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    x = to_mnist(load_image(encode(image, "JPEG", quality=85)))
    reference = to_mnist(Image.fromarray(images[index]))
    assert_mnist_format(x)
    assert np.corrcoef(x.ravel(), reference.ravel())[0, 1] > 0.9


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


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (400, 300), (255, 255, 255)),
        Image.new("L", (280, 280), 0),
        Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
        Image.new("RGB", (20, 20), (128, 128, 128)),
    ],
    ids=["white", "black", "transparent", "tiny-grey"],
)
def test_blank_images_have_no_digit(image: Image.Image) -> None:
    with pytest.raises(NoDigitFound) as info:
        to_mnist(image)
    assert info.value.code == "no_digit"
    assert "No digit" in info.value.message


# The pad's brush is about 21 px wide on its 280 px canvas; a click may drag a little.
@pytest.mark.parametrize(("radius", "drag"), [(4, 0), (10, 0), (10, 8), (30, 0), (30, 8)])
def test_a_dot_or_blot_is_not_a_digit(radius: int, drag: int) -> None:
    image = Image.new("RGB", (280, 280), "white")
    draw = ImageDraw.Draw(image)
    for x, y in [(140, 140), (140 + drag, 140 + drag // 2)]:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(17, 17, 17))
    with pytest.raises(NoDigitFound):
        to_mnist(image)


@pytest.mark.parametrize("length", [3.2, 6.0])
def test_a_short_stroke_is_still_a_digit(length: float) -> None:
    # A "1" can be a short bar; only marks shorter than MIN_LENGTH_IN_STROKES widths are refused.
    image = Image.new("RGB", (280, 280), "white")
    width = 20
    ImageDraw.Draw(image).rectangle(
        [130, 140 - length * width / 2, 130 + width, 140 + length * width / 2], fill=(17, 17, 17)
    )
    assert_mnist_format(to_mnist(image))


def test_photo_of_empty_paper_with_noise_and_shading_has_no_digit() -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:600, 0:800]
    page = 200 + 40 * xx / 800 - 25 * yy / 600 + rng.normal(0, 4, (600, 800))
    rgb = np.repeat(page[..., None], 3, axis=2) * np.array([1.0, 0.97, 0.9])
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    with pytest.raises(NoDigitFound):
        to_mnist(load_image(encode(image, "JPEG", quality=80)))


def _odd_files(digit: np.ndarray) -> dict[str, bytes]:
    cov = big_digit(digit, scale=6)
    drawing = transparent_drawing(cov)
    dark_on_light = Image.fromarray(np.round(255 - np.pad(cov, 20) * 230).astype(np.uint8), "L")
    two_frames = [dark_on_light.convert("P"), Image.new("P", dark_on_light.size, 0)]
    return {
        "palette+transparency": encode(drawing.quantize(colors=16), "PNG"),
        "LA": encode(drawing.convert("LA"), "PNG"),
        "CMYK JPEG": encode(dark_on_light.convert("CMYK"), "JPEG", quality=90),
        "16-bit": sixteen_bit_png(cov),
        "GIF": encode(two_frames[0], "GIF", save_all=True, append_images=two_frames[1:]),
        "WebP": encode(dark_on_light.convert("RGB"), "WEBP", quality=80),
        "BMP": encode(dark_on_light, "BMP"),
        "TIFF": encode(dark_on_light, "TIFF"),
        "tiny 20x20": encode(dark_on_light.resize((20, 20), Image.Resampling.BOX), "PNG"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "palette+transparency",
        "LA",
        "CMYK JPEG",
        "16-bit",
        "GIF",
        "WebP",
        "BMP",
        "TIFF",
        "tiny 20x20",
    ],
)
def test_each_odd_mode_is_classified(
    name: str, ml_result_model: Model, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_test_small
    # Digits the tiny test model reads correctly from MNIST itself.
    for index in (0, 1, 2):
        data = _odd_files(images[index])[name]
        x = to_mnist(load_image(data))
        assert_mnist_format(x)
        assert int(ml_result_model.predict_proba(x).argmax()) == labels[index]


@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(1, 3000),
        elements=st.floats(-1e3, 1e3, width=32),
    )
)
@settings(max_examples=300, deadline=None)
def test_fast_median_is_numpys_median(values):
    fast, reference = preprocess._median(values), np.median(values)
    assert fast.dtype == reference.dtype
    assert fast == reference  # the same float; only the sign of a zero may differ


@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(1, 3000),
        elements=st.floats(-1e3, 1e3, width=32),
    ),
    q=st.sampled_from([0, 10, 50, 90, 100]),
)
@settings(max_examples=300, deadline=None)
def test_fast_percentile_is_numpys_percentile(values, q):
    spread = float(np.abs(values).max()) if values.size else 0.0
    fast = float(preprocess._percentile(values, q))
    assert fast == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-12 * spread)


@pytest.mark.parametrize("channels", [1, 3])
def test_channel_mean_is_numpys_mean_bit_for_bit(channels):
    planes = np.random.default_rng(channels).random((97, 131, channels), dtype=np.float32)
    assert preprocess._mean_plane(planes).tobytes() == planes.mean(axis=2).tobytes()


@pytest.mark.parametrize("long_side", [30, 95, 96, 150, 160, 161, 319, 320, 321, 1000, 4000])
def test_fitted_long_side_predicts_fit_long_side(long_side):
    image = Image.new("L", (long_side, max(1, long_side // 2)))
    fitted = preprocess._fit_long_side(image, preprocess.REFINE_LONG_SIDE)
    assert preprocess._fitted_long_side(long_side, preprocess.REFINE_LONG_SIDE) == pytest.approx(
        max(fitted.size), abs=1
    )


def test_halo_is_scipys_dilation_by_the_diamond():
    diamond = ndi.iterate_structure(ndi.generate_binary_structure(2, 1), 2)
    rng = np.random.default_rng(5)
    for _ in range(300):
        shape = tuple(int(n) for n in rng.integers(1, 40, size=2))
        mask = rng.random(shape) < rng.uniform(0, 0.3)
        assert np.array_equal(preprocess._halo(mask), ndi.binary_dilation(mask, diamond))


def _reference_ink_map(planes: np.ndarray) -> tuple[np.ndarray, float]:
    # The plain statement of the ink map: every side in full, every channel a strided view.
    resid = [planes[..., c] - preprocess._fit_background(planes[..., c]) for c in range(3)]
    lum = (resid[0] + resid[1] + resid[2]) / 3
    dark = -np.minimum(np.minimum(resid[0], resid[1]), resid[2])
    light = np.maximum(np.maximum(resid[0], resid[1]), resid[2])
    sample = lum[::2, ::2].ravel()
    sigma = float(1.4826 * np.median(np.abs(sample - np.median(sample)))) + 1e-3
    floor = np.float32(4 * sigma + 0.05)
    dark_mass = float(np.maximum(dark[::2, ::2] - floor, 0).sum())
    light_mass = float(np.maximum(light[::2, ::2] - floor, 0).sum())
    return (dark if dark_mass >= light_mass else light), sigma


@pytest.mark.parametrize("ink_level", [0.1, 0.9])
def test_ink_map_is_the_plain_computation_bit_for_bit(ink_level):
    rng = np.random.default_rng(7)
    planes = (0.5 + 0.05 * rng.standard_normal((83, 121, 3))).astype(np.float32)
    planes[30:50, 40:45] = ink_level  # dark ink on grey, or light
    planes += np.linspace(0, 0.2, 121, dtype=np.float32)[None, :, None]  # uneven light
    ink, sigma = preprocess._ink_map(planes)
    expected, expected_sigma = _reference_ink_map(planes)
    assert ink.tobytes() == expected.tobytes()
    assert sigma == expected_sigma
    assert float(ink[40, 42]) > 0.3  # the stroke is ink whichever its polarity


def test_hysteresis_numbers_its_components_as_a_fresh_label_would():
    rng = np.random.default_rng(3)
    for _ in range(50):
        ink = ndi.gaussian_filter(rng.random((int(rng.integers(5, 80)), 90)), 1.5)
        mask, labels, n = preprocess._hysteresis(ink, low=0.5, high=0.55)
        fresh, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
        assert n == count
        assert np.array_equal(labels, fresh)
        # Only components reaching above high are kept, each whole.
        weak, _ = ndi.label(ink > 0.5, structure=np.ones((3, 3), dtype=bool))
        for i in np.unique(weak[weak > 0]):
            assert mask[weak == i].all() == (ink[weak == i] > 0.55).any()
