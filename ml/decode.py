"""Decode untrusted upload bytes into an upright PIL image, or refuse them with a reason.

``load_image`` is the only place where upload bytes are decoded. Its limits (bytes, pixels, formats)
and ``ImageRejected`` with its codes and sentences are shared by every later stage.
"""

from __future__ import annotations

import io
import math
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
# JPEGs decode at reduced scale (draft mode) down to this long side: a 5% digit still shows.
DRAFT_LONG_SIDE = 480
_ALLOWED_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)
_MAGIC_NAMES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "PDF"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"\x00\x00\x02\x00", 0, "CUR"),
    (b"<svg", 0, "SVG"),
    (b"<?xml", 0, "SVG/XML"),
    (b"8BPS", 0, "PSD"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"ftypavif", 4, "AVIF"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
)
_MESSAGES = {
    "empty": "The file is empty.",
    "too_large": "The file is too large (the limit is {limit}).",
    "not_an_image": "This file is not an image we can read.",
    "unsupported_format": (
        "{fmt} images are not supported. Please upload a PNG, JPEG, WebP, GIF, BMP or TIFF file."
    ),
    "too_many_pixels": (
        "The image is too big ({w} x {h} pixels); the limit is {limit} megapixels."
    ),
    "truncated": "The image file is truncated or damaged and cannot be decoded.",
    "no_digit": (
        "No digit found in the image. Please upload a clear picture of one handwritten digit."
    ),
}


class ImageRejected(ValueError):
    """An upload that cannot be used. ``code`` is machine-readable, ``message`` is for users.

    Codes: empty, too_large, not_an_image, unsupported_format, too_many_pixels, truncated, no_digit.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else _MESSAGES[code]
        super().__init__(self.message)


class NoDigitFound(ImageRejected):
    """The image decodes fine but holds no digit-like ink (blank, near-blank or pure noise)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("no_digit", message)


def _read_bounded(source: bytes | bytearray | memoryview | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        # Read one byte past the limit so an oversized stream is refused without reading it all.
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes | bytearray):
            raise ImageRejected("not_an_image")
        data = bytes(data)
    if not data:
        raise ImageRejected("empty")
    if len(data) > max_bytes:
        raise ImageRejected(
            "too_large", _MESSAGES["too_large"].format(limit=_human_bytes(max_bytes))
        )
    return data


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def _looks_allowed(data: bytes) -> bool:
    """Whether the bytes start with the signature of one of ALLOWED_FORMATS."""
    return data.startswith(_ALLOWED_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _unsupported_name(data: bytes) -> str | None:
    """Name the format of bytes Pillow may not accept here, so users get a precise sentence."""
    for magic, offset, name in _MAGIC_NAMES:
        if data[offset : offset + len(magic)] == magic:
            return name
    try:
        # Identification only parses the header; nothing is decoded.
        with Image.open(io.BytesIO(data)) as im:
            return str(im.format or "This")
    except Exception:
        return None


def reduce_on_decode(im: Image.Image) -> None:
    """Set a large JPEG, opened but not yet loaded, to decode at a reduced scale (draft mode, long
    side >= DRAFT_LONG_SIDE): ``im.size`` then says what the decode will make, before it runs."""
    w, h = im.size
    if im.format in ("JPEG", "MPO") and max(w, h) > 2 * DRAFT_LONG_SIDE:
        scale = DRAFT_LONG_SIDE / max(w, h)
        im.draft(im.mode, (math.ceil(w * scale), math.ceil(h * scale)))


def load_image(
    source: bytes | BinaryIO,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Decode untrusted image bytes into a fully loaded, upright PIL image.

    ``source`` is bytes or a binary file object (read from its current position, at most
    ``max_bytes + 1`` bytes). Accepts PNG, JPEG, WebP, GIF (first frame), BMP and TIFF; checks the
    header size against ``max_pixels`` before decoding; decodes large JPEGs at reduced scale
    (draft mode, long side >= DRAFT_LONG_SIDE); applies EXIF orientation.

    Returns a loaded ``PIL.Image.Image`` in whatever mode the file has. Every failure raises
    ``ImageRejected`` with a code and a human sentence; no other exception escapes for bad bytes.
    """
    data = _read_bounded(source, max_bytes)
    # The pixel bound is ours, checked from the header below. Pillow's own bomb check only warns
    # below twice its MAX_IMAGE_PIXELS; turning that warning into an error would mean changing the
    # process-wide warning filters, which is not thread-safe.
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        if _looks_allowed(data):
            # The signature of a format we accept, but the header does not parse.
            raise ImageRejected("truncated") from None
        name = _unsupported_name(data)
        if name is None:
            raise ImageRejected("not_an_image") from None
        raise ImageRejected(
            "unsupported_format", _MESSAGES["unsupported_format"].format(fmt=name)
        ) from None
    except Image.DecompressionBombError:
        raise ImageRejected(
            "too_many_pixels", "The image has too many pixels to be processed safely."
        ) from None
    except Exception:
        raise ImageRejected("truncated" if _looks_allowed(data) else "not_an_image") from None

    try:
        w, h = im.size
    except Exception:
        raise ImageRejected("not_an_image") from None
    if w <= 0 or h <= 0:
        raise ImageRejected("not_an_image")
    if w * h > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            _MESSAGES["too_many_pixels"].format(w=w, h=h, limit=f"{max_pixels / 1e6:g}"),
        )
    try:
        reduce_on_decode(im)
        im.seek(0)
        im.load()
    except Image.DecompressionBombError:
        raise ImageRejected(
            "too_many_pixels", "The image has too many pixels to be processed safely."
        ) from None
    except MemoryError:
        raise ImageRejected(
            "too_many_pixels", "The image is too big to be processed safely."
        ) from None
    except Exception:
        # Truncated data, corrupt compressed streams and broken frames all end here.
        raise ImageRejected("truncated") from None
    if im.width * im.height > max_pixels:
        raise ImageRejected("too_many_pixels")

    try:
        upright = ImageOps.exif_transpose(im)
    except Exception:
        # A malformed EXIF block should not cost the user their upload; keep the pixels as stored.
        upright = im
    return upright if upright is not None else im
