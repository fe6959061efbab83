"""Realistic uploads built from MNIST **test** digits, for the accuracy benchmark and the tests.

Each kind imitates something people really upload: phone photos of a digit written on paper,
drawing-pad exports, and files in odd modes and formats. Everything is deterministic given
``seed``; ``generate(kind, n, seed=...)`` returns encoded file bytes with their true label.

The renderer knows nothing about ``ml``'s reading stages: ink is laid on paper the way a pen or a
brush would, then lit, blurred, rotated, noised and compressed like a camera or an app would.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from testkit.render import (
    COLOURS,
    drawing_coverage,
    flat_image,
    jpeg_bytes,
    photo_image,
    png_bytes,
    rgba_image,
    smooth_noise,
)

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


# ------------------------------------------------------------------------------------ the kinds


def _render(kind: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    if kind == "photo_white_paper":
        return jpeg_bytes(photo_image(digit, rng), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_yellow_paper":
        return jpeg_bytes(photo_image(digit, rng, paper="yellow"), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_grey_uneven_light":
        im = photo_image(
            digit, rng, paper="grey", ink=str(rng.choice(["black", "grey"])), light=(0.3, 0.6)
        )
        return jpeg_bytes(im, int(rng.integers(65, 92))), "jpg"
    if kind == "photo_blue_pen":
        im = photo_image(digit, rng, ink="blue", paper=str(rng.choice(["white", "yellow"])))
        return jpeg_bytes(im, int(rng.integers(70, 95))), "jpg"
    if kind == "photo_small_offcentre":
        im = photo_image(digit, rng, fraction=(0.05, 0.15), centred=False)
        return jpeg_bytes(im, int(rng.integers(75, 95))), "jpg"
    if kind == "photo_rotated":
        return jpeg_bytes(photo_image(digit, rng, rotation=10.0), int(rng.integers(70, 95))), "jpg"
    if kind == "photo_jpeg_q55":
        return jpeg_bytes(photo_image(digit, rng), 55), "jpg"
    if kind == "photo_exif_rotated":
        upright = photo_image(digit, rng)
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
        return jpeg_bytes(stored, int(rng.integers(70, 92)), exif=exif), "jpg"
    if kind == "photo_ruled_paper":
        im = photo_image(digit, rng, ruled=True, fraction=(0.15, 0.5), centred=rng.random() < 0.5)
        return jpeg_bytes(im, int(rng.integers(70, 92))), "jpg"
    if kind == "photo_sheet_on_desk":
        # A small sheet (a sticky note, a torn page) lying on a desk, the desk all around it.
        w = int(rng.choice([800, 1024, 1280]))
        h = int(w * rng.choice([0.75, 1.0, 1.333]))
        sw, sh = int(rng.uniform(0.4, 0.75) * w), int(rng.uniform(0.4, 0.75) * h)
        sheet = photo_image(digit, rng, frame=(sw, sh), fraction=(0.3, 0.7), light=(0.0, 0.15))
        desk_rgb = np.array([rng.uniform(40, 120), rng.uniform(30, 90), rng.uniform(20, 70)])
        desk = desk_rgb * (1 + 0.15 * smooth_noise((h, w), rng, 30))[..., None]
        desk += rng.standard_normal(desk.shape) * 3
        photo = Image.fromarray(np.clip(desk, 0, 255).astype(np.uint8), "RGB")
        photo.paste(
            sheet,
            (int(rng.uniform(0.05, 0.95) * (w - sw)), int(rng.uniform(0.05, 0.95) * (h - sh))),
        )
        return jpeg_bytes(photo, int(rng.integers(70, 92))), "jpg"
    if kind == "photo_12mp":
        small = photo_image(digit, rng, frame=(1000, 750), fraction=(0.15, 0.6))
        big = small.resize((4000, 3000), Image.Resampling.BICUBIC)
        return jpeg_bytes(big, int(rng.integers(80, 90))), "jpg"
    if kind.startswith("drawing_"):
        canvas = int(rng.choice([280, 300, 400, 512]))
        small = kind == "drawing_small_offcentre"
        cov = drawing_coverage(
            digit,
            rng,
            canvas=canvas,
            fraction=(0.15, 0.35) if small else (0.5, 0.85),
            centred=not small,
        )
        if kind == "drawing_transparent_black":
            return png_bytes(rgba_image(cov, (0, 0, 0), (0, 0, 0))), "png"
        if kind == "drawing_transparent_colour":
            colour = COLOURS[int(rng.integers(len(COLOURS)))]
            bg = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)
            return png_bytes(rgba_image(cov, colour, bg)), "png"
        if kind == "drawing_black_bg":
            return png_bytes(flat_image(cov, 255, 0).convert("RGB")), "png"
        # White background, black strokes (also the small off-centre case).
        return png_bytes(flat_image(cov, 0, 255).convert("RGB")), "png"
    if kind.startswith("odd_"):
        return _render_odd(kind, digit, rng)
    if kind == "blank_photo":
        return jpeg_bytes(photo_image(digit, rng, blank=True), int(rng.integers(70, 92))), "jpg"
    if kind == "blank_drawing":
        canvas = int(rng.choice([280, 400]))
        if rng.random() < 0.5:
            blank = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
        else:
            blank = Image.new("RGB", (canvas, canvas), (255, 255, 255))
        return png_bytes(blank), "png"
    raise ValueError(f"unknown kind {kind!r}")


def _render_odd(kind: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    canvas = int(rng.choice([200, 280]))
    cov = drawing_coverage(digit, rng, canvas=canvas, fraction=(0.5, 0.85), centred=True)
    buf = io.BytesIO()
    if kind == "odd_palette_transparency":
        colour = COLOURS[int(rng.integers(len(COLOURS)))] if rng.random() < 0.5 else (0, 0, 0)
        rgba = rgba_image(cov, colour, (255, 255, 255))
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
        photo = photo_image(digit, rng, frame=(640, 480))
        photo.convert("CMYK").save(buf, "JPEG", quality=85)
        return buf.getvalue(), "jpg"
    if kind == "odd_16bit":
        photo = np.asarray(photo_image(digit, rng, frame=(640, 480)).convert("L"), dtype=np.uint16)
        Image.fromarray(photo * 257).save(buf, "PNG")
        return buf.getvalue(), "png"
    if kind == "odd_gif":
        first = flat_image(cov, 0, 255).convert("P")
        second = Image.new("P", first.size, 0)
        first.save(buf, "GIF", save_all=True, append_images=[second], duration=500, loop=0)
        return buf.getvalue(), "gif"
    if kind == "odd_webp":
        photo_image(digit, rng, frame=(640, 480)).save(buf, "WEBP", quality=80)
        return buf.getvalue(), "webp"
    if kind == "odd_bmp":
        flat_image(cov, 0, 255).convert("RGB").save(buf, "BMP")
        return buf.getvalue(), "bmp"
    if kind == "odd_tiff":
        photo_image(digit, rng, frame=(640, 480)).save(buf, "TIFF", compression="tiff_lzw")
        return buf.getvalue(), "tif"
    if kind == "odd_tiny_20x20":
        ink, bg = (0, 255) if rng.random() < 0.5 else (255, 0)
        small = flat_image(cov, ink, bg).resize((20, 20), Image.Resampling.BOX)
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
