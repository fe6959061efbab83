"""Uploads as images: decode and check, re-encode for storage, thumbnails, the model's input.

Bytes in, bytes or arrays out: nothing here runs a query, a model or the segmenter (reading is
`recognizer.inference`'s), or knows about requests.
"""

import io
from typing import BinaryIO

import numpy as np
from django.conf import settings
from django.db.models.fields.files import FieldFile
from PIL import Image

from ml import decode

THUMBNAIL_SIZE = (128, 128)
# zlib level 1 instead of Pillow's 6: a few times faster to encode, files about a third bigger
# (docs/benchmarks.md); the stored PNGs stay lossless.
PNG_COMPRESS_LEVEL = 1
# Box-reduce by an integer factor before the Lanczos filter whenever the image is at least twice
# the thumbnail: half the cost of filtering from full size, no visible difference at 128 px.
THUMBNAIL_REDUCING_GAP = 1.0
# The stored copy's long side at most: a 1.6 MB lossy 6000x6000 WebP was stored as a 29.7 MB
# lossless PNG. 2048 px keeps every stroke of a photographed digit (the model reads 28x28).
STORED_MAX_SIDE = 2048


class UploadRejected(Exception):
    """The upload is not a usable image. Nothing was stored."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def load_upload(image_file: BinaryIO, *, max_bytes: int | None = None) -> Image.Image:
    """Decode and check an upload (bytes and pixels bounded). The web form, the pad, the API and
    `classify` all come through here, so they accept and refuse alike."""
    try:
        return decode.load_image(
            image_file,
            max_bytes=settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes,
            max_pixels=settings.UPLOAD_MAX_PIXELS,
        )
    except decode.ImageRejected as exc:
        raise UploadRejected(exc.code, exc.message) from exc


def load_stored(image_file: BinaryIO) -> Image.Image:
    """Decode a stored upload again (`repredict`). It passed `load_upload` once and was written
    by us, so only the pixel bound applies: a re-encoded PNG can be larger than its upload."""
    return load_upload(image_file, max_bytes=settings.UPLOAD_MAX_PIXELS * 4 + (1 << 20))


def storable(image: Image.Image) -> Image.Image:
    """A copy of the decoded image in a mode PNG can hold, transparency kept, its long side at
    most STORED_MAX_SIDE."""
    return _bounded(_png_mode(image))


def _png_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return _grey_if_lossless(image)
    if image.mode in ("L", "LA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max()
        scaled = array * (255.0 / top) if top > 255 else array
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")


def _bounded(image: Image.Image) -> Image.Image:
    if max(image.size) <= STORED_MAX_SIDE:
        return image
    bounded = image.copy()
    bounded.thumbnail(
        (STORED_MAX_SIDE, STORED_MAX_SIDE),
        Image.Resampling.LANCZOS,
        reducing_gap=THUMBNAIL_REDUCING_GAP,
    )
    return bounded


def decoded_pixels(image_file: BinaryIO) -> int:
    """Width x height the decode will make, from the file's header, without decoding: a large
    JPEG's at its reduced scale (0 if unreadable: the full decode refuses such files with the
    right sentence)."""
    position = image_file.tell()
    try:
        with Image.open(image_file) as image:
            decode.reduce_on_decode(image)
            width, height = image.size
        return width * height
    except Exception:
        return 0
    finally:
        image_file.seek(position)


def _grey_if_lossless(image: Image.Image) -> Image.Image:
    """An opaque colour image whose pixels are all grey, as one plane: the same pixels, a third
    of the data to compress (drawings from the pad and scans arrive as RGB or RGBA)."""
    pixels = np.asarray(image)
    if image.mode == "RGBA" and not (pixels[..., 3] == 255).all():
        return image
    if (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
        return Image.fromarray(np.ascontiguousarray(pixels[..., 1]), mode="L")
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Pillow copies a source's ICC profile into the PNG unless told not to: metadata is dropped.
    image.save(
        buffer, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL, icc_profile=None
    )
    return buffer.getvalue()


def thumbnail_bytes(image: Image.Image) -> bytes:
    thumb = image.copy()
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", thumb.size, (255, 255, 255, 255))
        background.alpha_composite(thumb.convert("RGBA"))
        thumb = background.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS, reducing_gap=THUMBNAIL_REDUCING_GAP)
    return png_bytes(thumb)


def model_input_to_bytes(model_input: np.ndarray) -> bytes:
    """The (28, 28) float input in [0, 1] as the stored blob: 784 uint8 bytes, row-major
    (read back by `Prediction.model_input_array`)."""
    return (np.asarray(model_input) * 255).round().astype(np.uint8).tobytes()


def model_input_png(pixels: np.ndarray) -> bytes:
    """A (28, 28) uint8 model input (`Prediction.model_input_array`) as a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def stored_size(field: FieldFile) -> tuple[int, int] | None:
    """(width, height) of a stored image from its header, or None if it cannot be read."""
    try:
        with field.open("rb") as fh, Image.open(fh) as image:
            return image.size
    except Exception:
        return None


def delete_files(*fields: FieldFile) -> None:
    for field in fields:
        if field.name:
            field.storage.delete(field.name)
