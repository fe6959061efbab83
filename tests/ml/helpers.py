"""Test images built from MNIST digits the ways users would upload them; model input checks."""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from ml.grouping import find_marks


def big_digit(digit: np.ndarray, scale: int = 8) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 upscaled smoothly: float32 (28*scale, 28*scale) coverage."""
    im = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(im, dtype=np.float32) / 255, 0, 1)


def encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def paper_photo(cov: np.ndarray, *, seed: int = 0) -> Image.Image:
    """Dark ink on off-white paper with a lighting gradient and sensor noise, RGB, 400x300."""
    rng = np.random.default_rng(seed)
    h, w = 300, 400
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = 235 - 40 * (xx / w) - 10 * (yy / h)
    img = np.repeat(paper[..., None], 3, axis=2) * np.array([1.0, 0.98, 0.92], dtype=np.float32)
    ch, cw = cov.shape
    y0, x0 = (h - ch) // 2 + 10, (w - cw) // 2 - 30
    region = img[y0 : y0 + ch, x0 : x0 + cw]
    region[:] = region * (1 - cov[..., None]) + np.array([25, 30, 60]) * cov[..., None]
    img += rng.normal(0, 3, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def white_on_black(cov: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(np.pad(cov, 40) * 255).astype(np.uint8), "L")


def transparent_drawing(cov: np.ndarray) -> Image.Image:
    c = np.pad(cov, 30)
    arr = np.zeros((*c.shape, 4), dtype=np.uint8)
    arr[..., 3] = np.round(c * 255).astype(np.uint8)
    return Image.fromarray(arr, "RGBA")


def exif_rotated_jpeg(upright: Image.Image) -> bytes:
    """JPEG bytes whose pixels are stored turned, with EXIF orientation 6 to show them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif)


def sixteen_bit_png(cov: np.ndarray) -> bytes:
    grey = (1 - np.pad(cov, 40)) * 60000 + 2000
    im = Image.fromarray(grey.astype(np.uint16))
    return encode(im, "PNG")


PEN = 14  # stroke width of the drawn test digits, in pixels


def first_index(labels: np.ndarray, digit: int) -> int:
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


def dot_line_png(dots: int, *, radius: int = 10, pitch: int = 30, height: int = 200) -> bytes:
    """A PNG of ``dots`` evenly spaced round dots on one line, ``pitch`` pixels apart: a few
    hundred bytes that the cut search once took seconds over."""
    width = (dots - 1) * pitch + 4 * radius + 80
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    for k in range(dots):
        x, y = 40 + 2 * radius + k * pitch, height / 2
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return encode(im, "PNG")


@functools.cache
def nondigit_upload(name: str, kind: str) -> bytes:
    """The first upload of ``testkit.nondigits`` (seeds 0, 1, ...) whose mark's name starts with
    ``name`` ("heart", "letter K", "dot line"), as a photo or a pad export (``kind``)."""
    from testkit import nondigits

    category = {"letter": "letter", "dot": "dots"}.get(name.split()[0], "shape")
    for seed in range(1000):
        for upload in nondigits.generate(kind, 10, seed=seed, categories=(category,)):
            if upload.name.startswith(name):
                return upload.data
    raise LookupError(f"no {name!r} among testkit's non-digits")
