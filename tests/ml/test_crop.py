"""to_mnist: any decoded image made into the model's MNIST-style input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ml import crop
from ml.crop import to_mnist
from ml.decode import NoDigitFound, load_image
from ml.predict import Model
from tests.ml.helpers import (
    assert_mnist_format,
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


def test_halo_is_scipys_dilation_by_the_diamond():
    diamond = ndi.iterate_structure(ndi.generate_binary_structure(2, 1), 2)
    rng = np.random.default_rng(5)
    for _ in range(300):
        shape = tuple(int(n) for n in rng.integers(1, 40, size=2))
        mask = rng.random(shape) < rng.uniform(0, 0.3)
        assert np.array_equal(crop._halo(mask), ndi.binary_dilation(mask, diamond))
