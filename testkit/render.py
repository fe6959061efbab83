"""Ink on paper: MNIST digits drawn with a pen or a brush, photographed or exported from a pad.

The building blocks of ``testkit.uploads`` and ``testkit.numbers``: ink coverage of a digit, a
photo of ink on paper (lit, blurred, rotated, noised), a drawing pad's export, and the encoders.
They know nothing about ``ml``'s reading stages.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

# ------------------------------------------------------------------------------------- strokes


def stroke_coverage(
    digit: np.ndarray, height: int, rng: np.random.Generator, *, stroke: float | None
) -> np.ndarray:
    """Ink coverage (h, w) float32 in [0, 1] of an MNIST digit drawn ``height`` pixels tall.

    ``stroke`` None keeps MNIST's own (marker-like) strokes, sharpened; otherwise the digit is
    re-drawn along its skeleton with a round pen ``stroke`` times its height wide.
    """
    ys = np.flatnonzero(digit.max(axis=1) > 30)
    xs = np.flatnonzero(digit.max(axis=0) > 30)
    crop = digit[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1].astype(np.float32) / 255
    crop = np.pad(crop, 2)
    scale = max(height, 8) / (crop.shape[0] - 4)
    size = (max(4, round(crop.shape[1] * scale)), max(4, round(crop.shape[0] * scale)))
    big = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BICUBIC))
    if stroke is None:
        # MNIST is blurry at large scale; real markers have crisp edges.
        return np.clip((big - 0.3) / 0.35, 0, 1).astype(np.float32)
    skeleton = skeletonize(big > 0.45)
    radius = max(0.6, stroke * height / 2)
    dist = ndi.distance_transform_edt(~skeleton)
    return np.clip(radius + 0.5 - dist, 0, 1).astype(np.float32)


def _rotate(cov: np.ndarray, degrees: float) -> np.ndarray:
    if abs(degrees) < 0.05:
        return cov
    im = Image.fromarray(cov, mode="F").rotate(degrees, Image.Resampling.BICUBIC, expand=True)
    return np.clip(np.asarray(im), 0, 1).astype(np.float32)


def smooth_noise(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Low-frequency noise field in about [-1, 1] with features ``scale`` pixels wide."""
    h, w = shape
    gh, gw = max(2, math.ceil(h / scale) + 1), max(2, math.ceil(w / scale) + 1)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    field = Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(field) / 1.5


# --------------------------------------------------------------------------------------- photos


def _paper(shape: tuple[int, int], rng: np.random.Generator, tone: str) -> np.ndarray:
    h, w = shape
    if tone == "white":
        base = np.array([242, 241, 236]) + rng.uniform(-12, 10)
    elif tone == "yellow":
        base = np.array([244, 232, rng.uniform(165, 200)]) + rng.uniform(-10, 6)
    else:  # grey: recycled paper, or white paper in poor light
        base = np.full(3, rng.uniform(140, 195)) + rng.uniform(-6, 6, 3)
    paper = np.broadcast_to(base.astype(np.float32), (h, w, 3)).copy()
    paper += 4 * smooth_noise(shape, rng, 40)[..., None]
    return paper


def _lighting(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Multiplicative light field (h, w): a gradient, vignetting and maybe a soft shadow."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / h - 0.5, xx / w - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    light = 1 + strength * 1.4 * ramp
    light -= strength * 0.6 * (xx * xx + yy * yy)
    if rng.random() < 0.4 * (strength > 0.2):
        # A soft shadow of the phone or a hand across part of the page.
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        radius = rng.uniform(0.2, 0.5)
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        light *= 1 - 0.35 * strength * np.clip((radius - d) / 0.15, 0, 1)
    return np.clip(light, 0.35, 1.3)


def photo_image(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    frame: tuple[int, int] | None = None,
    fraction: tuple[float, float] = (0.2, 0.75),
    paper: str = "white",
    ink: str = "black",
    light: tuple[float, float] = (0.0, 0.25),
    rotation: float = 4.0,
    centred: bool = True,
    blank: bool = False,
    ruled: bool = False,
    coverage: Callable[[int, float | None, np.random.Generator], np.ndarray] | None = None,
) -> Image.Image:
    """An RGB photo of the digit written on paper (before JPEG).

    ``coverage(height, stroke, rng)``, when given, draws the ink instead of ``digit`` (a whole
    number, say): float32 coverage for writing ``height`` pixels tall with a pen ``stroke`` wide
    (a fraction of the height; None for a marker)."""
    if frame is None:
        w = int(rng.choice([640, 800, 1024, 1280]))
        frame = (w, int(w * rng.choice([0.75, 0.5625, 1.0, 1.333])))
    w, h = frame
    img = _paper((h, w), rng, paper)
    if ruled:
        # Notebook paper: pale blue lines, sometimes a red margin line.
        spacing = rng.uniform(0.05, 0.09) * h
        thick = max(1, round(h / 500))
        blue = np.array([rng.uniform(140, 190), rng.uniform(175, 210), rng.uniform(215, 240)])
        for y in np.arange(rng.uniform(0, spacing), h, spacing).astype(int):
            img[y : y + thick] = img[y : y + thick] * 0.3 + blue * 0.7
        if rng.random() < 0.5:
            x = int(rng.uniform(0.08, 0.2) * w)
            img[:, x : x + thick + 1] = (
                img[:, x : x + thick + 1] * 0.3 + np.array([220, 90, 100]) * 0.7
            )
    if not blank:
        height = int(rng.uniform(*fraction) * min(h, w))
        pen = rng.random() < 0.7
        stroke = rng.uniform(0.025, 0.07) if pen else None
        drawn = (
            stroke_coverage(digit, height, rng, stroke=stroke)
            if coverage is None
            else coverage(height, stroke, rng)
        )
        cov = _rotate(drawn, rng.uniform(-rotation, rotation))
        # Ink pressure varies along a pen's stroke; a marker lays down an even layer.
        wobble = 0.15 if pen else 0.05
        cov *= np.clip(1 - wobble + wobble * smooth_noise(cov.shape, rng, 12), 0.6, 1)
        ch, cw = cov.shape
        ch, cw = min(ch, h), min(cw, w)
        cov = cov[:ch, :cw]
        if centred:
            cy = int(rng.uniform(0.35, 0.65) * h - ch / 2)
            cx = int(rng.uniform(0.35, 0.65) * w - cw / 2)
        else:
            cy = int(rng.uniform(0, h - ch))
            cx = int(rng.uniform(0, w - cw))
        cy, cx = int(np.clip(cy, 0, h - ch)), int(np.clip(cx, 0, w - cw))
        colours = {
            "black": [rng.uniform(15, 55)] * 3,
            "blue": [rng.uniform(10, 50), rng.uniform(30, 70), rng.uniform(120, 180)],
            "grey": [rng.uniform(70, 110)] * 3,
        }
        ink_rgb = np.array(colours[ink], dtype=np.float32)
        region = img[cy : cy + ch, cx : cx + cw]
        a = cov[..., None]
        region[:] = region * (1 - a) + ink_rgb * a
    if rng.random() < 0.25:
        # The edge of the sheet with the table behind it, on a side the ink does not reach.
        gaps = [h, h, w, w] if blank else [cy, h - cy - ch, cx, w - cx - cw]
        side = int(np.argmax(gaps))
        depth = min(rng.uniform(0.02, 0.08), 0.7 * gaps[side] / (h if side < 2 else w))
        table = np.array([rng.uniform(40, 110), rng.uniform(30, 80), rng.uniform(20, 60)])
        band_h, band_w = int(depth * h), int(depth * w)
        if min(band_h, band_w) < 1:
            pass
        elif side == 0:
            img[:band_h] = table
        elif side == 1:
            img[-band_h:] = table
        elif side == 2:
            img[:, :band_w] = table
        else:
            img[:, -band_w:] = table
    img *= _lighting((h, w), rng, rng.uniform(*light))[..., None]
    sigma = rng.uniform(0.3, 1.3) * max(1.0, min(h, w) / 700)
    blurred = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    blurred = blurred.filter(ImageFilter.GaussianBlur(sigma))
    img = np.asarray(blurred, dtype=np.float32)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 6))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def jpeg_bytes(im: Image.Image, quality: int, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------------- drawings


def drawing_coverage(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    canvas: int,
    fraction: tuple[float, float],
    centred: bool,
) -> np.ndarray:
    """Antialiased brush strokes (canvas, canvas) float32 coverage, like a canvas app's."""
    height = int(rng.uniform(*fraction) * canvas)
    stroke = rng.uniform(0.06, 0.14) if rng.random() < 0.75 else None
    cov = _rotate(stroke_coverage(digit, height, rng, stroke=stroke), rng.uniform(-5, 5))
    if max(cov.shape) > 0.96 * canvas:
        # People draw inside the canvas: shrink a digit that would not fit.
        factor = 0.96 * canvas / max(cov.shape)
        size = (max(1, int(cov.shape[1] * factor)), max(1, int(cov.shape[0] * factor)))
        cov = np.asarray(Image.fromarray(cov, mode="F").resize(size, Image.Resampling.BILINEAR))
    out = np.zeros((canvas, canvas), dtype=np.float32)
    ch, cw = min(cov.shape[0], canvas), min(cov.shape[1], canvas)
    if centred:
        cy = int((canvas - ch) / 2 + rng.uniform(-0.08, 0.08) * canvas)
        cx = int((canvas - cw) / 2 + rng.uniform(-0.08, 0.08) * canvas)
    else:
        cy = int(rng.uniform(0, canvas - ch))
        cx = int(rng.uniform(0, canvas - cw))
    cy, cx = int(np.clip(cy, 0, canvas - ch)), int(np.clip(cx, 0, canvas - cw))
    out[cy : cy + ch, cx : cx + cw] = cov[:ch, :cw]
    return out


def rgba_image(
    cov: np.ndarray, rgb: tuple[int, int, int], bg_rgb: tuple[int, int, int]
) -> Image.Image:
    h, w = cov.shape
    arr = np.empty((h, w, 4), dtype=np.uint8)
    # Apps export transparent pixels with arbitrary colour; often black, sometimes white.
    arr[..., :3] = np.where(cov[..., None] > 0, np.array(rgb), np.array(bg_rgb))
    arr[..., 3] = np.round(cov * 255).astype(np.uint8)
    return Image.fromarray(arr, "RGBA")


def flat_image(cov: np.ndarray, ink: float, bg: float) -> Image.Image:
    arr = bg + (ink - bg) * cov
    return Image.fromarray(np.round(arr).astype(np.uint8), "L")


COLOURS = (
    (220, 30, 40),
    (30, 90, 220),
    (20, 160, 60),
    (140, 40, 180),
    (240, 130, 20),
    (0, 150, 160),
    (200, 40, 140),
    (90, 60, 30),
)


# ----------------------------------------------------------------- whole uploads, for numbers.py


def paper_photo(
    coverage: Callable[[int, float | None, np.random.Generator], np.ndarray],
    rng: np.random.Generator,
    **options: object,
) -> Image.Image:
    """An RGB photo of the ink ``coverage(height, stroke, rng)`` draws, on paper, lit, blurred
    and noised as the photo kinds are; ``options`` are those of the photo kinds (frame,
    fraction, paper, ink, light, rotation, centred, ruled)."""
    return photo_image(np.zeros((28, 28), dtype=np.uint8), rng, coverage=coverage, **options)


def drawing_export(cov: np.ndarray, rng: np.random.Generator) -> bytes:
    """A drawing pad's PNG export of ink ``cov`` (h, w) float32 in [0, 1]: transparent or flat,
    black or coloured, as the drawing kinds are."""
    style = rng.random()
    if style < 0.3:
        return png_bytes(rgba_image(cov, (0, 0, 0), (0, 0, 0)))
    if style < 0.5:
        colour = COLOURS[int(rng.integers(len(COLOURS)))]
        return png_bytes(
            rgba_image(cov, colour, (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255))
        )
    if style < 0.7:
        return png_bytes(flat_image(cov, 255, 0).convert("RGB"))
    return png_bytes(flat_image(cov, 0, 255).convert("RGB"))
