"""Realistic uploads built from MNIST **test** digits, for the accuracy benchmark and the tests.

Each kind imitates something people really upload: phone photos of a digit written on paper,
drawing-pad exports, and files in odd modes and formats. Everything is deterministic given
``seed``; ``generate(kind, n, seed=...)`` returns encoded file bytes with their true label.

The renderer knows nothing about ``ml``'s reading stages: ink is laid on paper the way a pen or a
brush would, then lit, blurred, rotated, noised and compressed like a camera or an app would.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

PHOTO_KINDS = (
    "photo_white_paper",
    "photo_yellow_paper",
    "photo_grey_uneven_light",
    "photo_blue_pen",
    "photo_small_offcentre",
    "photo_rotated",
    "photo_jpeg_q55",
    "photo_exif_rotated",
    "photo_12mp",
    "photo_ruled_paper",
    "photo_sheet_on_desk",
)
DRAWING_KINDS = (
    "drawing_transparent_black",
    "drawing_transparent_colour",
    "drawing_white_bg",
    "drawing_black_bg",
    "drawing_small_offcentre",
)
ODD_KINDS = (
    "odd_palette_transparency",
    "odd_la",
    "odd_cmyk_jpeg",
    "odd_16bit",
    "odd_gif",
    "odd_webp",
    "odd_bmp",
    "odd_tiff",
    "odd_tiny_20x20",
)
BLANK_KINDS = ("blank_photo", "blank_drawing")
KINDS = PHOTO_KINDS + DRAWING_KINDS + ODD_KINDS + BLANK_KINDS


@dataclass(frozen=True)
class Upload:
    """One synthetic upload: encoded file ``data``, true ``label`` (None for blank images)."""

    kind: str
    label: int | None
    data: bytes
    filename: str
    mnist_index: int | None


_mnist_cache: tuple[np.ndarray, np.ndarray] | None = None


def _mnist_test() -> tuple[np.ndarray, np.ndarray]:
    global _mnist_cache
    if _mnist_cache is None:
        from ml.data import load_mnist

        _mnist_cache = load_mnist("test")
    return _mnist_cache


# ------------------------------------------------------------------------------------- strokes


def _coverage(
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


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
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
    paper += 4 * _smooth_noise(shape, rng, 40)[..., None]
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


def _photo(
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
            _coverage(digit, height, rng, stroke=stroke)
            if coverage is None
            else coverage(height, stroke, rng)
        )
        cov = _rotate(drawn, rng.uniform(-rotation, rotation))
        # Ink pressure varies along a pen's stroke; a marker lays down an even layer.
        wobble = 0.15 if pen else 0.05
        cov *= np.clip(1 - wobble + wobble * _smooth_noise(cov.shape, rng, 12), 0.6, 1)
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


def _jpeg(im: Image.Image, quality: int, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------------- drawings


def _drawing_coverage(
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
    cov = _rotate(_coverage(digit, height, rng, stroke=stroke), rng.uniform(-5, 5))
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


def _rgba(cov: np.ndarray, rgb: tuple[int, int, int], bg_rgb: tuple[int, int, int]) -> Image.Image:
    h, w = cov.shape
    arr = np.empty((h, w, 4), dtype=np.uint8)
    # Apps export transparent pixels with arbitrary colour; often black, sometimes white.
    arr[..., :3] = np.where(cov[..., None] > 0, np.array(rgb), np.array(bg_rgb))
    arr[..., 3] = np.round(cov * 255).astype(np.uint8)
    return Image.fromarray(arr, "RGBA")


def _flat(cov: np.ndarray, ink: float, bg: float) -> Image.Image:
    arr = bg + (ink - bg) * cov
    return Image.fromarray(np.round(arr).astype(np.uint8), "L")


_COLOURS = (
    (220, 30, 40),
    (30, 90, 220),
    (20, 160, 60),
    (140, 40, 180),
    (240, 130, 20),
    (0, 150, 160),
    (200, 40, 140),
    (90, 60, 30),
)


# ------------------------------------------------------------------ building blocks for others


def stroke_coverage(
    digit: np.ndarray, height: int, rng: np.random.Generator, *, stroke: float | None
) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 as ink coverage (h, w) float32 in [0, 1], ``height``
    pixels tall, drawn with a pen ``stroke`` times its height wide (None: a marker)."""
    return _coverage(digit, height, rng, stroke=stroke)


def paper_photo(
    coverage: Callable[[int, float | None, np.random.Generator], np.ndarray],
    rng: np.random.Generator,
    **options: object,
) -> Image.Image:
    """An RGB photo of the ink ``coverage(height, stroke, rng)`` draws, on paper, lit, blurred
    and noised as the photo kinds are; ``options`` are those of the photo kinds (frame,
    fraction, paper, ink, light, rotation, centred, ruled)."""
    return _photo(np.zeros((28, 28), dtype=np.uint8), rng, coverage=coverage, **options)


def drawing_export(cov: np.ndarray, rng: np.random.Generator) -> bytes:
    """A drawing pad's PNG export of ink ``cov`` (h, w) float32 in [0, 1]: transparent or flat,
    black or coloured, as the drawing kinds are."""
    style = rng.random()
    if style < 0.3:
        return _png(_rgba(cov, (0, 0, 0), (0, 0, 0)))
    if style < 0.5:
        colour = _COLOURS[int(rng.integers(len(_COLOURS)))]
        return _png(_rgba(cov, colour, (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)))
    if style < 0.7:
        return _png(_flat(cov, 255, 0).convert("RGB"))
    return _png(_flat(cov, 0, 255).convert("RGB"))


def jpeg_bytes(im: Image.Image, quality: int) -> bytes:
    """``im`` saved as JPEG at ``quality``."""
    return _jpeg(im, quality)


# ------------------------------------------------------------------------------------ the kinds


def _render(kind: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    if kind == "photo_white_paper":
        return _jpeg(_photo(digit, rng), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_yellow_paper":
        return _jpeg(_photo(digit, rng, paper="yellow"), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_grey_uneven_light":
        im = _photo(
            digit, rng, paper="grey", ink=str(rng.choice(["black", "grey"])), light=(0.3, 0.6)
        )
        return _jpeg(im, int(rng.integers(65, 92))), "jpg"
    if kind == "photo_blue_pen":
        im = _photo(digit, rng, ink="blue", paper=str(rng.choice(["white", "yellow"])))
        return _jpeg(im, int(rng.integers(70, 95))), "jpg"
    if kind == "photo_small_offcentre":
        im = _photo(digit, rng, fraction=(0.05, 0.15), centred=False)
        return _jpeg(im, int(rng.integers(75, 95))), "jpg"
    if kind == "photo_rotated":
        return _jpeg(_photo(digit, rng, rotation=10.0), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_jpeg_q55":
        return _jpeg(_photo(digit, rng), 55), "jpg"
    if kind == "photo_exif_rotated":
        upright = _photo(digit, rng)
        orientation = int(rng.choice([3, 6, 8]))
        # Stored pixels are turned so that applying the tag shows the upright photo.
        stored = upright.transpose(
            {
                3: Image.Transpose.ROTATE_180,
                6: Image.Transpose.ROTATE_90,
                8: Image.Transpose.ROTATE_270,
            }[orientation]
        )
        exif = Image.Exif()
        exif[0x0112] = orientation
        return _jpeg(stored, int(rng.integers(70, 92)), exif=exif), "jpg"
    if kind == "photo_ruled_paper":
        im = _photo(digit, rng, ruled=True, fraction=(0.15, 0.5), centred=rng.random() < 0.5)
        return _jpeg(im, int(rng.integers(70, 92))), "jpg"
    if kind == "photo_sheet_on_desk":
        # A small sheet (a sticky note, a torn page) lying on a desk, the desk all around it.
        w = int(rng.choice([800, 1024, 1280]))
        h = int(w * rng.choice([0.75, 1.0, 1.333]))
        sw, sh = int(rng.uniform(0.4, 0.75) * w), int(rng.uniform(0.4, 0.75) * h)
        sheet = _photo(digit, rng, frame=(sw, sh), fraction=(0.3, 0.7), light=(0.0, 0.15))
        desk_rgb = np.array([rng.uniform(40, 120), rng.uniform(30, 90), rng.uniform(20, 70)])
        desk = desk_rgb * (1 + 0.15 * _smooth_noise((h, w), rng, 30))[..., None]
        desk += rng.standard_normal(desk.shape) * 3
        photo = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8), "RGB")
        photo.paste(
            sheet,
            (int(rng.uniform(0.05, 0.95) * (w - sw)), int(rng.uniform(0.05, 0.95) * (h - sh))),
        )
        return _jpeg(photo, int(rng.integers(70, 92))), "jpg"
    if kind == "photo_12mp":
        small = _photo(digit, rng, frame=(1000, 750), fraction=(0.15, 0.6))
        big = small.resize((4000, 3000), Image.Resampling.BICUBIC)
        return _jpeg(big, int(rng.integers(80, 90))), "jpg"
    if kind.startswith("drawing_"):
        canvas = int(rng.choice([280, 300, 400, 512]))
        small = kind == "drawing_small_offcentre"
        cov = _drawing_coverage(
            digit,
            rng,
            canvas=canvas,
            fraction=(0.15, 0.35) if small else (0.5, 0.85),
            centred=not small,
        )
        if kind == "drawing_transparent_black":
            return _png(_rgba(cov, (0, 0, 0), (0, 0, 0))), "png"
        if kind == "drawing_transparent_colour":
            colour = _COLOURS[int(rng.integers(len(_COLOURS)))]
            bg = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
            return _png(_rgba(cov, colour, bg)), "png"
        if kind == "drawing_black_bg":
            return _png(_flat(cov, 255, 0).convert("RGB")), "png"
        # White background, black strokes (also the small off-centre case).
        return _png(_flat(cov, 0, 255).convert("RGB")), "png"
    if kind.startswith("odd_"):
        return _render_odd(kind, digit, rng)
    if kind == "blank_photo":
        return _jpeg(_photo(digit, rng, blank=True), int(rng.integers(70, 92))), "jpg"
    if kind == "blank_drawing":
        canvas = int(rng.choice([280, 400]))
        if rng.random() < 0.5:
            blank = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
        else:
            blank = Image.new("RGB", (canvas, canvas), (255, 255, 255))
        return _png(blank), "png"
    raise ValueError(f"unknown kind {kind!r}")


def _render_odd(kind: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    canvas = int(rng.choice([200, 280]))
    cov = _drawing_coverage(digit, rng, canvas=canvas, fraction=(0.5, 0.85), centred=True)
    buf = io.BytesIO()
    if kind == "odd_palette_transparency":
        colour = _COLOURS[int(rng.integers(len(_COLOURS)))] if rng.random() < 0.5 else (0, 0, 0)
        rgba = _rgba(cov, colour, (255, 255, 255))
        # Palette images carry one fully transparent index; quantising keeps a few alpha levels.
        pal = rgba.quantize(colors=16, method=Image.Quantize.FASTOCTREE)
        pal.save(buf, "PNG")
        return buf.getvalue(), "png"
    if kind == "odd_la":
        la = Image.merge(
            "LA", [Image.new("L", cov.shape[::-1], 0), Image.fromarray(np.uint8(cov * 255))]
        )
        la.save(buf, "PNG")
        return buf.getvalue(), "png"
    if kind == "odd_cmyk_jpeg":
        photo = _photo(digit, rng, frame=(640, 480))
        photo.convert("CMYK").save(buf, "JPEG", quality=85)
        return buf.getvalue(), "jpg"
    if kind == "odd_16bit":
        photo = np.asarray(_photo(digit, rng, frame=(640, 480)).convert("L"), dtype=np.uint16)
        Image.fromarray(photo * 257).save(buf, "PNG")
        return buf.getvalue(), "png"
    if kind == "odd_gif":
        first = _flat(cov, 0, 255).convert("P")
        second = Image.new("P", first.size, 0)
        first.save(buf, "GIF", save_all=True, append_images=[second], duration=500, loop=0)
        return buf.getvalue(), "gif"
    if kind == "odd_webp":
        _photo(digit, rng, frame=(640, 480)).save(buf, "WEBP", quality=80)
        return buf.getvalue(), "webp"
    if kind == "odd_bmp":
        _flat(cov, 0, 255).convert("RGB").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    if kind == "odd_tiff":
        _photo(digit, rng, frame=(640, 480)).save(buf, "TIFF", compression="tiff_lzw")
        return buf.getvalue(), "tif"
    if kind == "odd_tiny_20x20":
        ink, bg = (0, 255) if rng.random() < 0.5 else (255, 0)
        small = _flat(cov, ink, bg).resize((20, 20), Image.Resampling.BOX)
        small.save(buf, "PNG")
        return buf.getvalue(), "png"
    raise ValueError(f"unknown kind {kind!r}")


def generate(
    kind: str,
    n: int,
    *,
    seed: int = 0,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> list[Upload]:
    """``n`` uploads of one ``kind``, deterministic for a given ``seed``.

    Digits are drawn at random from ``images``/``labels`` (uint8 (m, 28, 28) / (m,)), by default
    the MNIST test set. Blank kinds carry ``label=None``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if images is None or labels is None:
        images, labels = _mnist_test()
    # Seeded by the kind's name, so adding a kind does not change the others' samples.
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    picks = rng.choice(len(images), size=n, replace=n > len(images))
    uploads = []
    for i, index in enumerate(picks):
        data, ext = _render(kind, images[index], rng)
        blank = kind in BLANK_KINDS
        uploads.append(
            Upload(
                kind=kind,
                label=None if blank else int(labels[index]),
                data=data,
                filename=f"{kind}-{i:04d}.{ext}",
                mnist_index=None if blank else int(index),
            )
        )
    return uploads


def generate_all(per_kind: int, *, seed: int = 0) -> Iterator[Upload]:
    """Every kind in ``KINDS`` order, ``per_kind`` uploads each."""
    for kind in KINDS:
        yield from generate(kind, per_kind, seed=seed)
