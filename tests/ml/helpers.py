"""Build test images from an MNIST digit in the ways users would upload it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


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
